// The streaming resampler: tone SNR and stopband rejection, delay, chunking (20 ms chunks = one call on the whole
// signal), flush and reset. SNR is measured against the ideal tone after removing the reported delay, edges excluded.
import { describe, expect, it } from 'vitest';
import { Resampler, resampleWhole, SUPPORTED_RATES_HZ, type SampleRateHz } from '../../src/audio/dsp.js';

const tone = (hz: number, rateHz: number, seconds: number, amplitude = 16384): Int16Array => {
  const n = Math.round(rateHz * seconds);
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / rateHz));
  return out;
};

/** SNR (dB) of `got` against the ideal tone at the output rate, skipping `edgeS` at both ends. */
const snrDb = (got: Int16Array, hz: number, rateHz: number, amplitude = 16384, edgeS = 0.1): number => {
  const edge = Math.round(edgeS * rateHz);
  let signal = 0;
  let noise = 0;
  for (let i = edge; i < got.length - edge; i++) {
    const ideal = amplitude * Math.sin((2 * Math.PI * hz * i) / rateHz);
    signal += ideal * ideal;
    noise += (got[i]! - ideal) ** 2;
  }
  return 10 * Math.log10(signal / noise);
};

const rmsDb = (x: Int16Array, edge = 0): number => {
  let s = 0;
  for (let i = edge; i < x.length - edge; i++) s += x[i]! * x[i]!;
  return 10 * Math.log10(s / (x.length - 2 * edge) / 32768 ** 2);
};

