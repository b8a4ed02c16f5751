// The Piscina pool end to end (it runs the compiled worker from dist/: `npm test` builds it first): an utterance
// becomes a valid 16 kHz WAV, TTS audio becomes padded 8 kHz mu-law frames, input buffers are transferred (detached
// here) rather than copied, and bad input is refused before dispatch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulawEncode, resampleWhole } from '../../src/audio/dsp.js';
import { DEFAULT_DSP_THREADS, DspPool } from '../../src/audio/pool.js';

const tone = (hz: number, rateHz: number, n: number): Int16Array =>
  new Int16Array(n).map((_, i) => Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rateHz)));

let pool: DspPool;
beforeAll(() => {
  pool = new DspPool({ threads: 1 });
});
afterAll(async () => {
  await pool.destroy();
});

describe('DspPool', () => {
  it('turns an 8 kHz utterance into a valid 16 kHz mono 16-bit WAV, transferring the input', async () => {
    const pcm = tone(440, 8000, 8000);
    const expected = resampleWhole(pcm, 8000, 16000);
    const wav = await pool.utteranceToWav16k(pcm);
    expect(pcm.length).toBe(0); // the buffer moved to the worker
    const v = new DataView(wav.buffer, wav.byteOffset, wav.byteLength);
    const ascii = (o: number): string => String.fromCharCode(...wav.subarray(o, o + 4));
    expect(ascii(0)).toBe('RIFF');
    expect(v.getUint32(4, true)).toBe(wav.length - 8);
    expect(ascii(8)).toBe('WAVE');
    expect(ascii(12)).toBe('fmt ');
    expect(v.getUint32(16, true)).toBe(16);
    expect(v.getUint16(20, true)).toBe(1); // PCM
    expect(v.getUint16(22, true)).toBe(1); // mono
    expect(v.getUint32(24, true)).toBe(16000);
    expect(v.getUint32(28, true)).toBe(32000);
    expect(v.getUint16(32, true)).toBe(2);
    expect(v.getUint16(34, true)).toBe(16);
    expect(ascii(36)).toBe('data');
    expect(v.getUint32(40, true)).toBe(16000 * 2);
    expect(wav.length).toBe(44 + 32000);
    const data = new Int16Array(wav.slice(44).buffer);
    expect(Array.from(data)).toEqual(Array.from(expected));
  });

  it('copies instead of detaching when the array is a window into a larger buffer', async () => {
    const big = tone(440, 8000, 1000);
    const window = big.subarray(100, 900);
    const wav = await pool.utteranceToWav16k(window);
    expect(big.length).toBe(1000);
    expect(wav.length).toBe(44 + 1600 * 2);
  });

  it('turns 24 kHz TTS audio into 8 kHz mu-law frames padded with 0xFF to a multiple of 160', async () => {
    const pcm = tone(1000, 24000, 1000); // -> 334 samples at 8 kHz -> 3 frames
    const expected = mulawEncode(resampleWhole(pcm, 24000, 8000));
    const frames = await pool.pcmToMulawFrames(pcm, 24000);
    expect(frames.length).toBe(480);
    expect(Array.from(frames.subarray(0, 334))).toEqual(Array.from(expected));
    expect(frames.subarray(334).every((c) => c === 0xff)).toBe(true);
  });

  it('encodes 8 kHz PCM without resampling, and empty input to no frames', async () => {
    const pcm = tone(1000, 8000, 320);
    const expected = mulawEncode(pcm);
    expect(Array.from(await pool.pcmToMulawFrames(pcm, 8000))).toEqual(Array.from(expected));
    expect((await pool.pcmToMulawFrames(new Int16Array(0), 16000)).length).toBe(0);
  });

  it('refuses bad input before dispatching', async () => {
    await expect(pool.pcmToMulawFrames(new Int16Array(10), 44100 as 8000)).rejects.toThrow(
      new RangeError('rateHz must be one of 8000, 16000, 24000, 48000 (got 44100)'));
    await expect(pool.utteranceToWav16k(new Uint8Array(10) as unknown as Int16Array)).rejects.toThrow(
      new TypeError('pcm8k must be an Int16Array (got Uint8Array)'));
    await expect(pool.pcmToMulawFrames(new Uint8Array(10) as unknown as Int16Array, 8000)).rejects.toThrow(
      new TypeError('pcm must be an Int16Array (got Uint8Array)'));
  });

  it('checks its size option and defaults to leaving a core for the edge', () => {
    expect(() => new DspPool({ threads: 0 })).toThrow(new RangeError('threads must be an integer from 1 to 256 (got 0)'));
    expect(() => new DspPool({ threads: 1.5 })).toThrow(new RangeError('threads must be an integer from 1 to 256 (got 1.5)'));
    expect(DEFAULT_DSP_THREADS).toBeGreaterThanOrEqual(1);
  });
});
