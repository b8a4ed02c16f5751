// The thread clock gives each call its own phase of the 20 ms period (sub-ticks of 5 ms), so that no single pass
// serves every call; subscribers may leave during a pass without disturbing the others.
import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';

describe('FrameClock phases', () => {
  it('wakes only for phases that have subscribers', () => {
    const time = new ManualTimeSource(0);
    const clock = new FrameClock({ time, phases: 4 });
    let calls = 0;
    clock.subscribe(() => calls++);
    time.advance(990); // ticks at 0, 20, ..., 980 ms
    expect(calls).toBe(50);
    expect(clock.stats.passes).toBe(50); // not 200: the three empty phases are skipped
  });

  it('gives each call a phase of the period and serves each phase at its own sub-tick', () => {
    const time = new ManualTimeSource(0);
    const clock = new FrameClock({ time, phases: 4, earlyToleranceMs: 0 });
    const subs = Array.from({ length: 8 }, () => {
      const dues: number[] = [];
      const sub = clock.subscribe((_tick, dueMs) => dues.push(dueMs));
      return { sub, dues };
    });
    expect(clock.bucketSizes()).toEqual([2, 2, 2, 2]);
    time.advance(100);
    for (const { sub, dues } of subs) {
      expect(dues.length).toBeGreaterThanOrEqual(4);
      // phase k's ticks are due at n x 20 + k x 5
      for (const due of dues) expect(((due % 20) + 20) % 20).toBe(sub.phase * 5);
    }
    // A new subscriber goes to the emptiest bucket.
    subs[0]!.sub.unsubscribe();
    subs[2]!.sub.unsubscribe();
    const fresh = clock.subscribe(() => {});
    expect([subs[0]!.sub.phase, subs[2]!.sub.phase]).toContain(fresh.phase);
  });

  it('lets a handler unsubscribe itself or another without skipping the rest of the pass', () => {
    const time = new ManualTimeSource(0);
    const clock = new FrameClock({ time, phases: 1 });
    const calls = [0, 0, 0, 0];
    const subs: { unsubscribe(): void }[] = [];
    for (let i = 0; i < 4; i++) {
      subs.push(clock.subscribe(() => {
        calls[i]!++;
        if (i === 0 && calls[0] === 2) subs[0]!.unsubscribe();
        if (i === 1 && calls[1] === 2) subs[3]!.unsubscribe();
      }));
    }
    time.advance(2); // first pass (tick 0)
    time.advance(20); // second pass: 0 leaves after its call; 1 removes 3 before 3's turn (so 3 is not served)
    time.advance(20); // third pass
    expect(calls).toEqual([2, 3, 3, 1]);
  });
});
