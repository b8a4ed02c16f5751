// A database that is down (SQLite: locked by another connection; PostgreSQL: its port closed) or stalls (PostgreSQL:
// every byte held on open connections) costs the producer nothing: enqueue stays immediate, records queue up to the
// bound, the rest are dropped and counted, failed attempts are counted, and when the database comes back the queued
// records are written and nothing else is lost.
import { afterEach, describe, expect, it } from 'vitest';
import { startRecords, type Records } from '../../src/records/records.js';
import type { RecordMessage } from '../../src/records/messages.js';
import { createLogger } from '../../src/observability/log.js';
import { backendsToRun, until, type BackendInstance, type Outage } from './backends.js';

const T0 = Date.parse('2026-03-03T08:00:00.000Z');
const started = (i: number): RecordMessage => ({ kind: 'call-started', callSid: `CA${String(i).padStart(4, '0')}`, direction: 'inbound', startedAtMs: T0 + i });
const MAX_QUEUED = 40;

/** A logger whose lines the test reads. */
function capturingLogger(): { log: ReturnType<typeof createLogger>; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => { lines.push(JSON.parse(line) as Record<string, unknown>); } } });
  return { log, lines };
}

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    let instance: BackendInstance | undefined;
    let records: Records | undefined;
    let outage: Outage | undefined;
    afterEach(async () => {
      await outage?.up();
      await records?.close(2000);
      await outage?.close();
      await instance?.dispose();
      records = undefined;
      instance = undefined;
      outage = undefined;
    });

    for (const how of ['down', 'stall'] as const) {
      it(`${how === 'down' ? 'is down' : 'stalls'}: the queue keeps its bound, drops are counted, and the writer recovers`, async () => {
        instance = await backend.create();
        const gated = await instance.withOutage();
        outage = gated.outage;
        const { log, lines } = capturingLogger();
        records = startRecords(gated.settings, {
          log,
          writer: { flushIntervalMs: 20, maxBatchRecords: 10, maxQueuedRecords: MAX_QUEUED, attemptTimeoutMs: 400, retryInitialMs: 50, retryMaxMs: 200 },
          database: { pgConnectTimeoutMs: 300, sqliteBusyTimeoutMs: 20 },
        });
        await records.ready;
        expect(records.writer.enqueue(started(0))).toBe(true);
        await until('first record written', () => records!.writer.readCounters().written === 1);

        await (how === 'down' ? outage.down() : outage.stall());
        // a batch goes to the unavailable database and fails (or hangs) there
        for (let i = 1; i <= 10; i++) records.writer.enqueue(started(i));
        await until('a failed attempt', () => records!.writer.readCounters().writeFailures > 0);

        // the producer never waits: 100 more records take no time, whatever the database does
        const t = process.hrtime.bigint();
        const accepted: boolean[] = [];
        for (let i = 11; i <= 110; i++) accepted.push(records.writer.enqueue(started(i)));
        const enqueueMs = Number(process.hrtime.bigint() - t) / 1e6;
        expect(enqueueMs).toBeLessThan(20);
        const nAccepted = accepted.filter(Boolean).length;
        expect(nAccepted).toBe(MAX_QUEUED - 10);
        const during = records.writer.readCounters();
        expect(during).toMatchObject({ queued: MAX_QUEUED, dropped: 100 - nAccepted, written: 1 });
        expect(during.consecutiveFailures).toBeGreaterThan(0);

        // it keeps retrying while unavailable, and the bound holds
        const failuresSoFar = during.writeFailures;
        await until('more failed attempts (retries)', () => records!.writer.readCounters().writeFailures > failuresSoFar, 5000);
        expect(records.writer.readCounters().queued).toBe(MAX_QUEUED);
        if (how === 'stall' && backend.name === 'postgres') expect(records.writer.readCounters().reconnects).toBeGreaterThan(0);

        await outage.up();
        await until('the queue written after recovery', () => records!.writer.readCounters().queued === 0, 10_000);
        const after = records.writer.readCounters();
        expect(after).toMatchObject({ written: 1 + MAX_QUEUED, dropped: 100 - nAccepted, consecutiveFailures: 0 });
        // exactly what was accepted is in the database: the first call, the ten before the flood, the flood's first 30
        const sids = (await records.reader.listCalls({ limit: 500 })).calls.map((c) => c.callSid).sort();
        const expected = [0, ...Array.from({ length: MAX_QUEUED }, (_, k) => k + 1)].map((i) => started(i).callSid).sort();
        expect(sids).toEqual(expected);
        // one error line for the outage and one for the burst of drops, not one per failure or per record
        const count = (event: string): number => lines.filter((l) => l['event'] === event).length;
        expect(count('RECORDS_WRITE_FAIL') - lines.filter((l) => l['event'] === 'RECORDS_WRITE_FAIL' && l['level'] === 'debug').length).toBe(1);
        expect(count('RECORDS_DROPPED')).toBe(1);
        expect(count('RECORDS_WRITE_RECOVERED')).toBe(1);
        // the next record after the burst says how many were dropped
        expect(records.writer.enqueue(started(999))).toBe(true);
        expect(lines.find((l) => l['event'] === 'RECORDS_DROP_BURST_END')).toMatchObject({ dropped: 100 - nAccepted });
      });
    }

    it('starts while the database is down, and prepares it once it is up', async () => {
      instance = await backend.create();
      const gated = await instance.withOutage();
      outage = gated.outage;
      await outage.down();
      records = startRecords(gated.settings, {
        log: createLogger({ level: 'silent' }),
        writer: { flushIntervalMs: 20, retryInitialMs: 50, retryMaxMs: 200, attemptTimeoutMs: 400 },
        database: { pgConnectTimeoutMs: 300, sqliteBusyTimeoutMs: 20 },
      });
      let isReady = false;
      void records.ready.then(() => { isReady = true; });
      expect(records.writer.enqueue(started(1))).toBe(true);
      await until('attempts fail while down', () => records!.writer.readCounters().writeFailures >= 2);
      expect(isReady).toBe(false);
      await outage.up();
      await records.ready;
      await until('the record written', () => records!.writer.readCounters().written === 1);
      expect((await records.reader.getCall(started(1).callSid))?.direction).toBe('inbound');
    });
  });
}
