// The threads' clocks run on createClockTimeSource(): on Linux one precise native timer per clock. A FrameClock on
// it ticks on real time; a stale handle (of a timer that fired or was replaced) clears nothing; the clock's
// dispose() closes the timer, after which arming is refused loudly rather than silently never firing.
import { describe, expect, it } from 'vitest';
import { FrameClock, realTimeSource } from '../../src/audio/clock.js';
import { CLOCK_TIMER_KIND, createClockTimeSource } from '../../src/audio/precise-timer.js';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('the clock time source', () => {
  it('is the precise timer on Linux, setTimeout elsewhere', () => {
    expect(CLOCK_TIMER_KIND).toBe(process.platform === 'linux' ? 'timerfd' : 'setTimeout');
    expect(createClockTimeSource() === realTimeSource).toBe(CLOCK_TIMER_KIND === 'setTimeout');
  });

  it('drives a FrameClock on real time: every tick once, none skipped', async () => {
    const clock = new FrameClock({ time: createClockTimeSource() });
    const ticks: number[] = [];
    let covered = 0;
    const sub = clock.subscribe((tickIndex, _dueMs, _nowMs, ticksCovered) => {
      ticks.push(tickIndex);
      covered += ticksCovered;
    });
    await sleep(210);
    sub.unsubscribe();
    expect(ticks.length).toBeGreaterThanOrEqual(5);
    expect(covered).toBe(ticks.at(-1)! + 1); // ticks 0..last, each covered exactly once
    clock.dispose();
  });

  it.runIf(CLOCK_TIMER_KIND === 'timerfd')('serves no sub-tick before it is due (the precise timer is never early)', async () => {
    // with setTimeout's 1 ms early tolerance, 1 ms sub-ticks would be served a whole sub-tick early
    const clock = new FrameClock({ time: createClockTimeSource(), phases: 20 });
    const earlyMs: number[] = [];
    const subs = Array.from({ length: 20 }, (_, phase) =>
      clock.subscribe((_tick, dueMs, nowMs) => earlyMs.push(dueMs - nowMs), phase),
    );
    await sleep(120);
    for (const sub of subs) sub.unsubscribe();
    clock.dispose();
    expect(earlyMs.length).toBeGreaterThan(20);
    expect(Math.max(...earlyMs)).toBeLessThanOrEqual(0.01);
  });

  it.runIf(CLOCK_TIMER_KIND === 'timerfd')('clears only the timer its handle armed, and refuses arming once closed', async () => {
    const time = createClockTimeSource();
    const fired: string[] = [];
    const first = time.setTimer(() => fired.push('first'), 1);
    await sleep(20);
    const second = time.setTimer(() => fired.push('second'), 5);
    time.clearTimer(first); // already fired: must not disarm the second
    await sleep(30);
    expect(fired).toEqual(['first', 'second']);
    const third = time.setTimer(() => fired.push('third'), 5);
    time.clearTimer(second);
    time.clearTimer(third);
    await sleep(20);
    expect(fired).toEqual(['first', 'second']);

    const clock = new FrameClock({ time });
    clock.dispose(); // closes the source
    expect(() => time.setTimer(() => {}, 1)).toThrow(/setTimer\(\) after close\(\)/);
  });
});
