// A process that dies leaves its live calls open in the records. The next start closes every call that started
// before it and has no end with reason `lost`, ending it at the last thing known of it (not at the restart), and
// leaves ended calls and its own new calls alone.
import { afterEach, describe, expect, it } from 'vitest';
import { startRecords, type Records } from '../../src/records/records.js';
import { createLogger } from '../../src/observability/log.js';
import { backendsToRun, until, type BackendInstance } from './backends.js';

const T0 = Date.parse('2026-03-05T07:00:00.000Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();
const quiet = createLogger({ level: 'silent' });

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    let instance: BackendInstance | undefined;
    let records: Records | undefined;
    afterEach(async () => {
      await records?.close(2000);
      await instance?.dispose();
      records = undefined;
      instance = undefined;
    });

    it('closes the calls a crash left open as lost, at their last known moment', async () => {
      instance = await backend.create();
      const first = startRecords(instance.settings, { writer: { flushIntervalMs: 20 }, log: quiet, processStartedAtMs: T0 - 1 });
      records = first;
      await first.ready;
      const w = first.writer;
      // a call in mid-conversation when the process died
      w.enqueue({ kind: 'call-started', callSid: 'CA-live', direction: 'inbound', startedAtMs: T0, answeredAtMs: T0 + 100 });
      w.enqueue({ kind: 'caller-turn', callSid: 'CA-live', turnId: 1, text: 'hello?', startedAtMs: T0 + 1000, endedAtMs: T0 + 2000 });
      w.enqueue({ kind: 'agent-said', callSid: 'CA-live', utteranceId: 'r1', text: 'Hi there', heardText: 'Hi', startedAtMs: T0 + 2500, endedAtMs: T0 + 3000, latencyMs: 500 });
      w.enqueue({ kind: 'call-event', callSid: 'CA-live', atMs: T0 + 4000, event: 'dtmf', data: { digit: '1' } });
      // one with nothing but its start, and one that ended properly
      w.enqueue({ kind: 'call-started', callSid: 'CA-bare', direction: 'outbound', startedAtMs: T0 + 50 });
      w.enqueue({ kind: 'call-started', callSid: 'CA-done', direction: 'inbound', startedAtMs: T0 });
      w.enqueue({ kind: 'call-ended', callSid: 'CA-done', endedAtMs: T0 + 60_000, reason: 'caller-hung-up' });
      await until('written', () => w.readCounters().written === 7);
      // the crash: no call-ended for the live calls, no flush beyond what was written
      await first.close(0);

      const restartAtMs = T0 + 3_600_000;
      records = startRecords(instance.settings, { writer: { flushIntervalMs: 20 }, log: quiet, processStartedAtMs: restartAtMs });
      // a call of the new process, started after its start, is not lost
      records.writer.enqueue({ kind: 'call-started', callSid: 'CA-new', direction: 'inbound', startedAtMs: restartAtMs + 10 });
      const { lostCalls } = await records.ready;
      expect(lostCalls.sort()).toEqual(['CA-bare', 'CA-live']);
      await until('new call written', () => records!.writer.readCounters().written === 1);

      const live = await records.reader.getCall('CA-live');
      expect(live).toMatchObject({ endReason: 'lost', endedAt: iso(4000), durationMs: 3900, latency: { turns: 1, p50Ms: 500, p95Ms: 500, maxMs: 500 } });
      expect(live?.turns).toHaveLength(2);
      expect(await records.reader.getCall('CA-bare')).toMatchObject({ endReason: 'lost', endedAt: iso(50), durationMs: 0 });
      expect(await records.reader.getCall('CA-done')).toMatchObject({ endReason: 'caller-hung-up', endedAt: iso(60_000), durationMs: 60_000 });
      expect(await records.reader.getCall('CA-new')).toMatchObject({ endReason: null, endedAt: null });
    });
  });
}
