// A whole call's records (status callbacks, the stream's start, caller turns (one transcribed in a second message),
// agent lines with what was heard, events, the end) go through the writer and come back from the reader in the
// control API's shape, with ISO times, on SQLite (its folder created on first start) and on PostgreSQL.
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { RecordMessage } from '../../src/records/messages.js';
import { createLogger } from '../../src/observability/log.js';
import { backendsToRun, until, recordsPerTest } from './backends.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const at = (ms: number): number => T0 + ms;
const iso = (ms: number): string => new Date(at(ms)).toISOString();

const CALL: RecordMessage[] = [
  { kind: 'call-status', callSid: 'CA1', atMs: at(0), status: 'ringing', from: '+972500000001', to: '+972500000002' },
  { kind: 'call-started', callSid: 'CA1', streamSid: 'MZ1', direction: 'inbound', from: '+972500000001', to: '+972500000002', agent: 'echo', startedAtMs: at(500), answeredAtMs: at(500) },
  { kind: 'call-status', callSid: 'CA1', atMs: at(600), status: 'in-progress' },
  { kind: 'agent-said', callSid: 'CA1', utteranceId: 'greeting', text: 'Hello, how can I help?', heardText: 'Hello, how can I help?', startedAtMs: at(700), endedAtMs: at(2200) },
  { kind: 'caller-turn', callSid: 'CA1', turnId: 1, startedAtMs: at(3000), endedAtMs: at(4500) },
  { kind: 'caller-turn', callSid: 'CA1', turnId: 1, text: 'I want to book a table', startedAtMs: at(3000), endedAtMs: at(4500), latencyMs: 310 },
  { kind: 'agent-said', callSid: 'CA1', utteranceId: 'reply-1', text: 'For how many people? And when?', heardText: 'For how many', startedAtMs: at(5300), endedAtMs: at(6000), latencyMs: 800 },
  { kind: 'call-event', callSid: 'CA1', atMs: at(6000), event: 'barge-in', data: { framesHeard: 35 } },
  { kind: 'caller-turn', callSid: 'CA1', turnId: 2, text: 'Four, tonight', startedAtMs: at(5900), endedAtMs: at(7000) },
  { kind: 'call-event', callSid: 'CA1', atMs: at(7100), event: 'provider-error', data: { provider: 'openai', stage: 'llm', kind: 'timeout' } },
  { kind: 'agent-said', callSid: 'CA1', utteranceId: 'reply-2', text: 'Sorry, one moment.', heardText: 'Sorry, one moment.', startedAtMs: at(8700), endedAtMs: at(9500), latencyMs: 1700 },
  { kind: 'call-event', callSid: 'CA1', atMs: at(8700), event: 'fallback', data: { line: 'Sorry, one moment.' } },
  { kind: 'call-event', callSid: 'CA1', atMs: at(9800), event: 'dtmf', data: { digit: '5' } },
  { kind: 'call-event', callSid: 'CA1', atMs: at(10_000), event: 'hang-up', data: { by: 'agent' } },
  { kind: 'call-ended', callSid: 'CA1', endedAtMs: at(10_500), reason: 'agent-hung-up', turns: 2, bargeIns: 1 },
  // Twilio's completed callback comes last and must not overwrite the engine's end
  { kind: 'call-status', callSid: 'CA1', atMs: at(11_000), status: 'completed', durationMs: 11_000 },
];
const quiet = createLogger({ level: 'silent' });

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    const perTest = recordsPerTest(backend);

    it('keeps a whole call and reads it back in the API shape', async () => {
      const records = await perTest.open({ log: quiet, writer: { flushIntervalMs: 20 } });
      if (records.target.dialect === 'sqlite') expect(existsSync(records.target.file)).toBe(true);

      for (const message of CALL) expect(records.writer.enqueue(message)).toBe(true);
      await until('every record written', () => records!.writer.readCounters().written === CALL.length);

      const call = await records.reader.getCall('CA1');
      expect(call).toEqual({
        callSid: 'CA1',
        streamSid: 'MZ1',
        direction: 'inbound',
        from: '+972500000001',
        to: '+972500000002',
        status: 'completed',
        startedAt: iso(0), // the first ring, before the stream started
        answeredAt: iso(500),
        endedAt: iso(10_500),
        durationMs: 10_000, // from the answer to the engine's end
        endReason: 'agent-hung-up',
        agent: 'echo',
        turnCount: 2,
        bargeIns: 1,
        latency: { turns: 2, p50Ms: 800, p95Ms: 1700, maxMs: 1700 },
        summary: null, // not summarized (src/crm/ does that after the call)
        turns: [
          { role: 'agent', text: 'Hello, how can I help?', heardText: 'Hello, how can I help?', startedAt: iso(700), endedAt: iso(2200), latencyMs: null },
          { role: 'caller', text: 'I want to book a table', heardText: null, startedAt: iso(3000), endedAt: iso(4500), latencyMs: 310 },
          { role: 'agent', text: 'For how many people? And when?', heardText: 'For how many', startedAt: iso(5300), endedAt: iso(6000), latencyMs: 800 },
          { role: 'caller', text: 'Four, tonight', heardText: null, startedAt: iso(5900), endedAt: iso(7000), latencyMs: null },
          { role: 'agent', text: 'Sorry, one moment.', heardText: 'Sorry, one moment.', startedAt: iso(8700), endedAt: iso(9500), latencyMs: 1700 },
        ],
        events: [
          { at: iso(6000), kind: 'barge-in', data: { framesHeard: 35 } },
          { at: iso(7100), kind: 'provider-error', data: { provider: 'openai', stage: 'llm', kind: 'timeout' } },
          { at: iso(8700), kind: 'fallback', data: { line: 'Sorry, one moment.' } },
          { at: iso(9800), kind: 'dtmf', data: { digit: '5' } },
          { at: iso(10_000), kind: 'hang-up', data: { by: 'agent' } },
        ],
      });
      expect(await records.reader.getCall('CA-unknown')).toBeNull();
      const { calls } = await records.reader.listCalls();
      expect(calls.map((c) => [c.callSid, c.endReason, c.startedAt])).toEqual([['CA1', 'agent-hung-up', iso(0)]]);
    });

    it('writes the same records twice without doubling them (a retried batch is harmless)', async () => {
      const records = await perTest.open({ log: quiet, writer: { flushIntervalMs: 20 } });
      for (const message of CALL) records.writer.enqueue(message);
      await until('first copy written', () => records!.writer.readCounters().written === CALL.length);
      const first = await records.reader.getCall('CA1');
      // the same call again, as a retry after an unknown outcome would write it (event ids are fixed per queued
      // record, so the events come again here under new ids: the transcript and the call row must not change)
      for (const message of CALL.filter((m) => m.kind !== 'call-event')) records.writer.enqueue(message);
      await until('second copy written', () => records!.writer.readCounters().written === CALL.length * 2 - 5);
      const second = await records.reader.getCall('CA1');
      expect(second?.turns).toEqual(first?.turns);
      expect({ ...second, turns: [], events: [] }).toEqual({ ...first, turns: [], events: [] });
    });

    it('runs its migrations once: a second start on the same database finds the schema and the records', async () => {
      const records = await perTest.open({ log: quiet, writer: { flushIntervalMs: 20 } });
      for (const message of CALL) records.writer.enqueue(message);
      await until('written', () => records.writer.readCounters().written === CALL.length);
      await records.close(2000);
      const again = await perTest.open({ log: quiet, writer: { flushIntervalMs: 20 } });
      expect((await again.reader.getCall('CA1'))?.turns).toHaveLength(5);
    });
  });
}
