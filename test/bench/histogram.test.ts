// The load generator's fixed-bin histogram (bench/load/histogram.ts): values land in their bin, anything past the
// range in the overflow bin while the exact maximum is kept, quantiles are the upper edge of the bin holding them,
// the postMessage form round-trips, and merging the histograms of two threads equals one histogram fed both sets.
import { describe, expect, it } from 'vitest';
import { Histogram } from '../../bench/load/histogram.js';

const nonZeroBins = (h: Histogram): Record<number, number> => {
  const out: Record<number, number> = {};
  h.bins.forEach((c, i) => { if (c > 0) out[i] = c; });
  return out;
};

describe('Histogram', () => {
  it('has one bin per binUs up to maxMs plus an overflow bin', () => {
    expect(new Histogram(10, 1).bins.length).toBe(101);
    expect(new Histogram(1000, 20_000).bins.length).toBe(20_001);
  });

  it('puts each value in the bin of its microseconds, lower edge inclusive, and counts sum and max', () => {
    const h = new Histogram(10, 1);   // 10 us bins to 1 ms
    for (const ms of [0, 0.004, 0.01, 0.0155, 0.5, 0.999]) h.add(ms);
    expect(nonZeroBins(h)).toEqual({ 0: 2, 1: 2, 50: 1, 99: 1 });
    expect(h.count).toBe(6);
    expect(h.sumUs).toBeCloseTo((0 + 0.004 + 0.01 + 0.0155 + 0.5 + 0.999) * 1000, 6);
    expect(h.maxUs).toBeCloseTo(999, 6);
    expect(h.meanMs()).toBeCloseTo((0.004 + 0.01 + 0.0155 + 0.5 + 0.999) / 6, 9);
  });

  it('sends values past the range to the overflow bin and keeps the exact maximum for q = 1', () => {
    const h = new Histogram(10, 1);
    h.add(1.0);
    h.add(7.25);
    h.add(400);
    expect(nonZeroBins(h)).toEqual({ 100: 3 });
    expect(h.quantileMs(1)).toBe(400);
    // a quantile inside the overflow bin is that bin's upper edge (range + one bin): a lower bound, past the range
    expect(h.quantileMs(0.5)).toBeCloseTo(1.01, 9);
  });

  it('clamps a negative value into the first bin', () => {
    const h = new Histogram(10, 1);
    h.add(-0.5);
    expect(nonZeroBins(h)).toEqual({ 0: 1 });
  });

  it('answers quantiles with the upper edge of the bin holding the rank, never above the maximum', () => {
    const h = new Histogram(10, 1);
    for (let i = 0; i < 100; i++) h.add((i * 10 + 5) / 1000);   // one value in each of bins 0..99: 5 us, 15 us, ... 995 us
    expect(h.quantileMs(0.5)).toBeCloseTo(0.5, 9);   // 50th value (495 us) sits in bin 49: upper edge 500 us
    expect(h.quantileMs(0.99)).toBeCloseTo(0.99, 9);
    expect(h.quantileMs(0.01)).toBeCloseTo(0.01, 9);
    expect(h.quantileMs(1)).toBeCloseTo(0.995, 9);   // the exact maximum
    const one = new Histogram(10, 1);
    one.add(0.123);
    expect(one.quantileMs(0.5)).toBeCloseTo(0.123, 9);   // the bin edge (0.13) is above the only value: the value
  });

  it('is NaN when empty', () => {
    const h = new Histogram(10, 1);
    expect(h.quantileMs(0.5)).toBeNaN();
    expect(h.quantileMs(1)).toBeNaN();
    expect(h.meanMs()).toBeNaN();
  });

  it('round-trips through the plain data sent over postMessage', () => {
    for (const [binUs, maxMs] of [[10, 1000], [1000, 20_000]] as const) {
      const h = new Histogram(binUs, maxMs);
      for (const v of [0.02, 3.3, 17, 999, 25_000]) h.add(v);
      const data = structuredClone(h.toData());
      const back = Histogram.fromData(data);
      expect(back.binUs).toBe(binUs);
      expect(back.bins.length).toBe(h.bins.length);
      expect(Array.from(back.bins)).toEqual(Array.from(h.bins));
      expect({ count: back.count, sumUs: back.sumUs, maxUs: back.maxUs }).toEqual({ count: h.count, sumUs: h.sumUs, maxUs: h.maxUs });
      for (const q of [0.5, 0.9, 0.99, 1]) expect(back.quantileMs(q)).toBe(h.quantileMs(q));
    }
  });

  it('merging two histograms equals one histogram fed both sets of values', () => {
    const a = new Histogram(10, 1000);
    const b = new Histogram(10, 1000);
    const both = new Histogram(10, 1000);
    const setA = Array.from({ length: 500 }, (_, i) => ((i * 37) % 997) / 100);          // 0 .. 9.96 ms
    const setB = [...Array.from({ length: 300 }, (_, i) => ((i * 53) % 401) / 10), 1500, 2400.5];   // 0 .. 40 ms, two overflows
    for (const v of setA) { a.add(v); both.add(v); }
    for (const v of setB) { b.add(v); both.add(v); }
    // as the coordinator does it: from each thread's data
    const merged = Histogram.fromData(a.toData());
    merged.merge(Histogram.fromData(b.toData()));
    expect(Array.from(merged.bins)).toEqual(Array.from(both.bins));
    expect(merged.count).toBe(both.count);
    expect(merged.sumUs).toBeCloseTo(both.sumUs, 3);
    expect(merged.maxUs).toBe(2400.5 * 1000);
    for (const q of [0.1, 0.5, 0.9, 0.99, 0.999, 1]) expect(merged.quantileMs(q), `q=${q}`).toBe(both.quantileMs(q));
    expect(merged.bins[merged.bins.length - 1]).toBe(2);
  });

  it('refuses to merge histograms of different bins or range', () => {
    expect(() => new Histogram(10, 1000).merge(new Histogram(20, 1000))).toThrow(RangeError);
    expect(() => new Histogram(10, 1000).merge(new Histogram(10, 500))).toThrow(RangeError);
  });
});
