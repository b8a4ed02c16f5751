// listCallsFrom (lookup_caller's read): the latest calls from one number only, most recent first and at most
// `limit`, each summarized by the messages left in it and the last agent line the caller heard.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/log.js';
import { backendsToRun, until, recordsPerTest } from './backends.js';

const T0 = Date.parse('2026-05-06T09:00:00.000Z');
const NUMBER = '+972501112233';

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    const perTest = recordsPerTest(backend);

    it('a number\'s latest calls come most recent first, with their messages and last line heard', async () => {
      const records = await perTest.open({ writer: { flushIntervalMs: 20 }, log: createLogger({ level: 'silent' }) });
      const w = records.writer;
      w.enqueue({ kind: 'call-started', callSid: 'CA-1', direction: 'inbound', startedAtMs: T0, from: NUMBER });
      w.enqueue({ kind: 'call-event', callSid: 'CA-1', atMs: T0 + 10, event: 'message', data: { message: 'call me back', name: 'Dana' } });
      w.enqueue({ kind: 'agent-said', callSid: 'CA-1', utteranceId: 'MZ1:reply-1', text: 'Noted.', heardText: 'Noted.', startedAtMs: T0 + 20, endedAtMs: T0 + 30 });
      w.enqueue({ kind: 'agent-said', callSid: 'CA-1', utteranceId: 'MZ1:goodbye-1', text: 'Goodbye, Dana.', heardText: 'Goodbye, Dana.', startedAtMs: T0 + 40, endedAtMs: T0 + 50 });
      w.enqueue({ kind: 'call-ended', callSid: 'CA-1', endedAtMs: T0 + 60, reason: 'hang-up', turns: 1, bargeIns: 0 });
      w.enqueue({ kind: 'call-started', callSid: 'CA-2', direction: 'inbound', startedAtMs: T0 + 1000, from: NUMBER });
      w.enqueue({ kind: 'call-started', callSid: 'CA-3', direction: 'outbound', startedAtMs: T0 + 2000, from: NUMBER });
      w.enqueue({ kind: 'call-started', callSid: 'CA-other', direction: 'inbound', startedAtMs: T0 + 3000, from: '+15550001111' });
      await until('written', () => w.readCounters().written === 8);

      const calls = await records.reader.listCallsFrom(NUMBER, 5);
      expect(calls.map((c) => c.callSid)).toEqual(['CA-3', 'CA-2', 'CA-1']);
      expect(calls[2]).toEqual({
        callSid: 'CA-1', at: new Date(T0).toISOString(), direction: 'inbound', durationMs: 60, endReason: 'hang-up',
        summary: "message left: call me back; agent's last line: Goodbye, Dana.",
      });
      expect(calls[0]).toMatchObject({ direction: 'outbound', summary: '' });
      expect((await records.reader.listCallsFrom(NUMBER, 2)).map((c) => c.callSid)).toEqual(['CA-3', 'CA-2']);
      expect(await records.reader.listCallsFrom('+10000000000', 5)).toEqual([]);
      await expect(records.reader.listCallsFrom(NUMBER, 0)).rejects.toMatchObject({ field: 'limit' });
    });
  });
}
