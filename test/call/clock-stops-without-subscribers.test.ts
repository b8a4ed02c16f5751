// The thread clock runs only while it has at least one subscriber: with none, no timer is left behind, and it
// starts again from a fresh t0.
import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';

describe('FrameClock start and stop', () => {
  it('runs only while it has subscribers: no timer is left behind', () => {
    const time = new ManualTimeSource(0);
    const clock = new FrameClock({ time });
    expect(clock.isRunning).toBe(false);
    expect(time.pendingTimers).toBe(0);
    const hookCalls: number[] = [];
    const removeHook = clock.addPassHook((now) => hookCalls.push(now));
    expect(clock.isRunning).toBe(false); // a hook alone does not start the clock
    const a = clock.subscribe(() => {});
    const b = clock.subscribe(() => {});
    expect(clock.isRunning).toBe(true);
    time.advance(50);
    expect(hookCalls.length).toBeGreaterThan(0);
    a.unsubscribe();
    a.unsubscribe(); // idempotent
    expect(clock.isRunning).toBe(true);
    b.unsubscribe();
    expect(clock.isRunning).toBe(false);
    expect(time.pendingTimers).toBe(0);
    const calls = hookCalls.length;
    time.advance(100);
    expect(hookCalls.length).toBe(calls);
    // and it starts again from a fresh t0
    const seen: number[] = [];
    const c = clock.subscribe((tickIndex) => seen.push(tickIndex));
    time.advance(45);
    expect(seen[0]).toBe(0);
    c.unsubscribe();
    removeHook();
    expect(time.pendingTimers).toBe(0);
  });
});
