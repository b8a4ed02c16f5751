// The main thread keeps the briefs of calls placed through the API until their agents ask: read any number of times
// while fresh, gone after BRIEF_TTL_MS, the oldest dropped past the count bound, and nothing kept under an id we
// could not have made.
import { describe, expect, it } from 'vitest';
import { BRIEF_TTL_MS, LAUNCH_ID, OutboundBriefStore, newLaunchId } from '../../src/control/outbound-briefs.js';

describe('placed calls\' briefs', () => {
  it('are read while fresh, more than once, and expire', () => {
    const store = new OutboundBriefStore();
    const id = newLaunchId();
    expect(id).toMatch(LAUNCH_ID);
    store.put(id, { greeting: 'Hi' }, 1_000);
    expect(store.get(id, 2_000)).toEqual({ greeting: 'Hi' });
    expect(store.get(id, 1_000 + BRIEF_TTL_MS - 1)).toEqual({ greeting: 'Hi' });
    expect(store.get(id, 1_000 + BRIEF_TTL_MS)).toBeUndefined();
    expect(store.size).toBe(0);
  });

  it('drop the oldest past the bound, and expired ones on the next put', () => {
    const store = new OutboundBriefStore({ maxBriefs: 3, ttlMs: 100 });
    const ids = [newLaunchId(), newLaunchId(), newLaunchId(), newLaunchId()];
    ids.forEach((id, n) => store.put(id, { context: { n } }, n));
    expect(store.size).toBe(3);
    expect(store.get(ids[0]!, 5)).toBeUndefined();
    expect(store.get(ids[3]!, 5)).toEqual({ context: { n: 3 } });
    store.put(newLaunchId(), {}, 102); // ids 1 and 2 (put at 1 and 2) expired at 101 and 102
    expect(store.size).toBe(2);
  });

  it('keep nothing under an id that is not one of ours', () => {
    const store = new OutboundBriefStore();
    store.put('../../etc', { greeting: 'x' }, 0);
    store.put('ABCDEF0123456789abcdef0123456789', { greeting: 'x' }, 0);
    expect(store.size).toBe(0);
  });
});
