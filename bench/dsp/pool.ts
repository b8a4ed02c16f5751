/**
 * What a crossing into a pool thread costs: a batch decode (mu-law frames -> PCM + per-frame dBFS) as a job of the
 * production DSP pool (DecodeBatchPool in decode-pool.ts: DspPool with this one job added) with 1, 50 and 500 frames
 * per task, against the same work inline on the calling thread (native, and plain JS). CPU is process.cpuUsage() across the whole process (every thread), per frame; wall time per frame too.
 * A few tasks stay in flight so the worker is kept busy; each task's bytes are a fresh copy (the input is transferred).
 */

import { frameLevelsDbfs, mulawDecodeInto } from '../../src/audio/dsp.js';
import { SAMPLES_PER_FRAME } from '../../src/twilio/media-format.js';
import { DecodeBatchPool } from './decode-pool.js';
import { jsMulawDecodeInto } from './js-mulaw.js';
import { fixture, fmtNs, fmtRate, fmtRatio, type SectionResult } from './report.js';
import { consume, measureCpuWall, median, nowNs, type CpuWallSample } from './timing.js';

const IN_FLIGHT = 8;
const POOL_THREADS = 1;   // as in DESIGN.md's figures: one worker, the main thread submitting

interface Case { label: string; framesPerTask: number; totalFrames: number; isPool: boolean; run: (source: Uint8Array) => Promise<number> }

function jsLevelsInto(pcm: Int16Array, out: Float32Array): void {
  for (let f = 0; f < out.length; f++) {
    let sum = 0;
    for (let i = f * SAMPLES_PER_FRAME, end = i + SAMPLES_PER_FRAME; i < end; i++) sum += pcm[i]! * pcm[i]!;
    out[f] = sum === 0 ? -100 : Math.max(-100, 10 * Math.log10(sum / SAMPLES_PER_FRAME / (32768 * 32768)));
  }
}

/** Sends `totalFrames` through the pool in tasks of `framesPerTask`, keeping IN_FLIGHT tasks outstanding. */
function poolRun(pool: DecodeBatchPool, source: Uint8Array, framesPerTask: number, totalFrames: number, latenciesNs: number[]): Promise<number> {
  const taskBytes = framesPerTask * SAMPLES_PER_FRAME;
  const sourceTasks = Math.floor(source.length / taskBytes);
  return new Promise((resolve, reject) => {
    let submitted = 0;
    let done = 0;
    let inFlight = 0;
    const submit = (): void => {
      while (inFlight < IN_FLIGHT && submitted < totalFrames) {
        const off = ((submitted / framesPerTask) % sourceTasks) * taskBytes;
        const codes = source.slice(off, off + taskBytes);   // a fresh buffer: decodeBatch may transfer it
        submitted += framesPerTask;
        inFlight++;
        const t0 = nowNs();
        pool.decodeBatch(codes).then((r) => {
          latenciesNs.push(nowNs() - t0);
          consume(r.levelsDbfs.length + r.pcm.length);
          inFlight--;
          done += framesPerTask;
          if (done >= totalFrames) resolve(done);
          else submit();
        }, reject);
      }
    };
    submit();
  });
}

function inlineRun(source: Uint8Array, framesPerCall: number, totalFrames: number, work: (codes: Uint8Array) => number): Promise<number> {
  const callBytes = framesPerCall * SAMPLES_PER_FRAME;
  const sourceCalls = Math.floor(source.length / callBytes);
  let acc = 0;
  for (let done = 0, k = 0; done < totalFrames; done += framesPerCall, k = (k + 1) % sourceCalls) {
    acc += work(source.subarray(k * callBytes, (k + 1) * callBytes));
  }
  consume(acc);
  return Promise.resolve(totalFrames);
}

/** The worker's decodeBatch job (decode-worker.ts), run inline: one result buffer, levels then PCM. */
const inlineNative = (codes: Uint8Array): number => {
  const frames = codes.length / SAMPLES_PER_FRAME;
  const out = new ArrayBuffer(frames * 4 + codes.length * 2);
  const pcm = new Int16Array(out, frames * 4, codes.length);
  mulawDecodeInto(codes, pcm);
  const levels = new Float32Array(out, 0, frames);
  levels.set(frameLevelsDbfs(pcm, SAMPLES_PER_FRAME));
  return levels.length + pcm[0]!;
};

