// The thread clock: tick n is due at t0 + n x 20 ms whatever the lateness of earlier wake-ups, a late pass reports
// how many ticks it covers (catch-up), and a throwing handler never stops the clock. Driven by a manual time source.
import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';

interface Seen { tickIndex: number; dueMs: number; nowMs: number; covered: number }

describe('FrameClock deadlines', () => {
  it('keeps ticks on absolute deadlines: lateness never accumulates', () => {
    const time = new ManualTimeSource(1000);
    // Every wake-up is 0..7 ms late (a busy event loop), deterministically.
    let k = 0;
    time.latenessMs = () => [0, 3, 7, 1, 5, 2, 6, 4][k++ % 8]!;
    const clock = new FrameClock({ time, phases: 1, earlyToleranceMs: 0 });
    const seen: Seen[] = [];
    const sub = clock.subscribe((tickIndex, dueMs, nowMs, covered) => seen.push({ tickIndex, dueMs, nowMs, covered }));
    const t0 = 1000;
    time.advance(20 * 1000); // 20 s
    for (const s of seen) {
      expect(s.dueMs).toBe(t0 + s.tickIndex * 20);
      expect(s.nowMs).toBeGreaterThanOrEqual(s.dueMs);
      expect(s.nowMs - s.dueMs).toBeLessThan(20); // late by one wake-up's lateness at most, never more
    }
    // No tick lost: the covered counts add up to every tick due so far.
    const last = seen[seen.length - 1]!;
    expect(seen.reduce((sum, s) => sum + s.covered, 0)).toBe(last.tickIndex + 1);
    // After 20 s the clock is still on tick 999-1000, not behind by the sum of the lateness (~3.5 ms x 1000).
    expect(last.tickIndex).toBeGreaterThanOrEqual(998);
    sub.unsubscribe();
  });

  it('reports the ticks a late pass covers (catch-up) and then returns to one per tick', () => {
    const time = new ManualTimeSource(0);
    let isStalled = false;
    time.latenessMs = () => (isStalled ? 47 : 0);
    const clock = new FrameClock({ time, phases: 1, earlyToleranceMs: 0 });
    const seen: Seen[] = [];
    clock.subscribe((tickIndex, dueMs, nowMs, covered) => seen.push({ tickIndex, dueMs, nowMs, covered }));
    time.advance(100); // ticks 0..5
    isStalled = true; // the next timer fires 47 ms late
    time.advance(20);
    isStalled = false;
    time.advance(200);
    const late = seen.find((s) => s.covered > 1)!;
    expect(late).toBeDefined();
    expect(late.covered).toBe(3); // 47 ms late: its own tick and the two that fell due meanwhile
    expect(late.dueMs).toBe(late.tickIndex * 20);
    const after = seen.slice(seen.indexOf(late) + 1);
    expect(after.length).toBeGreaterThan(5);
    for (const s of after) expect(s.covered).toBe(1);
    expect(seen.reduce((sum, s) => sum + s.covered, 0)).toBe(seen[seen.length - 1]!.tickIndex + 1);
    expect(clock.stats.subTicksMerged).toBe(2);
  });

  it('catches a throwing handler and keeps ticking the others', () => {
    const time = new ManualTimeSource(0);
    const errors: unknown[] = [];
    const clock = new FrameClock({ time, phases: 1, onHandlerError: (e) => errors.push(e) });
    let good = 0;
    clock.subscribe(() => {
      throw new Error('boom');
    });
    clock.subscribe(() => good++);
    time.advance(100);
    expect(good).toBeGreaterThanOrEqual(5);
    expect(errors.length).toBe(good);
    expect(clock.stats.handlerErrors).toBe(good);
  });
});
