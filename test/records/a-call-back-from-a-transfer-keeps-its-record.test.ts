// A transfer nobody answered comes back to the agent on a second stream with the same callSid: the call's events,
// through the recorder the control plane uses, keep one record: live again while the second stream runs (no end
// shown), ended by the second stream with the whole call's duration, and the turns of both streams (their turn ids
// start again at 1 on the second stream), counted over both streams (each stream's end counts only its own). On
// SQLite and on PostgreSQL.
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/call/events.js';
import { CallRecorder } from '../../src/control/call-recorder.js';
import { createLogger } from '../../src/observability/log.js';
import { backendsToRun, until, recordsPerTest } from './backends.js';

const T0 = Date.parse('2026-05-04T10:00:00.000Z');
const at = (ms: number) => T0 + ms;
const quiet = createLogger({ level: 'silent' });
const SID = 'CA' + 'b'.repeat(32);

function stream(streamSid: string, startMs: number, text: string): CallEvent[] {
  return [
    { kind: 'call-started', callSid: SID, streamSid, accountSid: 'AC1', atMs: at(startMs), customParameters: { from: '+15550001111', to: '+15550002222' }, agent: 'openai' },
    { kind: 'caller-turn', callSid: SID, turnId: 1, atMs: at(startMs + 2600), startedAtMs: at(startMs + 1000), endedAtMs: at(startMs + 2500), durationMs: 1500, endReason: 'silence', wasBargeIn: false },
    { kind: 'caller-turn', callSid: SID, turnId: 1, atMs: at(startMs + 3000), startedAtMs: at(startMs + 1000), endedAtMs: at(startMs + 2500), durationMs: 1500, endReason: 'transcribed', wasBargeIn: false, text },
    { kind: 'agent-said', callSid: SID, utteranceId: 'reply-1', atMs: at(startMs + 5000), startedAtMs: at(startMs + 3500), text: 'One moment.', heardText: 'One moment.', isCut: false },
    { kind: 'barge-in', callSid: SID, atMs: at(startMs + 4000), framesHeard: 20 },
  ];
}

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    const perTest = recordsPerTest(backend);

    it('keeps one record for a call that came back from a transfer, live again until its second end', async () => {
      const records = await perTest.open({ log: quiet, writer: { flushIntervalMs: 20 } });
      const r = records;
      const recorder = new CallRecorder(r.writer);
      for (const event of stream('MZ1', 0, 'Can I talk to a person?')) recorder.record(event);
      recorder.record({ kind: 'transfer', callSid: SID, atMs: at(6000), to: '+15550003333', isWarm: true, summary: 'Wants a person.' });
      recorder.record({ kind: 'call-ended', callSid: SID, atMs: at(7000), reason: 'stop', durationMs: 7000, turns: 1, bargeIns: 0 });
      for (const event of stream('MZ2', 30_000, 'Nobody answered.')) recorder.record(event);
      await until('both streams written', () => r.writer.readCounters().written >= 12);
      const live = await r.reader.getCall(SID);
      expect(live).toMatchObject({ callSid: SID, startedAt: new Date(at(0)).toISOString(), endedAt: null, endReason: null, streamSid: 'MZ2' });

      recorder.record({ kind: 'call-ended', callSid: SID, atMs: at(60_000), reason: 'hang-up', durationMs: 30_000, turns: 1, bargeIns: 0 });
      await until('the second end written', () => r.writer.readCounters().written >= 13);
      const ended = await r.reader.getCall(SID);
      expect(ended).toMatchObject({ endedAt: new Date(at(60_000)).toISOString(), endReason: 'hang-up', durationMs: 60_000 });
      // the last stream's end said 1 turn and no barge-in; the call had 2 of each
      const listed = (await r.reader.listCalls({ limit: 1 })).calls[0];
      expect(listed).toMatchObject({ callSid: SID, turnCount: 2, bargeIns: 2 });
      expect(ended!.turns.filter((t) => t.role === 'caller').map((t) => t.text)).toEqual(['Can I talk to a person?', 'Nobody answered.']);
      expect(ended!.turns.filter((t) => t.role === 'agent')).toHaveLength(2);
      expect(ended!.events.map((e) => e.kind)).toContain('transfer');
    });
  });
}