/** The same job in plain JS, same output shape. */
const inlineJs = (codes: Uint8Array): number => {
  const frames = codes.length / SAMPLES_PER_FRAME;
  const out = new ArrayBuffer(frames * 4 + codes.length * 2);
  const pcm = new Int16Array(out, frames * 4, codes.length);
  jsMulawDecodeInto(codes, pcm);
  const levels = new Float32Array(out, 0, frames);
  jsLevelsInto(pcm, levels);
  return levels.length + pcm[0]!;
};

export async function benchPool(isQuick: boolean): Promise<SectionResult> {
  const source = new Uint8Array(fixture('conv-en.8k.ul').subarray(0, 500 * SAMPLES_PER_FRAME));
  const scale = isQuick ? 0.2 : 1;
  const pool = new DecodeBatchPool({ threads: POOL_THREADS });
  const latencies = new Map<string, number[]>();
  const cases: Case[] = [];
  for (const [framesPerTask, totalFrames] of [[1, 15_000], [50, 150_000], [500, 300_000]] as const) {
    const label = `DecodeBatchPool.decodeBatch (a DspPool job), ${framesPerTask} frame${framesPerTask === 1 ? '' : 's'} per task`;
    const lat: number[] = [];
    latencies.set(label, lat);
    cases.push({ label, framesPerTask, totalFrames: Math.round(totalFrames * scale), isPool: true, run: (s) => poolRun(pool, s, framesPerTask, Math.round(totalFrames * scale), lat) });
  }
  cases.push(
    { label: 'inline native (the worker\'s decodeBatch job), 1 frame per call', framesPerTask: 1, totalFrames: 200_000, isPool: false, run: (s) => inlineRun(s, 1, Math.round(200_000 * scale), inlineNative) },
    { label: 'inline native, 500 frames per call', framesPerTask: 500, totalFrames: 1_000_000, isPool: false, run: (s) => inlineRun(s, 500, Math.round(1_000_000 * scale), inlineNative) },
    { label: 'inline plain JS (table decode + levels), 1 frame per call', framesPerTask: 1, totalFrames: 200_000, isPool: false, run: (s) => inlineRun(s, 1, Math.round(200_000 * scale), inlineJs) },
  );

  try {
    // Warm-up: start the worker and let both sides' code get optimised.
    await poolRun(pool, source, 50, 5_000, []);
    await poolRun(pool, source, 1, 500, []);
    await inlineRun(source, 1, 20_000, inlineNative);
    await inlineRun(source, 1, 20_000, inlineJs);

    const results: { c: Case; sample: CpuWallSample }[] = [];
    for (const c of cases) {
      const samples: CpuWallSample[] = [];
      for (let rep = 0; rep < 3; rep++) samples.push(await measureCpuWall(() => c.run(source)));
      results.push({
        c,
        sample: { cpuNsPerFrame: median(samples.map((s) => s.cpuNsPerFrame)), wallNsPerFrame: median(samples.map((s) => s.wallNsPerFrame)) },
      });
    }
    // The cheapest way to do this work: inline, native, many frames per call.
    const bestInlineCpu = results.find((r) => r.c.label.startsWith('inline native') && r.c.framesPerTask === 500)!.sample.cpuNsPerFrame;
    const rows = results.map(({ c, sample }) => {
      const lat = latencies.get(c.label);
      return [
        c.label,
        fmtNs(sample.cpuNsPerFrame),
        fmtNs(sample.wallNsPerFrame),
        fmtRate(sample.wallNsPerFrame),
        fmtRatio(sample.cpuNsPerFrame / bestInlineCpu),
        lat && lat.length > 0 ? fmtNs(median(lat)) : '',
      ];
    });
    return {
      title: `Pool round trip vs inline (Piscina, ${POOL_THREADS} worker thread, ${IN_FLIGHT} tasks in flight)`,
      table: {
        header: ['Case', 'CPU / frame (all threads)', 'wall / frame', 'frames/s', 'CPU vs inline native 500/call', 'task round trip (median)'],
        align: ['l', 'r', 'r', 'r', 'r', 'r'],
        rows,
      },
      targets: [],
      notes: [
        'CPU is process.cpuUsage() (user + system of every thread in the process) over the whole case, divided by the frames; 3 repetitions, median.',
        'Each inline call (like each pool task) allocates its result buffer, as the worker job does; at 1 frame per call that allocation, not the decode, is most of the cost.',
        'The round trip includes queueing behind the other tasks in flight. No target: this shows why the hot path never uses a pool task per frame.',
      ],
    };
  } finally {
    await pool.destroy();
  }
}
