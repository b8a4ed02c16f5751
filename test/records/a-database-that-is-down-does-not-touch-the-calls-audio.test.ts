// A database that is down or stalls never hurts a call, through the real server: with the records' database made
// unavailable for real (PostgreSQL behind a relay that closes its port or holds every byte; SQLite locked by another
// connection), an echo call still hears both of its echoes whole, marks and all, and once the database is back the
// call's record is written (what waited fit in the bounded queue).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newSid } from '../fakes/twilio-rest-server.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { loadReferenceCall, runCall } from '../integration/reference-calls.js';
import { backendsToRun, until, type BackendInstance, type Outage } from './backends.js';

const API_KEY = 'records-outage-api-key-0123456789abcdef';

for (const backend of backendsToRun()) {
  // one kind of outage each through the server (the writer's own tests take every kind on each database)
  for (const kind of backend.name === 'sqlite' ? (['down'] as const) : (['stall'] as const)) {
    describe.skipIf(!backend.isAvailable)(`records in ${backend.name}, the database ${kind === 'down' ? 'down' : 'stalled'}`, () => {
      let instance: BackendInstance;
      let outage: Outage;
      let server: RunningServer;
      beforeAll(async () => {
        instance = await backend.create();
        const reached = await instance.withOutage();
        outage = reached.outage;
        const { dataDir, databaseUrl } = reached.settings;
        server = await startServer({
          env: { EDGE_THREADS: '1', CONTROL_API_KEY: API_KEY, DATA_DIR: dataDir, ...(databaseUrl !== undefined ? { DATABASE_URL: databaseUrl } : {}) },
        });
        // the schema is in place before the outage (as on a server that has been running)
        await until('the records ready', () => server.logs().some((l) => l['event'] === 'RECORDS_READY'), 20_000);
      }, 60_000);
      afterAll(async () => {
        await outage?.up();
        await server?.stop();
        await outage?.close();
        await instance?.dispose();
      });

      it('the call hears both echoes whole, and its record is written once the database is back', async () => {
        await (kind === 'down' ? outage.down() : outage.stall());
        const en = loadReferenceCall('conv-en');
        const callSid = newSid('CA');
        const result = await runCall(server, en.audio, { tailMs: 1500, callSid, listen: true });
        expect(result.closeCode).toBe(1000);
        expect(result.marksEchoed).toEqual(['echo-1', 'echo-2']);
        expect(result.playbacks).toHaveLength(2);
        await outage.up();
        await until('the record after the outage', async () => {
          const answer = await fetch(`${server.baseUrl}/api/calls/${callSid}`, { headers: { Authorization: `Bearer ${API_KEY}`, connection: 'close' } });
          if (answer.status !== 200) return false;
          const record = (await answer.json()) as { endedAt: string | null; turns: unknown[] };
          return record.endedAt !== null && record.turns.length === 2;
        }, 45_000);
      }, 120_000);
    });
  }
}
