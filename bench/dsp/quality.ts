/**
 * Quality figures printed next to the resampling speeds, so that "equal or better quality" is measured, not asserted:
 * the SNR of a 1 kHz tone (least-squares fit of a sinusoid at the known frequency; everything else is noise,
 * including the int16 rounding every implementation here goes through) and how far down a 6 kHz tone comes out of
 * 24k -> 8k (it would alias to 2 kHz). Edges (filter warm-up, delay, tail) are left out of both measurements.
 */

export const TONE_AMPLITUDE = 16384;   // -6 dBFS peak

export function tone(frequencyHz: number, sampleRateHz: number, durationS: number, amplitude = TONE_AMPLITUDE): Int16Array {
  const n = Math.round(sampleRateHz * durationS);
  const out = new Int16Array(n);
  const w = (2 * Math.PI * frequencyHz) / sampleRateHz;
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin(w * i));
  return out;
}

function middle(signal: Int16Array, sampleRateHz: number, edgeS: number): Int16Array {
  const edge = Math.round(sampleRateHz * edgeS);
  if (signal.length <= 2 * edge + 16) return signal.subarray(0, 0);
  return signal.subarray(edge, signal.length - edge);
}

export interface ToneFit { snrDb: number; fittedHz: number }

/** Least-squares fit of a cos + b sin + c at one frequency: signal and residual power. */
function fitAt(y: Int16Array, frequencyHz: number, sampleRateHz: number): { signalPower: number; noisePower: number } {
  const n = y.length;
  const w = (2 * Math.PI * frequencyHz) / sampleRateHz;
  let cc = 0, ss = 0, cs = 0, c1 = 0, s1 = 0, yc = 0, ys = 0, y1 = 0;
  for (let i = 0; i < n; i++) {
    const c = Math.cos(w * i), s = Math.sin(w * i), v = y[i]!;
    cc += c * c; ss += s * s; cs += c * s; c1 += c; s1 += s;
    yc += v * c; ys += v * s; y1 += v;
  }
  const [a, b, d] = solve3([[cc, cs, c1], [cs, ss, s1], [c1, s1, n]], [yc, ys, y1]);
  let signalPower = 0;
  let noisePower = 0;
  for (let i = 0; i < n; i++) {
    const fit = a * Math.cos(w * i) + b * Math.sin(w * i);
    const e = y[i]! - fit - d;
    signalPower += fit * fit;
    noisePower += e * e;
  }
  return { signalPower, noisePower };
}

/**
 * SNR in dB of a tone near `frequencyHz` in `signal`. The tone's amplitude, phase and frequency (within 0.5%) are
 * fitted, so a resampler whose output is very slightly time-stretched is judged on its noise and distortion, and the
 * fitted frequency shows the stretch.
 */
export function toneSnrDb(signal: Int16Array, frequencyHz: number, sampleRateHz: number, edgeS = 0.1): ToneFit {
  const y = middle(signal, sampleRateHz, edgeS);
  if (y.length === 0) return { snrDb: Number.NaN, fittedHz: Number.NaN };
  const residual = (f: number): number => {
    const r = fitAt(y, f, sampleRateHz);
    return r.noisePower / Math.max(r.signalPower, 1e-30);
  };
  // Coarse grid, then golden-section refinement around the best point.
  const span = frequencyHz * 0.005;
  const steps = 40;
  let best = frequencyHz;
  let bestR = residual(frequencyHz);
  for (let k = -steps; k <= steps; k++) {
    const f = frequencyHz + (span * k) / steps;
    const r = residual(f);
    if (r < bestR) { bestR = r; best = f; }
  }
  let lo = best - span / steps;
  let hi = best + span / steps;
  const g = (Math.sqrt(5) - 1) / 2;
  for (let it = 0; it < 30; it++) {
    const m1 = hi - g * (hi - lo);
    const m2 = lo + g * (hi - lo);
    if (residual(m1) < residual(m2)) hi = m2; else lo = m1;
  }
  const fittedHz = (lo + hi) / 2;
  const r = fitAt(y, residual(fittedHz) <= bestR ? fittedHz : best, sampleRateHz);
  return {
    snrDb: r.noisePower === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10(r.signalPower / r.noisePower),
    fittedHz: residual(fittedHz) <= bestR ? fittedHz : best,
  };
}

/** How many dB below the input tone's power the whole output is (the output should be silence). */
export interface Rejection { db: number; isSilent: boolean }

export function rejection(input: Int16Array, inputRateHz: number, output: Int16Array, outputRateHz: number, edgeS = 0.1): Rejection {
  const x = middle(input, inputRateHz, edgeS);
  const y = middle(output, outputRateHz, edgeS);
  const power = (v: Int16Array): number => {
    let sum = 0;
    for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
    return v.length === 0 ? 0 : sum / v.length;
  };
  const pOut = power(y);
  // An all-zero output only says "below int16 resolution": at least as far down as a 0.5 LSB peak tone would be.
  if (pOut === 0) return { db: 10 * Math.log10(power(x) / 0.125), isSilent: true };
  return { db: 10 * Math.log10(power(x) / pOut), isSilent: false };
}

function solve3(m: number[][], v: number[]): [number, number, number] {
  // Cramer's rule: fine for a well-conditioned 3x3.
  const det = (a: number[][]): number =>
    a[0]![0]! * (a[1]![1]! * a[2]![2]! - a[1]![2]! * a[2]![1]!) -
    a[0]![1]! * (a[1]![0]! * a[2]![2]! - a[1]![2]! * a[2]![0]!) +
    a[0]![2]! * (a[1]![0]! * a[2]![1]! - a[1]![1]! * a[2]![0]!);
  const d = det(m);
  const col = (k: number): number[][] => m.map((row, i) => row.map((x, j) => (j === k ? v[i]! : x)));
  return [det(col(0)) / d, det(col(1)) / d, det(col(2)) / d];
}

/** Output level relative to input level, in dB, of a tone inside the passband (0 = flat). */
export function toneGainDb(input: Int16Array, inputRateHz: number, output: Int16Array, outputRateHz: number, edgeS = 0.1): number {
  const rms = (v: Int16Array): number => {
    let sum = 0;
    for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
    return Math.sqrt(sum / Math.max(v.length, 1));
  };
  return 20 * Math.log10(rms(middle(output, outputRateHz, edgeS)) / rms(middle(input, inputRateHz, edgeS)));
}

export function formatDb(db: number): string {
  if (!Number.isFinite(db)) return db > 0 ? '>150' : 'n/a';
  return db.toFixed(1);
}
