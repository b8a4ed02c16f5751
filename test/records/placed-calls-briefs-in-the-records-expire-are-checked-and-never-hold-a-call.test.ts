// Placed calls' briefs in the records (src/records/briefs.ts) as the control plane uses them across instances: one
// instance's brief is read by another while fresh, is gone once expired and swept, a row that is not a brief is not
// handed to an agent, and a database that stalls costs placing a call at most BRIEF_DATABASE_TIMEOUT_MS (the call is
// placed, the brief stays in this instance's memory), never a hang.
import { afterEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { BRIEF_TTL_MS, newLaunchId } from '../../src/control/outbound-briefs.js';
import { BRIEF_DATABASE_TIMEOUT_MS, ControlPlane } from '../../src/control/plane.js';
import { createLogger } from '../../src/observability/log.js';
import { startRecords, type Records } from '../../src/records/records.js';
import { backendsToRun, type BackendInstance, type Outage } from './backends.js';

const quiet = createLogger({ level: 'silent' });
const NEVER_MS = 3_600_000;
const notHere = async () => ({ ok: false as const, code: 'unknown-call' as const, message: 'none' });

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`briefs in ${backend.name}`, () => {
    let database: BackendInstance | undefined;
    let outage: Outage | undefined;
    const opened: Records[] = [];
    afterEach(async () => {
      await outage?.up();
      for (const records of opened.splice(0)) await records.close(2000);
      await outage?.close();
      await database?.dispose();
      database = undefined;
      outage = undefined;
    });

    function open(settings: BackendInstance['settings'], id: string, clock: { ms: number }): Records {
      const records = startRecords(settings, {
        log: quiet, writer: { flushIntervalMs: 10, attemptTimeoutMs: 400 }, database: { pgConnectTimeoutMs: 300, sqliteBusyTimeoutMs: 20 },
        instance: { id, now: () => clock.ms, heartbeatIntervalMs: NEVER_MS },
      });
      opened.push(records);
      return records;
    }
    const planeOn = (records: Records): ControlPlane => new ControlPlane({ sendCommand: notHere, sharedBriefs: records.briefs, log: quiet });

    it("another instance reads a fresh brief; an expired one is gone and swept; a row that is not a brief is not used", async () => {
      database = await backend.create();
      const clock = { ms: Date.parse('2026-12-03T08:00:00Z') };
      const a = open(database.settings, 'instance-a', clock);
      const b = open(database.settings, 'instance-b', clock);
      await Promise.all([a.ready, b.ready]);
      const id = newLaunchId();
      await planeOn(a).putBrief(id, { greeting: 'Hi Noa', context: { visit: 'Thursday' } });
      expect(await planeOn(b).briefFor(id)).toEqual({ greeting: 'Hi Noa', context: { visit: 'Thursday' } });
      expect(await b.briefs.get(newLaunchId())).toBeUndefined();

      // a row someone else wrote that is not a brief, and one that is not JSON
      const odd = newLaunchId();
      const broken = newLaunchId();
      for (const [launchId, text] of [[odd, JSON.stringify({ greeting: 42, script: 'rm -rf' })], [broken, '{not json']] as const) {
        await a.database.db.insertInto('outbound_briefs').values({ launch_id: launchId, brief: text, created_at_ms: clock.ms, expires_at_ms: clock.ms + 60_000, instance_id: 'x' }).execute();
        expect(await b.briefs.get(launchId)).toBeUndefined();
      }

      clock.ms += BRIEF_TTL_MS;
      expect(await b.briefs.get(id)).toBeUndefined();
      await b.sweep();
      const left = await b.database.db.selectFrom('outbound_briefs').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      expect(Number(left.n)).toBe(0);
    });

    it('a database that stalls costs placing a call at most the deadline, and the brief stays in memory here', async () => {
      database = await backend.create();
      const gated = await database.withOutage();
      outage = gated.outage;
      const clock = { ms: Date.now() };
      const records = open(gated.settings, 'instance-stalled', clock);
      await records.ready;
      const plane = planeOn(records);
      await outage.stall();
      const id = newLaunchId();
      const startedAtMs = performance.now();
      await plane.putBrief(id, { greeting: 'Hello' });
      const tookMs = performance.now() - startedAtMs;
      // bounded: the stall itself lasts until up() (SQLite's lock fails at its busy timeout, PostgreSQL's stall at the deadline)
      expect(tookMs).toBeLessThan(BRIEF_DATABASE_TIMEOUT_MS + 3000);
      expect(await plane.briefFor(id)).toEqual({ greeting: 'Hello' }); // from memory, without the database
    }, 20_000);
  });
}
