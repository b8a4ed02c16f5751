/**
 * How every case in bench/dsp is timed: warm up (which also calibrates), then several repetitions of a fixed
 * iteration count, and the median of the per-frame times. One "op" may cover many 20 ms frames (a bulk call or a
 * batch); results are always reported per 20 ms frame so that per-frame and bulk rows compare directly.
 */

/** Keeps the optimiser from discarding outputs: every op folds something of its result in here. */
export let sink = 0;
export function consume(value: number): void {
  sink = (sink + value) | 0;
}

export interface TimingOptions {
  warmupMs: number;   // run the op for at least this long before measuring
  repMs: number;      // target duration of one repetition
  reps: number;       // repetitions; the median is reported
}

export const DEFAULT_TIMING: TimingOptions = { warmupMs: 60, repMs: 120, reps: 7 };

export interface Timing {
  nsPerFrame: number;        // median over reps
  minNsPerFrame: number;
  maxNsPerFrame: number;
  itersPerRep: number;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Warm-up + calibration: doubles the batch until it is long enough to estimate the op's cost; returns iterations per rep. */
function calibrate(op: () => void, options: TimingOptions): number {
  let iters = 1;
  let spentNs = 0;
  let estimateNs = 0;
  const warmupNs = options.warmupMs * 1e6;
  while (spentNs < warmupNs) {
    const t0 = nowNs();
    for (let i = 0; i < iters; i++) op();
    const dt = nowNs() - t0;
    spentNs += dt;
    estimateNs = dt / iters;
    if (dt < 5e6) iters *= 2;
  }
  return Math.max(1, Math.round((options.repMs * 1e6) / Math.max(estimateNs, 1)));
}

function runRep(op: () => void, iters: number): number {
  const t0 = nowNs();
  for (let i = 0; i < iters; i++) op();
  return nowNs() - t0;
}

function summarise(perFrame: number[], itersPerRep: number): Timing {
  return { nsPerFrame: median(perFrame), minNsPerFrame: Math.min(...perFrame), maxNsPerFrame: Math.max(...perFrame), itersPerRep };
}

/** Times a synchronous op that processes `framesPerOp` 20 ms frames per call. */
export function timeSync(op: () => void, framesPerOp: number, options: TimingOptions = DEFAULT_TIMING): Timing {
  return timeGroup([{ op, framesPerOp }], options)[0]!;
}

export interface TimedOp { op: () => void; framesPerOp: number }

/**
 * Times several ops that are compared with each other, interleaving their repetitions (rep 1 of each, then rep 2 of
 * each, ...), so that a burst of load from elsewhere on a shared machine lands on all of them rather than on one.
 */
export function timeGroup(ops: readonly TimedOp[], options: TimingOptions = DEFAULT_TIMING): Timing[] {
  const iters = ops.map((o) => calibrate(o.op, options));
  const perFrame: number[][] = ops.map(() => []);
  for (let r = 0; r < options.reps; r++) {
    ops.forEach((o, k) => {
      perFrame[k]!.push(runRep(o.op, iters[k]!) / iters[k]! / o.framesPerOp);
    });
  }
  return ops.map((_, k) => summarise(perFrame[k]!, iters[k]!));
}

export interface CpuWallSample {
  cpuNsPerFrame: number;   // process.cpuUsage() (user + system, all threads) per frame
  wallNsPerFrame: number;
}

/** CPU of the whole process (all threads) and wall time around an async run. */
export async function measureCpuWall(run: () => Promise<number>): Promise<CpuWallSample> {
  const cpu0 = process.cpuUsage();
  const t0 = nowNs();
  const frames = await run();
  const wallNs = nowNs() - t0;
  const cpu = process.cpuUsage(cpu0);
  return {
    cpuNsPerFrame: ((cpu.user + cpu.system) * 1000) / frames,
    wallNsPerFrame: wallNs / frames,
  };
}

export { nowNs };
