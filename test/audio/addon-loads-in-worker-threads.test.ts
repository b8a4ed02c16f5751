// The addon is context-aware: it loads in worker threads (each gets its own instance, filter cache included),
// side by side with the main thread, and survives threads being terminated and started again.
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { mulawEncode, resampleWhole } from '../../src/audio/dsp.js';

const addonPath = fileURLToPath(new URL('../../build/Release/ai_crmd_dsp.node', import.meta.url));

// Plain CommonJS in the worker: the raw addon, no TypeScript needed.
const workerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const addon = require(workerData.addonPath);
const pcm = new Int16Array(480).map((_, i) => Math.round(8000 * Math.sin(i / 7)));
const codes = new Uint8Array(480);
addon.mulawEncodeInto(pcm, codes);
const r = new addon.Resampler(24000, 8000);
const a = r.process(pcm);
const b = r.flush();
const batcher = new addon.InboundBatcher(2, 2);
batcher.allocSlot(new Float64Array([8000, 100, 700, 8, -45, 3, 24, -50, 1500]));
batcher.codes.set(codes.subarray(0, 160));
batcher.process(1);
parentPort.postMessage({ codes, resampled: [...a, ...b], delay: r.delaySamples, pcm0: batcher.pcm.slice(0, 160) });
`;

const runWorker = (): Promise<{ codes: Uint8Array; resampled: number[]; delay: number; pcm0: Int16Array }> =>
  new Promise((resolve, reject) => {
    const w = new Worker(workerSource, { eval: true, workerData: { addonPath } });
    w.once('message', (m) => {
      resolve(m);
      void w.terminate();
    });
    w.once('error', reject);
  });

describe('the addon in worker threads', () => {
  it('loads in two workers at once and computes what the main thread computes', async () => {
    const pcm = new Int16Array(480).map((_, i) => Math.round(8000 * Math.sin(i / 7)));
    const [a, b] = await Promise.all([runWorker(), runWorker()]);
    for (const res of [a, b]) {
      expect(Array.from(res.codes)).toEqual(Array.from(mulawEncode(pcm)));
      const aligned = resampleWhole(pcm, 24000, 8000);
      expect(res.resampled.slice(res.delay)).toEqual(Array.from(aligned));
      expect(res.pcm0.length).toBe(160);
    }
  });

  it('loads again after its threads were terminated', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await runWorker();
      expect(res.codes.length).toBe(480);
    }
  });
});
