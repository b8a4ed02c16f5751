// The writer batches: records wait for the flush interval (nothing is written per record), a full batch goes at
// once in one transaction, and close() writes what is left. Malformed messages are rejected at enqueue, counted,
// and cost the good ones nothing.
import { describe, expect, it } from 'vitest';
import type { RecordMessage } from '../../src/records/messages.js';
import { createLogger } from '../../src/observability/log.js';
import { backendsToRun, until, recordsPerTest } from './backends.js';

const T0 = Date.parse('2026-03-02T09:00:00.000Z');
const started = (i: number): RecordMessage => ({ kind: 'call-started', callSid: `CA${i}`, direction: 'outbound', startedAtMs: T0 + i, agent: 'openai' });
const quiet = createLogger({ level: 'silent' });

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    const perTest = recordsPerTest(backend);

    it('holds records for the flush interval, then writes them in one batch', async () => {
      const records = await perTest.open({ log: quiet, writer: { flushIntervalMs: 1000, maxBatchRecords: 100 } });
      const t = Date.now();
      for (let i = 0; i < 5; i++) records.writer.enqueue(started(i));
      await new Promise((done) => setTimeout(done, 150));
      expect(Date.now() - t).toBeLessThan(1000); // still inside the interval
      expect(records.writer.readCounters()).toMatchObject({ queued: 5, written: 0, batchesWritten: 0 });
      expect((await records.reader.listCalls()).calls).toHaveLength(0);
      await until('batch written', () => records!.writer.readCounters().written === 5);
      expect(records.writer.readCounters()).toMatchObject({ queued: 0, written: 5, batchesWritten: 1 });
      expect((await records.reader.listCalls()).calls).toHaveLength(5);
    });

    it('writes a full batch at once and the remainder after the interval', async () => {
      const records = await perTest.open({ log: quiet, writer: { flushIntervalMs: 2000, maxBatchRecords: 10 } });
      for (let i = 0; i < 25; i++) records.writer.enqueue(started(i));
      await until('two full batches', () => records!.writer.readCounters().written >= 20, 1500);
      expect(records.writer.readCounters()).toMatchObject({ written: 20, queued: 5, batchesWritten: 2 });
      await until('the rest', () => records!.writer.readCounters().written === 25);
      expect(records.writer.readCounters().batchesWritten).toBe(3);
    });

    it('rejects malformed messages at enqueue and still writes the good ones', async () => {
      const records = await perTest.open({ log: quiet, writer: { flushIntervalMs: 20 } });
      const bad = [
        { kind: 'call-started', callSid: 'CAx', direction: 'sideways', startedAtMs: T0 },
        { kind: 'caller-turn', callSid: 'CAx', turnId: 1, startedAtMs: 'yesterday' },
        { kind: 'teleport', callSid: 'CAx' },
        { kind: 'call-event', callSid: 'CAx', atMs: T0, event: 'dtmf', data: { big: 1n } }, // JSON cannot hold it
        null,
      ];
      for (const b of bad) expect(records.writer.enqueue(b as unknown as RecordMessage)).toBe(false);
      expect(records.writer.enqueue(started(1))).toBe(true);
      await until('good one written', () => records!.writer.readCounters().written === 1);
      expect(records.writer.readCounters()).toMatchObject({ rejected: bad.length, dropped: 0, written: 1 });
      expect((await records.reader.listCalls()).calls.map((c) => c.callSid)).toEqual(['CA1']);
    });

    it('close() writes what is still queued, and refuses records after it', async () => {
      const records = await perTest.open({ log: quiet, writer: { flushIntervalMs: 60_000 } });
      for (let i = 0; i < 7; i++) records.writer.enqueue(started(i));
      const writer = records.writer;
      expect(await writer.close(2000)).toEqual({ left: 0 });
      expect(writer.readCounters()).toMatchObject({ written: 7, queued: 0 });
      expect(writer.enqueue(started(99))).toBe(false);
      expect(writer.readCounters().dropped).toBe(1);
      await records.close();
      const again = await perTest.open({ log: quiet });
      expect((await again.reader.listCalls()).calls).toHaveLength(7);
    });
  });
}
