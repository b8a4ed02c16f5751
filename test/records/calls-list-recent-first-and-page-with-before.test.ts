// listCalls answers the most recent calls first, `limit` at a time, and `next` pages on to older ones with
// `before`: every call comes exactly once, even when several started in the same millisecond across a page's edge,
// and times sort correctly however far apart (one column of epoch milliseconds in both dialects).
import { describe, expect, it } from 'vitest';
import { RecordsQueryError } from '../../src/records/queries.js';
import { createLogger } from '../../src/observability/log.js';
import { backendsToRun, until, recordsPerTest } from './backends.js';

const T0 = Date.parse('2026-03-04T12:00:00.000Z');
// deliberately not inserted in order; three calls share T0 + 5000, one is years older, one a digit longer in ms
const STARTS: Array<[string, number]> = [
  ['CA-a', T0 + 1000], ['CA-e', T0 + 5000], ['CA-b', T0 + 2000], ['CA-f', T0 + 5000], ['CA-c', T0 + 3000],
  ['CA-g', T0 + 5000], ['CA-d', T0 + 4000], ['CA-h', T0 + 9000], ['CA-old', Date.parse('1999-12-31T23:59:59.999Z')],
  ['CA-far', Date.parse('2286-11-20T17:46:40.000Z')], // 10^13 ms: one digit more than the others
];

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records on ${backend.name}`, () => {
    const perTest = recordsPerTest(backend);

    it('lists recent first and pages with before, never repeating or skipping a call', async () => {
      const records = await perTest.open({ writer: { flushIntervalMs: 20 }, log: createLogger({ level: 'silent' }) });
      for (const [callSid, startedAtMs] of STARTS) records.writer.enqueue({ kind: 'call-started', callSid, direction: 'inbound', startedAtMs });
      await until('written', () => records!.writer.readCounters().written === STARTS.length);

      const all = await records.reader.listCalls({ limit: 100 });
      expect(all.next).toBeNull();
      expect(all.calls.map((c) => c.callSid)).toEqual(['CA-far', 'CA-h', 'CA-g', 'CA-f', 'CA-e', 'CA-d', 'CA-c', 'CA-b', 'CA-a', 'CA-old']);
      expect(all.calls[0]!.startedAt).toBe('2286-11-20T17:46:40.000Z');

      // pages of 3: the second page would cut the three calls of T0+5000 apart, so it ends before them
      const pages: string[][] = [];
      let before: string | undefined;
      for (let guard = 0; guard < 20; guard++) {
        const page = await records.reader.listCalls({ limit: 3, ...(before !== undefined ? { before } : {}) });
        pages.push(page.calls.map((c) => c.callSid));
        if (page.next === null) break;
        before = page.next;
      }
      expect(pages).toEqual([['CA-far', 'CA-h'], ['CA-g', 'CA-f', 'CA-e'], ['CA-d', 'CA-c', 'CA-b'], ['CA-a', 'CA-old']]);
      expect(pages.flat()).toEqual(all.calls.map((c) => c.callSid));

      // more calls in one millisecond than a page holds: they come together, and paging goes on after them
      const tied = await records.reader.listCalls({ limit: 2, before: new Date(T0 + 5001).toISOString() });
      expect(tied.calls.map((c) => c.callSid)).toEqual(['CA-g', 'CA-f', 'CA-e']);
      expect(tied.next).toBe(new Date(T0 + 5000).toISOString());
      expect((await records.reader.listCalls({ limit: 2, before: tied.next! })).calls.map((c) => c.callSid)).toEqual(['CA-d', 'CA-c']);

      // before is exclusive and takes an offset
      const offset = await records.reader.listCalls({ before: '2026-03-04T14:00:02.000+02:00' });
      expect(offset.calls.map((c) => c.callSid)).toEqual(['CA-a', 'CA-old']);
    });

    it('names the bad argument', async () => {
      const records = await perTest.open({ log: createLogger({ level: 'silent' }) });
      await expect(records.reader.listCalls({ before: 'yesterday' })).rejects.toThrow(RecordsQueryError);
      await expect(records.reader.listCalls({ before: '2026-03-04T12:00:00' })).rejects.toMatchObject({ field: 'before' }); // no zone
      await expect(records.reader.listCalls({ limit: 0 })).rejects.toMatchObject({ field: 'limit' });
      await expect(records.reader.listCalls({ limit: 501 })).rejects.toMatchObject({ field: 'limit' });
    });
  });
}
