// A sentence of TTS audio converted piece by piece as it streams in (MulawFrameStream) gives the same 8 kHz mu-law
// frames, byte for byte, as the whole-sentence pool job (dsp-worker.ts pcmToMulawFrames) on the same audio, whatever
// the sizes of the pieces (one sample, odd, a frame and a bit, all at once): nothing is lost or doubled at a border,
// the resampler's delay is dropped once, and only whole frames come out until the end pads the last one. The same
// instance serves the next sentence as if it were new.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DspPool } from '../../src/audio/pool.js';
import { mulawEncode } from '../../src/audio/dsp.js';
import { MulawFrameStream } from '../../src/audio/mulaw-frame-stream.js';
import type { SampleRateHz } from '../../src/audio/dsp.js';

/** A speech-like test signal: two tones and a little noise, deterministic. */
function signal(rateHz: number, samples: number, seed = 1): Int16Array {
  const out = new Int16Array(samples);
  let x = seed;
  for (let i = 0; i < samples; i++) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const t = i / rateHz;
    out[i] = Math.round(6000 * Math.sin(2 * Math.PI * 220 * t) + 3000 * Math.sin(2 * Math.PI * 1800 * t) + ((x % 801) - 400));
  }
  return out;
}

let pool: DspPool;
beforeAll(() => {
  pool = new DspPool({ threads: 1 });
});
afterAll(async () => {
  await pool?.destroy();
});

/** The whole-sentence path: one pool job on the whole audio. */
function whole(pcm: Int16Array, rateHz: SampleRateHz): Promise<Uint8Array> {
  return pool.pcmToMulawFrames(pcm.slice(), rateHz);
}

/** Feeds `pcm` in pieces whose sizes cycle through `sizes`; returns every output piece, end() included. */
function streamed(stream: MulawFrameStream, pcm: Int16Array, sizes: readonly number[]): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let at = 0, k = 0; at < pcm.length; k++) {
    const size = sizes[k % sizes.length]!;
    pieces.push(stream.push(pcm.subarray(at, at + size)));
    at += size;
  }
  pieces.push(stream.end());
  return pieces;
}

const join = (pieces: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

describe('MulawFrameStream', () => {
  for (const rateHz of [24_000, 16_000, 48_000, 8000] as const) {
    it(`gives the whole-sentence frames exactly from ${rateHz} Hz pieces of any size`, async () => {
      const pcm = signal(rateHz, Math.round(rateHz * 0.737));
      const expected = await whole(pcm, rateHz);
      for (const sizes of [[1], [7, 13], [2401], [4801, 3, 999], [pcm.length]]) {
        const pieces = streamed(new MulawFrameStream(rateHz), pcm, sizes);
        for (const piece of pieces) expect(piece.length % 160).toBe(0);
        expect(Buffer.from(join(pieces)).equals(Buffer.from(expected))).toBe(true);
      }
    });
  }

  it('gives the first frames before the sentence is over: a 100 ms piece at 24 kHz is 4 frames at once', () => {
    const stream = new MulawFrameStream(24_000);
    const pcm = signal(24_000, 24_000);
    const first = stream.push(pcm.subarray(0, 2400));
    // 800 samples at 8 kHz less the resampler's delay: whole frames only, the rest carried
    expect(first.length).toBe(Math.floor((800 - new MulawFrameStream(24_000)['delayLeft']) / 160) * 160);
    expect(first.length).toBeGreaterThan(0);
  });

  it('serves the next sentence after end() exactly as a fresh one would', async () => {
    const stream = new MulawFrameStream(24_000);
    const a = signal(24_000, 12_345, 3);
    const b = signal(24_000, 7_777, 4);
    streamed(stream, a, [1000]);
    const second = join(streamed(stream, b, [333, 4801]));
    expect(Buffer.from(second).equals(Buffer.from(await whole(b, 24_000)))).toBe(true);
  });

  it('frames 8 kHz mu-law pieces as they are, the last one padded with silence', () => {
    const codes = mulawEncode(signal(8000, 1000));
    const stream = new MulawFrameStream(8000);
    const out = join([stream.pushMulaw(codes.subarray(0, 333)), stream.pushMulaw(codes.subarray(333)), stream.end()]);
    expect(out.length).toBe(1120);
    expect(Buffer.from(out.subarray(0, 1000)).equals(Buffer.from(codes))).toBe(true);
    expect(out.subarray(1000).every((c) => c === 0xff)).toBe(true);
  });

  it('gives nothing for a sentence with no audio', () => {
    const stream = new MulawFrameStream(24_000);
    expect(stream.end().length).toBe(0);
  });
});
