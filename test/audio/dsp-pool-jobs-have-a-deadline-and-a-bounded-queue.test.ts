// A stuck DSP pool fails its jobs instead of stalling them: with a worker that never answers (a wedged thread), a job
// rejects with DspJobError 'timeout' at the pool's deadline (queue wait included), a job beyond the queue bound is
// refused at once with 'queue-full', and a job whose caller aborts (the turn's signal) rejects with 'aborted'. Runs
// the real Piscina pool with the stalled worker from test/fakes (the real worker's jobs take milliseconds).
import { afterEach, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { DspJobError, DspPool } from '../../src/audio/pool.js';

const STALLED_WORKER = fileURLToPath(new URL('../fakes/stalled-dsp-worker.mjs', import.meta.url));
const pools: DspPool[] = [];

function stalledPool(options: { jobTimeoutMs: number; maxQueue: number; maxPendingBytes?: number }): DspPool {
  const pool = new DspPool({ threads: 1, workerFilename: STALLED_WORKER, ...options });
  pools.push(pool);
  return pool;
}

/** What a job settled with, and after how long. */
async function settle(job: Promise<unknown>, startedAtMs: number): Promise<{ error: unknown; afterMs: number }> {
  try {
    await job;
    return { error: undefined, afterMs: performance.now() - startedAtMs };
  } catch (error) {
    return { error, afterMs: performance.now() - startedAtMs };
  }
}

afterEach(async () => {
  await Promise.all(pools.splice(0).map((pool) => pool.destroy()));
});

describe('DspPool jobs', () => {
  it('a job the worker never answers rejects with a timeout at the pool deadline', async () => {
    const pool = stalledPool({ jobTimeoutMs: 300, maxQueue: 4 });
    const startedAtMs = performance.now();
    const { error, afterMs } = await settle(pool.utteranceToWav16k(new Int16Array(8000)), startedAtMs);
    expect(error).toBeInstanceOf(DspJobError);
    expect(error).toMatchObject({ kind: 'timeout', job: 'utteranceToWav16k' });
    expect((error as Error).message).toMatch(/no result within 300 ms/);
    expect(afterMs).toBeGreaterThanOrEqual(290);
    expect(afterMs).toBeLessThan(1500); // a loose upper bound: the 60 s stall would be far beyond it
  });

  it('refuses a job beyond the queue bound at once, and times out the queued one too', async () => {
    const pool = stalledPool({ jobTimeoutMs: 400, maxQueue: 1 });
    await pool.pcmToMulawFrames(new Int16Array(0), 8000); // the thread is up
    const startedAtMs = performance.now();
    const running = settle(pool.pcmToMulawFrames(new Int16Array(2400), 24000), startedAtMs);
    const queued = settle(pool.pcmToMulawFrames(new Int16Array(2400), 24000), startedAtMs);
    expect(pool.queued).toBe(1);
    const refused = await settle(pool.pcmToMulawFrames(new Int16Array(2400), 24000), startedAtMs);
    expect(refused.error).toBeInstanceOf(DspJobError);
    expect(refused.error).toMatchObject({ kind: 'queue-full', job: 'pcmToMulawFrames' });
    expect(refused.afterMs).toBeLessThan(200);
    for (const result of [await running, await queued]) {
      expect(result.error).toMatchObject({ kind: 'timeout' });
      expect(result.afterMs).toBeGreaterThanOrEqual(390);
      expect(result.afterMs).toBeLessThan(2000);
    }
    expect(pool.queued).toBe(0);
  });

  it('refuses a job whose audio would pass the bytes the pool may hold, takes one that fits, and frees the bytes when jobs end', async () => {
    const pool = stalledPool({ jobTimeoutMs: 400, maxQueue: 100, maxPendingBytes: 48_000 });
    await pool.pcmToMulawFrames(new Int16Array(0), 8000);
    const startedAtMs = performance.now();
    const first = settle(pool.utteranceToWav16k(new Int16Array(16_000)), startedAtMs); // 32,000 bytes
    const fits = settle(pool.utteranceToWav16k(new Int16Array(8_000)), startedAtMs); // 16,000: exactly at the bound
    expect(pool.pendingBytes).toBe(48_000);
    const refused = await settle(pool.utteranceToWav16k(new Int16Array(1)), startedAtMs);
    expect(refused.error).toMatchObject({ kind: 'queue-full', job: 'utteranceToWav16k' });
    expect((refused.error as Error).message).toMatch(/its 2 bytes would pass the 48000 bytes the pool may hold \(48000 held\)/);
    for (const result of [await first, await fits]) expect(result.error).toMatchObject({ kind: 'timeout' });
    expect(pool.pendingBytes).toBe(0);
    // an empty pool takes a job larger than the bound (one long turn is never refused for its size alone)
    const large = await settle(pool.utteranceToWav16k(new Int16Array(40_000)), performance.now());
    expect(large.error).toMatchObject({ kind: 'timeout' });
  });

  it('by default queues a burst of 100 jobs behind a busy thread (the turns of calls that end together)', async () => {
    const pool = new DspPool({ threads: 1 });
    pools.push(pool);
    const jobs = Array.from({ length: 100 }, () => pool.utteranceToWav16k(new Int16Array(8000 * 2)));
    const wavs = await Promise.all(jobs);
    expect(wavs.every((wav) => wav.byteLength === 44 + 16000 * 2 * 2)).toBe(true);
  });

  it("a job whose caller's signal aborts rejects with 'aborted' and the reason as its cause", async () => {
    const pool = stalledPool({ jobTimeoutMs: 10_000, maxQueue: 4 });
    const controller = new AbortController();
    const reason = new Error('barge-in');
    const startedAtMs = performance.now();
    const job = settle(pool.utteranceToWav16k(new Int16Array(8000), controller.signal), startedAtMs);
    setTimeout(() => controller.abort(reason), 100);
    const { error, afterMs } = await job;
    expect(error).toMatchObject({ kind: 'aborted' });
    expect((error as Error).cause).toBe(reason);
    expect(afterMs).toBeLessThan(1500);
    // already aborted: not even dispatched
    await expect(pool.utteranceToWav16k(new Int16Array(10), controller.signal)).rejects.toMatchObject({ kind: 'aborted' });
  });

  it('checks its deadline and queue options', () => {
    expect(() => new DspPool({ threads: 1, jobTimeoutMs: 0 })).toThrow(new RangeError('jobTimeoutMs must be an integer from 1 to 600000 (got 0)'));
    expect(() => new DspPool({ threads: 1, maxQueue: 0 })).toThrow(new RangeError('maxQueue must be an integer from 1 to 1000000 (got 0)'));
    expect(() => new DspPool({ threads: 1, maxPendingBytes: 0.5 })).toThrow(RangeError);
  });
});
