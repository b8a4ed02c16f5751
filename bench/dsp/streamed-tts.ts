/**
 * What streamed TTS conversion costs, against the whole-sentence pool job it replaces for providers that stream
 * (issue 16, streamed TTS). The same 24 kHz speech (the English reference call, upsampled), cut into 3 s sentences:
 *   - streamed, in the calling thread: MulawFrameStream.push per piece (pieces of 20, 100 and 400 ms) + end();
 *   - whole, in the DSP pool: one pcmToMulawFrames job per sentence (Piscina, 1 worker, one job in flight at a time,
 *     as one call's sentences go), with the calling thread's share of it (dispatch, transfer, result) apart;
 *   - whole, inline: the pool job's own work (resampleWhole + encode) in the calling thread, for reference.
 * Figures are CPU per call-second of audio (1 s of synthesized speech), medians of several repetitions, and for the
 * pool the wall time a sentence waits for its frames (what a whole sentence adds to first audio beside synthesis).
 *
 *   npm run build && node dist/bench/dsp/streamed-tts.js [--quick] [--no-write]
 */
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { MulawFrameStream } from '../../src/audio/mulaw-frame-stream.js';
import { mulawDecode, mulawEncodeInto, resampleWhole } from '../../src/audio/dsp.js';
import { DspPool } from '../../src/audio/pool.js';
import { fixture, REPO_ROOT } from './report.js';
import { machineInfo, markdownTable, textTable, writeSection } from './results-md.js';
import { consume, median } from './timing.js';

const args = new Set(process.argv.slice(2));
const isQuick = args.has('--quick');
const REPS = isQuick ? 3 : 9;
const SENTENCE_S = 3;
const RATE_HZ = 24_000;

const speech24k = resampleWhole(mulawDecode(new Uint8Array(fixture('conv-en.8k.ul'))), 8000, RATE_HZ);
const sentences: Int16Array[] = [];
for (let at = 0; at + SENTENCE_S * RATE_HZ <= speech24k.length; at += SENTENCE_S * RATE_HZ) {
  sentences.push(speech24k.slice(at, at + SENTENCE_S * RATE_HZ));
}
/** Each measured run converts every sentence this many times (about 2 minutes of audio). */
const PASSES = isQuick ? 2 : 10;
const audioSeconds = sentences.length * SENTENCE_S * PASSES;

/** CPU of this process (every thread) and of the calling thread's event loop alone, in us, over `fn`. */
async function measure(fn: () => Promise<void> | void): Promise<{ processUs: number; threadUs: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const elu = performance.eventLoopUtilization();
  const start = performance.now();
  await fn();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const loop = performance.eventLoopUtilization(elu);
  return { processUs: used.user + used.system, threadUs: loop.active * 1000, wallMs };
}

function streamed(pieceMs: number): void {
  const pieceSamples = (RATE_HZ * pieceMs) / 1000;
  const stream = new MulawFrameStream(RATE_HZ);
  for (let pass = 0; pass < PASSES; pass++) for (const sentence of sentences) {
    for (let at = 0; at < sentence.length; at += pieceSamples) consume(stream.push(sentence.subarray(at, at + pieceSamples)).length);
    consume(stream.end().length);
  }
}

function inlineWhole(): void {
  for (let pass = 0; pass < PASSES; pass++) for (const sentence of sentences) {
    const pcm8k = resampleWhole(sentence, RATE_HZ, 8000);
    const out = new Uint8Array(Math.ceil(pcm8k.length / 160) * 160);
    mulawEncodeInto(pcm8k, out);
    consume(out.length);
  }
}

async function main(): Promise<void> {
  const machine = machineInfo(REPO_ROOT);
  console.log(`streamed TTS conversion on ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, ${machine.commit}; ${sentences.length} sentences of ${SENTENCE_S} s, ${PASSES} passes per run`);
  const pool = new DspPool({ threads: 1, jobTimeoutMs: 10_000 });
  const jobWaitsMs: number[] = [];
  const poolWhole = async (): Promise<void> => {
    for (let pass = 0; pass < PASSES; pass++) for (const sentence of sentences) {
      const start = performance.now();
      consume((await pool.pcmToMulawFrames(sentence.slice(), RATE_HZ)).length);
      jobWaitsMs.push(performance.now() - start);
    }
  };
  // warm-up: JIT, the pool's thread and its addon
  for (let i = 0; i < 2; i++) {
    streamed(100);
    inlineWhole();
    await poolWhole();
  }
  jobWaitsMs.length = 0;
  const cases: Array<{ name: string; where: string; run: () => Promise<void> | void; isPool?: boolean }> = [
    { name: 'streamed, 20 ms pieces', where: 'calling thread', run: () => streamed(20) },
    { name: 'streamed, 100 ms pieces', where: 'calling thread', run: () => streamed(100) },
    { name: 'streamed, 400 ms pieces', where: 'calling thread', run: () => streamed(400) },
    { name: 'whole sentence, pool job', where: 'pool (1 worker)', run: poolWhole, isPool: true },
    { name: 'whole sentence, inline (reference)', where: 'calling thread', run: inlineWhole },
  ];
  const rows: string[][] = [];
  for (const c of cases) {
    const process: number[] = [];
    const thread: number[] = [];
    for (let r = 0; r < REPS; r++) {
      const m = await measure(c.run);
      process.push(m.processUs / audioSeconds);
      thread.push(c.isPool === true ? m.threadUs / audioSeconds : m.processUs / audioSeconds);
    }
    rows.push([c.name, c.where, median(process).toFixed(0), median(thread).toFixed(0),
      c.isPool === true ? `${median(jobWaitsMs).toFixed(1)} ms per 3 s sentence` : '-']);
  }
  await pool.destroy();
  const header = ['Case', 'Runs in', 'CPU us / call-second (all threads)', 'calling thread us / call-second', 'Wait for frames'];
  const align: ('l' | 'r')[] = ['l', 'l', 'r', 'r', 'r'];
  console.log(textTable(header, rows, align));
  if (args.has('--no-write')) return;
  const body = [
    '## Streamed TTS conversion vs the whole-sentence pool job (bench/dsp/streamed-tts.ts)',
    '',
    `\`node dist/bench/dsp/streamed-tts.js\` on ${machine.cpuModel} (${machine.cores} cores), node ${machine.node}, ${machine.date}, ${machine.commit}. `
      + `${sentences.length} sentences of ${SENTENCE_S} s of 24 kHz speech (conv-en upsampled), ${PASSES} times per run, to 8 kHz mu-law frames; medians of ${REPS} runs; load average ${os.loadavg()[0]!.toFixed(1)} at the end (other work shared the machine). `
      + 'CPU per call-second = per second of synthesized audio. For the pool, "all threads" includes the worker; the calling thread\'s share '
      + 'is its event loop\'s active time (dispatch, transfer, the result) and is an upper bound (it includes the loop\'s own bookkeeping).',
    '',
    markdownTable(header, rows, align),
  ].join('\n');
  writeSection(`${REPO_ROOT}/bench/RESULTS.md`, 'streamed-tts', body);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