/** Streaming through a Resampler in chunks of `chunkSamples`, then flush: everything it outputs. */
const streamed = (input: Int16Array, from: SampleRateHz, to: SampleRateHz, chunkSamples: number): Int16Array => {
  const r = new Resampler(from, to);
  const parts: Int16Array[] = [];
  for (let i = 0; i < input.length; i += chunkSamples) parts.push(r.process(input.subarray(i, i + chunkSamples)));
  parts.push(r.flush());
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

/** Deterministic pseudo-random test signal (mulberry32), band-wide: the harshest input for chunking. */
const noise = (n: number, seed = 1, amplitude = 12000): Int16Array => {
  let a = seed >>> 0;
  const out = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = Math.round(((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * amplitude);
  }
  return out;
};

describe('Resampler quality', () => {
  it('keeps a 1 kHz tone at >= 60 dB SNR through 8k -> 16k', () => {
    const out = resampleWhole(tone(1000, 8000, 1), 8000, 16000);
    expect(out.length).toBe(16000);
    expect(snrDb(out, 1000, 16000)).toBeGreaterThanOrEqual(60);
  });

  it('keeps a 1 kHz tone at >= 60 dB SNR through 24k -> 8k', () => {
    const out = resampleWhole(tone(1000, 24000, 1), 24000, 8000);
    expect(out.length).toBe(8000);
    expect(snrDb(out, 1000, 8000)).toBeGreaterThanOrEqual(60);
  });

  it('keeps 1 kHz (and 3 kHz, inside the 3.6 kHz passband) at >= 60 dB SNR through every pair', () => {
    for (const from of SUPPORTED_RATES_HZ) {
      for (const to of SUPPORTED_RATES_HZ) {
        for (const hz of [1000, 3000]) {
          const snr = snrDb(resampleWhole(tone(hz, from, 0.5), from, to), hz, to);
          expect(snr, `${hz} Hz ${from}->${to}`).toBeGreaterThanOrEqual(60);
        }
      }
    }
  });

  it('puts a 6 kHz tone through 24k -> 8k at least 60 dB down', () => {
    const input = tone(6000, 24000, 1);
    const out = resampleWhole(input, 24000, 8000);
    expect(rmsDb(input) - rmsDb(out, 800)).toBeGreaterThanOrEqual(60);
  });

  it('rejects everything above the output Nyquist when decimating 48k -> 8k (4.5, 6, 10, 20 kHz)', () => {
    for (const hz of [4500, 6000, 10000, 20000]) {
      const input = tone(hz, 48000, 0.5);
      expect(rmsDb(input) - rmsDb(resampleWhole(input, 48000, 8000), 800), `${hz} Hz`).toBeGreaterThanOrEqual(60);
    }
  });

  it('reports its delay in output samples: the raw stream is the aligned one shifted by delaySamples', () => {
    for (const [from, to] of [[8000, 16000], [24000, 8000], [16000, 24000]] as const) {
      const r = new Resampler(from, to);
      expect(Number.isInteger(r.delaySamples)).toBe(true);
      expect(r.delaySamples).toBeGreaterThan(0);
      const input = tone(1000, from, 0.5);
      const raw = streamed(input, from, to, input.length);
      const aligned = resampleWhole(input, from, to);
      expect(raw.length).toBe(aligned.length + r.delaySamples);
      expect(Array.from(raw.subarray(r.delaySamples))).toEqual(Array.from(aligned));
      // Before the delay has passed, the output is the filter filling up: near silence at the very start.
      expect(Math.abs(raw[0]!)).toBeLessThan(50);
    }
  });

  it('same-rate conversion is an exact copy with no delay', () => {
    const input = noise(1000);
    const r = new Resampler(16000, 16000);
    expect(r.delaySamples).toBe(0);
    expect(Array.from(r.process(input))).toEqual(Array.from(input));
    expect(r.flush().length).toBe(0);
  });
});

describe('Resampler streaming', () => {
  it('20 ms chunks give the same samples as one call on the whole signal (within 1 LSB), for every pair', () => {
    for (const from of SUPPORTED_RATES_HZ) {
      for (const to of SUPPORTED_RATES_HZ) {
        const input = noise(from / 2, from); // 0.5 s
        const whole = streamed(input, from, to, input.length);
        const chunked = streamed(input, from, to, from / 50);
        expect(chunked.length, `${from}->${to}`).toBe(whole.length);
        let maxDiff = 0;
        for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i]! - chunked[i]!));
        expect(maxDiff, `${from}->${to}`).toBeLessThanOrEqual(1);
      }
    }
  });

  it('odd chunk sizes (1, 7, 333 samples) give the same samples too', () => {
    const input = noise(4800, 7);
    const whole = streamed(input, 24000, 16000, input.length);
    for (const size of [1, 7, 333]) expect(Array.from(streamed(input, 24000, 16000, size))).toEqual(Array.from(whole));
  });

  it('outputs ceil(n * to / from) samples for n inputs, then flush() returns exactly delaySamples more', () => {
    const r = new Resampler(24000, 8000);
    let produced = 0;
    for (const n of [480, 1, 2, 480, 5]) {
      expect(r.outputLengthFor(n)).toBe(r.process(noise(n, n)).length);
    }
    produced = 0;
    r.reset();
    for (const n of [480, 1, 2, 480, 5]) produced += r.process(noise(n, n)).length;
    expect(produced).toBe(Math.ceil((968 * 8000) / 24000));
    expect(r.flush().length).toBe(r.delaySamples);
  });

  it('flush() resets: the next signal comes out as if the resampler were new', () => {
    const input = noise(960, 3);
    const fresh = streamed(input, 8000, 16000, 160);
    const r = new Resampler(8000, 16000);
    r.process(noise(500, 9));
    r.flush();
    const again = [r.process(input), r.flush()];
    expect(Array.from(again[0]!).concat(Array.from(again[1]!))).toEqual(Array.from(fresh));
    expect(r.flush().length).toBe(0); // nothing fed since: no tail
  });

  it('reset() drops the history without output', () => {
    const r = new Resampler(8000, 48000);
    r.process(noise(160, 5));
    r.reset();
    expect(r.flush().length).toBe(0);
    const input = noise(320, 6);
    expect(Array.from(r.process(input))).toEqual(Array.from(new Resampler(8000, 48000).process(input)));
  });

  it('processInto writes into the caller\'s array without allocating and returns the count', () => {
    const r = new Resampler(8000, 16000);
    const out = new Int16Array(400);
    const n = r.processInto(noise(160, 11), out);
    expect(n).toBe(320);
    expect(Array.from(out.subarray(0, n))).toEqual(Array.from(new Resampler(8000, 16000).process(noise(160, 11))));
  });
});
