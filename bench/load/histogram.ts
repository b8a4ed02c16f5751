/**
 * Fixed-bin histograms that worker threads fill on the hot path and the coordinator merges.
 * One bin per `binUs` microseconds up to `maxMs`; anything beyond lands in the overflow bin, and the exact maximum is kept.
 */

export interface HistogramData {
  binUs: number;
  bins: number[];          // sparse-friendly plain array for postMessage: counts per bin, last one = overflow
  count: number;
  sumUs: number;
  maxUs: number;
}

export class Histogram {
  readonly binUs: number;
  readonly bins: Uint32Array;
  count = 0;
  sumUs = 0;
  maxUs = 0;

  constructor(binUs: number, maxMs: number) {
    this.binUs = binUs;
    this.bins = new Uint32Array(Math.ceil((maxMs * 1000) / binUs) + 1);
  }

  /** Per-frame path: no allocation. */
  add(valueMs: number): void {
    const us = valueMs * 1000;
    const last = this.bins.length - 1;
    let bin = Math.floor(us / this.binUs);
    if (bin > last) bin = last;
    if (bin < 0) bin = 0;
    this.bins[bin] = (this.bins[bin] ?? 0) + 1;
    this.count++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  toData(): HistogramData {
    return { binUs: this.binUs, bins: Array.from(this.bins), count: this.count, sumUs: this.sumUs, maxUs: this.maxUs };
  }

  static fromData(d: HistogramData): Histogram {
    const h = new Histogram(d.binUs, ((d.bins.length - 1) * d.binUs) / 1000);
    h.bins.set(d.bins);
    h.count = d.count;
    h.sumUs = d.sumUs;
    h.maxUs = d.maxUs;
    return h;
  }

  merge(other: Histogram): void {
    if (other.binUs !== this.binUs || other.bins.length !== this.bins.length) {
      throw new RangeError('histograms must share binUs and range to merge');
    }
    for (let i = 0; i < this.bins.length; i++) this.bins[i] = (this.bins[i] ?? 0) + (other.bins[i] ?? 0);
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** Quantile in ms (upper edge of the bin holding it; the maximum for q = 1). NaN when empty. */
  quantileMs(q: number): number {
    if (this.count === 0) return Number.NaN;
    if (q >= 1) return this.maxUs / 1000;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < this.bins.length; i++) {
      seen += this.bins[i] ?? 0;
      if (seen >= rank) return Math.min(((i + 1) * this.binUs) / 1000, this.maxUs / 1000);
    }
    return this.maxUs / 1000;
  }

  meanMs(): number {
    return this.count === 0 ? Number.NaN : this.sumUs / this.count / 1000;
  }
}
