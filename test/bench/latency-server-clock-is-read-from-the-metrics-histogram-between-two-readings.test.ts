import { describe, expect, it } from 'vitest';
import { latenessBetween, parseLatenessBuckets } from '../../bench/latency/clock-lateness.js';

const body = (counts: [string, number][], thread2: number): string => [
  '# HELP aicrmd_clock_lateness_seconds Pacing error',
  '# TYPE aicrmd_clock_lateness_seconds histogram',
  ...counts.map(([le, n]) => `aicrmd_clock_lateness_seconds_bucket{le="${le}",thread="0"} ${n}`),
  ...counts.map(([le]) => `aicrmd_clock_lateness_seconds_bucket{le="${le}",thread="1"} ${thread2}`),
  'aicrmd_dsp_batch_seconds_bucket{le="0.005"} 999',
].join('\n');

describe('the latency bench reads the server clock from /metrics', () => {
  it('sums the threads, ignores other metrics and takes the step as the difference of two readings', () => {
    const before = parseLatenessBuckets(body([['0.005', 10], ['0.02', 10], ['+Inf', 10]], 0));
    const after = parseLatenessBuckets(body([['0.005', 900], ['0.02', 1005], ['+Inf', 1010]], 0));
    const step = latenessBetween(before, after);
    expect(step.passes).toBe(1000);
    expect(step.percentLaterThan.get(5)).toBeCloseTo(11, 6);
    expect(step.percentLaterThan.get(20)).toBeCloseTo(0.5, 6);
    expect(step.p99UpperBoundMs).toBe(20);
    const twoThreads = parseLatenessBuckets(body([['0.005', 3], ['+Inf', 4]], 5));
    expect(twoThreads.get(5)).toBe(8);
    expect(twoThreads.get(Infinity)).toBe(9);
  });

  it('says the p99 is beyond every bound when more than 1 % of passes are later than the last one', () => {
    const step = latenessBetween(new Map(), parseLatenessBuckets(body([['0.1', 90], ['+Inf', 100]], 0)));
    expect(step.p99UpperBoundMs).toBe(Infinity);
    expect(latenessBetween(new Map(), new Map()).passes).toBe(0);
  });
});
