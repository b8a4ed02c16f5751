// Several instances deliver from one summary outbox: each takes a due delivery with a lease (its next attempt moved
// past the post's time limit, taken only by the instance whose update found the time it read), so a summary is
// posted once even when every instance's pass runs at the same moment. On SQLite and on PostgreSQL.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SummaryOutbox } from '../../src/crm/summary-outbox.js';
import { createLogger } from '../../src/observability/log.js';
import { startRecords, type Records } from '../../src/records/records.js';
import { backendsToRun, until, type BackendInstance } from '../records/backends.js';

const quiet = createLogger({ level: 'silent' });
const CALLS = 6;

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`outbox on ${backend.name}`, () => {
    let database: BackendInstance | undefined;
    const opened: Records[] = [];
    let server: Server | undefined;
    afterEach(async () => {
      for (const records of opened.splice(0)) await records.close(2000);
      await database?.dispose();
      await new Promise<void>((done) => (server === undefined ? done() : server.close(() => done())));
      server = undefined;
    });

    it('three instances passing at once post every summary exactly once', async () => {
      database = await backend.create();
      const posted: string[] = [];
      server = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
          posted.push((JSON.parse(body) as { callSid: string }).callSid);
          // slow enough that the passes overlap
          setTimeout(() => res.writeHead(200).end('ok'), 30);
        });
      });
      await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/calls`;
      const instances = ['a', 'b', 'c'].map((id) => {
        const records = startRecords(database!.settings, { writer: { flushIntervalMs: 10 }, log: quiet, instance: { id } });
        opened.push(records);
        return records;
      });
      await Promise.all(instances.map((r) => r.ready));
      const first = instances[0]!;
      const nowMs = Date.now();
      for (let i = 0; i < CALLS; i++) first.writer.enqueue({ kind: 'call-started', callSid: `CA-${i}`, direction: 'inbound', startedAtMs: nowMs - 10_000 });
      await until('calls written', () => first.writer.readCounters().written === CALLS);
      const outboxes = instances.map((r) => new SummaryOutbox(r.database, { sign: () => 't=0,v1=0', log: quiet }));
      for (let i = 0; i < CALLS; i++) {
        const call = await first.reader.getCall(`CA-${i}`);
        await outboxes[0]!.store(call!, { summary: `call ${i}`, disposition: 'resolved', fields: {} }, url, nowMs);
      }
      const delivered = await Promise.all(outboxes.map((outbox) => outbox.deliverDue(Date.now(), 100)));
      expect(delivered.reduce((a, b) => a + b, 0)).toBe(CALLS);
      expect(posted.sort()).toEqual(Array.from({ length: CALLS }, (_, i) => `CA-${i}`).sort());
      // nothing is due any more, on any instance
      expect(await Promise.all(outboxes.map((outbox) => outbox.deliverDue(Date.now() + 3_600_000, 100)))).toEqual([0, 0, 0]);
    });
  });
}
