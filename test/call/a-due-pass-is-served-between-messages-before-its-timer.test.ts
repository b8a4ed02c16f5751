// The clock serves a due sub-tick when asked between inbound messages (serveIfDue, which the session calls after each
// media frame), before its timer's turn comes: a pass need not wait for the rest of a batch of socket reads. Asked
// early, it does nothing; a pass it served is not served again by the timer; the timer then waits for the next one.
import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';

describe('FrameClock.serveIfDue', () => {
  it('serves a due sub-tick at once, once, and leaves the timer for the next', () => {
    const time = new ManualTimeSource(0);
    // every timer fires 3 ms after its deadline: the loop is busy with reads
    time.latenessMs = () => 3;
    const clock = new FrameClock({ time, phases: 1, earlyToleranceMs: 0 });
    const served: Array<{ tickIndex: number; nowMs: number }> = [];
    const sub = clock.subscribe((tickIndex, _dueMs, nowMs) => served.push({ tickIndex, nowMs }));
    time.advance(19.5); // tick 0 (due at 0) was served by its timer, 3 ms late
    expect(served).toEqual([{ tickIndex: 0, nowMs: 4 }]);
    clock.serveIfDue(); // tick 1 is due at 20: not yet
    expect(served).toHaveLength(1);
    time.advance(0.7); // 20.2: due, and its timer (23) has not fired
    clock.serveIfDue();
    expect(served[1]).toEqual({ tickIndex: 1, nowMs: 20.2 });
    clock.serveIfDue(); // nothing more is due
    expect(time.pendingTimers).toBe(1);
    time.advance(5); // past the cleared timer's 23: no second pass for tick 1
    expect(served).toHaveLength(2);
    time.advance(20); // 45.2: tick 2's timer (40 + 3 late) served it
    expect(served.map((s) => s.tickIndex)).toEqual([0, 1, 2]);
    expect(clock.stats.passes).toBe(3);
    sub.unsubscribe();
    clock.serveIfDue(); // stopped: nothing, no timer left behind
    expect(time.pendingTimers).toBe(0);
  });

  it('does nothing when called from inside a pass', () => {
    const time = new ManualTimeSource(0);
    const clock = new FrameClock({ time, phases: 1 });
    let ticks = 0;
    const sub = clock.subscribe(() => {
      ticks++;
      clock.serveIfDue();
    });
    time.advance(100);
    expect(ticks).toBe(6); // 0, 20, ..., 100: once each, none nested
    sub.unsubscribe();
  });
});
