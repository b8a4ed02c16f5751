// The VAD's frame level (native/vad.h LevelDbfs) sums a frame's squares with an AVX2 kernel where the CPU has it and a
// portable loop otherwise. The sum is an exact integer either way, so the two must give the same level bit for bit,
// including the frames whose pairs of squares reach 2^31 (two samples of -32768) and the samples past the last whole
// 16-sample step.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/audio/native-addon.js';

const FRAMES = 64;
const SAMPLES_PER_FRAME = 163; // ten 16-sample steps and a tail of 3

/** Frames that reach every hard case: full scale both ways, one loud sample anywhere, noise, silence. */
function testPcm(): Int16Array {
  const pcm = new Int16Array(FRAMES * SAMPLES_PER_FRAME);
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed;
  };
  for (let f = 0; f < FRAMES; f++) {
    const frame = pcm.subarray(f * SAMPLES_PER_FRAME, (f + 1) * SAMPLES_PER_FRAME);
    if (f === 0) frame.fill(-32768);
    else if (f === 1) frame.forEach((_, i) => (frame[i] = i % 2 === 0 ? -32768 : 32767));
    else if (f === 2) frame.fill(0);
    else if (f < 40) frame[(f * 5) % SAMPLES_PER_FRAME] = f % 2 === 0 ? -32768 : 32767; // one loud sample
    else frame.forEach((_, i) => (frame[i] = (random() % 65536) - 32768));
  }
  return pcm;
}

function levels(): Float32Array {
  const out = new Float32Array(FRAMES);
  addon.frameLevelsInto(testPcm(), SAMPLES_PER_FRAME, out);
  return out;
}

describe('the frame level', () => {
  it('is exact at the extremes: full scale is 0 dBFS, silence the floor, one loud sample its share', () => {
    const out = levels();
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(10 * Math.log10((82 * 32768 ** 2 + 81 * 32767 ** 2) / SAMPLES_PER_FRAME / 32768 ** 2), 5);
    expect(out[2]).toBe(-100); // kMinLevelDbfs, the level of digital silence
    for (let f = 3; f < 40; f++) {
      const peak = f % 2 === 0 ? 32768 : 32767;
      expect(out[f], `frame ${f}`).toBeCloseTo(10 * Math.log10(peak ** 2 / SAMPLES_PER_FRAME / 32768 ** 2), 5);
    }
  });

  it('is the same, bit for bit, from the portable kernel (forced with AI_CRMD_LEVEL_KERNEL=scalar)', () => {
    // The kernel is chosen once per process when the addon loads, so the forced run is a child process.
    const addonPath = fileURLToPath(new URL('../../build/Release/ai_crmd_dsp.node', import.meta.url));
    const script = `
      const addon = require(${JSON.stringify(addonPath)});
      const pcm = new Int16Array(Buffer.from(process.argv[1], 'base64').buffer.slice(0));
      const out = new Float32Array(${FRAMES});
      addon.frameLevelsInto(pcm, ${SAMPLES_PER_FRAME}, out);
      process.stdout.write(JSON.stringify({ kernel: addon.levelKernel, levels: Buffer.from(out.buffer).toString('base64') }));`;
    const pcm = testPcm();
    const child = spawnSync(process.execPath, ['-e', script, Buffer.from(pcm.buffer).toString('base64')], {
      env: { ...process.env, AI_CRMD_LEVEL_KERNEL: 'scalar' },
      encoding: 'utf8',
    });
    expect(child.stderr).toBe('');
    const result = JSON.parse(child.stdout) as { kernel: string; levels: string };
    expect(result.kernel).toBe('scalar');
    expect(Buffer.from(result.levels, 'base64').equals(Buffer.from(levels().buffer))).toBe(true);
  });

  it('is summed by the AVX2 kernel on x86-64 Linux CPUs that have AVX2, by the portable one otherwise', () => {
    if (process.env['AI_CRMD_LEVEL_KERNEL'] === 'scalar') {
      expect(addon.levelKernel).toBe('scalar');
    } else if (process.platform === 'linux' && process.arch === 'x64') {
      const hasAvx2 = /^flags\s*:.*\bavx2\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
      expect(addon.levelKernel).toBe(hasAvx2 ? 'avx2' : 'scalar');
    } else {
      expect(['avx2', 'scalar']).toContain(addon.levelKernel);
    }
  });
});
