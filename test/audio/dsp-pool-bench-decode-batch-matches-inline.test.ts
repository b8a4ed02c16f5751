// The crossing benchmark's pool job (bench/dsp/decode-pool.ts: the production DspPool with a batch decode added, run
// from the compiled bench worker in dist/): what it measures is the real work, a batch decoded exactly like the
// inline API (mulawDecode + frameLevelsDbfs), and bad input is refused before dispatch like the production jobs'.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodeBatchPool } from '../../bench/dsp/decode-pool.js';
import { frameLevelsDbfs, mulawDecode, mulawEncode } from '../../src/audio/dsp.js';

const tone = (hz: number, rateHz: number, n: number): Int16Array =>
  new Int16Array(n).map((_, i) => Math.round(12000 * Math.sin((2 * Math.PI * hz * i) / rateHz)));

let pool: DecodeBatchPool;
beforeAll(() => {
  pool = new DecodeBatchPool({ threads: 1 });
});
afterAll(async () => {
  await pool.destroy();
});

describe('DecodeBatchPool (bench/dsp)', () => {
  it('decodes a batch like mulawDecode + frameLevelsDbfs', async () => {
    const codes = mulawEncode(tone(300, 8000, 1600));
    const expectedPcm = mulawDecode(codes);
    const { pcm, levelsDbfs } = await pool.decodeBatch(codes.slice());
    expect(Array.from(pcm)).toEqual(Array.from(expectedPcm));
    expect(Array.from(levelsDbfs)).toEqual(Array.from(frameLevelsDbfs(expectedPcm)));
  });

  it('refuses bad input before dispatching', async () => {
    await expect(pool.decodeBatch(new Uint8Array(100))).rejects.toThrow(new RangeError('codes length must be a multiple of 160 (got 100)'));
    await expect(pool.decodeBatch(new Int16Array(160) as unknown as Uint8Array)).rejects.toThrow(
      new TypeError('codes must be a Uint8Array (got Int16Array)'));
  });
});
