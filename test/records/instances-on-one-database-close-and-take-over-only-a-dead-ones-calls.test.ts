// Several instances on one records database: each call's row names the instance that had its stream, and each
// instance beats. Another instance starting, or sweeping, never closes a live instance's open calls; once an
// instance's beat is older than the bound (a crash) or it stopped, a survivor closes its open calls as lost at their
// last known moment, and exactly one survivor takes over each summary it left.
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/log.js';
import { claimSummaries } from '../../src/records/instances.js';
import { startRecords, type Records } from '../../src/records/records.js';
import { backendsToRun, until, type BackendInstance } from './backends.js';

const T0 = Date.parse('2026-03-05T07:00:00.000Z');
const iso = (ms: number): string => new Date(T0 + ms).toISOString();
const quiet = createLogger({ level: 'silent' });
const NEVER_MS = 3_600_000;

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    let database: BackendInstance | undefined;
    const opened: Records[] = [];
    afterEach(async () => {
      for (const records of opened.splice(0)) await records.close(2000);
      await database?.dispose();
      database = undefined;
    });

    /** One instance with its own clock; it beats only when a test sweeps it. */
    function instance(id: string, clock: { ms: number }, staleAfterMs = 30_000): Records {
      const records = startRecords(database!.settings, {
        writer: { flushIntervalMs: 10 }, log: quiet,
        instance: { id, now: () => clock.ms, heartbeatIntervalMs: NEVER_MS, staleAfterMs },
      });
      opened.push(records);
      return records;
    }

    it('a live instance keeps its open calls; once its beat is stale a survivor closes them as lost', async () => {
      database = await backend.create();
      const clockA = { ms: T0 };
      const a = instance('instance-a', clockA);
      await a.ready;
      a.writer.enqueue({ kind: 'call-started', callSid: 'CA-on-a', direction: 'inbound', startedAtMs: T0 + 100, answeredAtMs: T0 + 200 });
      a.writer.enqueue({ kind: 'caller-turn', callSid: 'CA-on-a', turnId: 1, text: 'hello', startedAtMs: T0 + 1_000, endedAtMs: T0 + 2_000 });
      await until('a wrote', () => a.writer.readCounters().written === 2);

      // B starts 10 s after A's last beat: A is alive, its call stays open
      const clockB = { ms: T0 + 10_000 };
      const b = instance('instance-b', clockB);
      expect((await b.ready).lostCalls).toEqual([]);
      b.writer.enqueue({ kind: 'call-started', callSid: 'CA-on-b', direction: 'inbound', startedAtMs: T0 + 10_100 });
      await until('b wrote', () => b.writer.readCounters().written === 1);
      expect(await b.reader.getCall('CA-on-a')).toMatchObject({ endedAt: null, endReason: null });
      // A beats and sweeps: B is alive too
      clockA.ms = T0 + 20_000;
      expect((await a.sweep()).lostCalls).toEqual([]);

      // A crashes (no more beats); 20 s later A is still within the bound, 31 s later it is not
      clockB.ms = T0 + 40_000;
      expect((await b.sweep()).lostCalls).toEqual([]);
      clockB.ms = T0 + 51_000;
      expect((await b.sweep()).lostCalls).toEqual(['CA-on-a']);
      expect(b.deadInstances()).toEqual(['instance-a']);
      expect(await b.reader.getCall('CA-on-a')).toMatchObject({ endReason: 'lost', endedAt: iso(2_000), durationMs: 1_800 });
      expect(await b.reader.getCall('CA-on-b')).toMatchObject({ endedAt: null });
    });

    it('an instance that stopped cleanly is dead at once: a survivor closes its open calls without waiting', async () => {
      database = await backend.create();
      const clock = { ms: T0 };
      const a = instance('instance-a', clock);
      await a.ready;
      a.writer.enqueue({ kind: 'call-started', callSid: 'CA-left-open', direction: 'outbound', startedAtMs: T0 + 50 });
      await until('a wrote', () => a.writer.readCounters().written === 1);
      const b = instance('instance-b', clock);
      await b.ready;
      expect((await b.sweep()).lostCalls).toEqual([]);
      opened.splice(opened.indexOf(a), 1);
      await a.close(2000);
      expect((await b.sweep()).lostCalls).toEqual(['CA-left-open']);
      expect(await b.reader.getCall('CA-left-open')).toMatchObject({ endReason: 'lost', endedAt: iso(50) });
    });

    it('a status callback taken by one instance does not make the call its own: the stream\'s instance owns it', async () => {
      database = await backend.create();
      const clock = { ms: T0 };
      const a = instance('instance-a', clock);
      const b = instance('instance-b', clock);
      await Promise.all([a.ready, b.ready]);
      // the ringing callback reaches B, the stream reaches A
      b.writer.enqueue({ kind: 'call-status', callSid: 'CA-split', status: 'ringing', atMs: T0 + 10, direction: 'outbound' });
      await until('b wrote', () => b.writer.readCounters().written === 1);
      a.writer.enqueue({ kind: 'call-started', callSid: 'CA-split', direction: 'outbound', startedAtMs: T0 + 500 });
      await until('a wrote', () => a.writer.readCounters().written === 1);
      // B stops: the call is A's, so it stays open
      opened.splice(opened.indexOf(b), 1);
      await b.close(2000);
      expect((await a.sweep()).lostCalls).toEqual([]);
      expect(await a.reader.getCall('CA-split')).toMatchObject({ endedAt: null });
    });

    it('exactly one survivor takes over each summary a dead instance left, and none a live one\'s', async () => {
      database = await backend.create();
      const clock = { ms: T0 };
      const a = instance('instance-a', clock);
      await a.ready;
      for (const sid of ['CA-1', 'CA-2', 'CA-3']) {
        a.writer.enqueue({ kind: 'call-started', callSid: sid, direction: 'inbound', startedAtMs: T0 });
        a.writer.enqueue({ kind: 'call-ended', callSid: sid, endedAtMs: T0 + 5_000, reason: 'caller-hung-up' });
      }
      await until('a wrote', () => a.writer.readCounters().written === 6);
      const b = instance('instance-b', clock);
      const c = instance('instance-c', clock);
      await Promise.all([b.ready, c.ready]);
      const db = b.database.db;
      const since = T0 - 1;
      // A is alive: its calls are its own
      expect(await claimSummaries(db, 'instance-b', [], since, 100)).toEqual([]);
      // A is dead: B and C claim at once, and every call goes to exactly one of them
      const dead = ['instance-a'];
      const [byB, byC] = await Promise.all([claimSummaries(db, 'instance-b', dead, since, 100), claimSummaries(c.database.db, 'instance-c', dead, since, 100)]);
      expect([...byB, ...byC].sort()).toEqual(['CA-1', 'CA-2', 'CA-3']);
      expect(byB.filter((sid) => byC.includes(sid))).toEqual([]);
      // asked again, each keeps its own claims and gets none of the other's
      expect((await claimSummaries(db, 'instance-b', dead, since, 100)).sort()).toEqual([...byB].sort());
      // B dies too: C takes over what B had claimed
      expect((await claimSummaries(db, 'instance-c', ['instance-a', 'instance-b'], since, 100)).sort()).toEqual(['CA-1', 'CA-2', 'CA-3']);
    });
  });
}
