// Every pass of the thread clock serves the calls whose sub-tick fell due before it runs its hooks (the batched
// inbound DSP): a frame's send time never waits on inbound work, so the batch's varying cost is not pacing error.
import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';

describe('FrameClock pass order', () => {
  it('serves every due subscriber of a pass before running the pass hooks', () => {
    const time = new ManualTimeSource(0);
    const clock = new FrameClock({ time, phases: 4 });
    const order: string[] = [];
    const subs = [0, 1, 2, 3, 4, 5].map((i) => clock.subscribe(() => order.push(`call${i}`)));
    const removeHook = clock.addPassHook(() => order.push('hook'));
    time.advance(100);
    expect(order.filter((e) => e === 'hook').length).toBeGreaterThan(10);
    // Within each pass (the stretch that ends at a hook) every entry before the hook is a call; a hook is never
    // followed by a call of the same pass, so each pass is calls..., hook.
    const passes = order.join(' ').split('hook').map((p) => p.trim()).filter((p) => p.length > 0);
    for (const pass of passes) expect(pass.split(' ').every((e) => e.startsWith('call'))).toBe(true);
    expect(order[order.length - 1]).toBe('hook');
    // and every call was served on every one of its ticks: 5 or 6 in 100 ms (from t=0 to t=100), by its phase
    for (let i = 0; i < 6; i++) expect([5, 6]).toContain(order.filter((e) => e === `call${i}`).length);
    for (const s of subs) s.unsubscribe();
    removeHook();
  });

  it('runs the hooks even in a pass whose buckets are empty of due calls, and after a throwing handler', () => {
    const time = new ManualTimeSource(0);
    const errors: unknown[] = [];
    const clock = new FrameClock({ time, phases: 2, onHandlerError: (e) => errors.push(e) });
    const order: string[] = [];
    const sub = clock.subscribe(() => { order.push('call'); throw new Error('bug'); });
    const removeHook = clock.addPassHook(() => order.push('hook'));
    time.advance(40);
    expect(order.slice(0, 2)).toEqual(['call', 'hook']);
    expect(errors.length).toBe(order.filter((e) => e === 'call').length);
    sub.unsubscribe();
    removeHook();
  });

  it('tells its hooks when the pass started, so that a hook\'s time minus it is how long the sends took', () => {
    // Real time passes while the handlers send: a time source whose clock the handlers move on.
    class BusyTimeSource extends ManualTimeSource {
      workMs = 0;
      override nowMs(): number {
        return super.nowMs() + this.workMs;
      }
    }
    const time = new BusyTimeSource(0);
    const clock = new FrameClock({ time, phases: 1 });
    const sendMsPerCall = 0.25;
    const subs = [0, 1, 2].map(() => clock.subscribe(() => { time.workMs += sendMsPerCall; }));
    const sendSpansMs: number[] = [];
    const removeHook = clock.addPassHook((hooksAtMs) => sendSpansMs.push(hooksAtMs - clock.stats.lastPassStartMs));
    time.advance(60);
    expect(sendSpansMs.length).toBeGreaterThanOrEqual(2);
    for (const spanMs of sendSpansMs) expect(spanMs).toBeCloseTo(3 * sendMsPerCall, 9);
    for (const s of subs) s.unsubscribe();
    removeHook();
  });
});
