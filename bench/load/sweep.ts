/**
 * The load coordinator: plans each step (N calls, their connect instants, phases and starting points in the
 * conversation), hands the calls to the generator worker threads, samples the server's CPU and RSS from /proc over the
 * same window, merges what the workers measured, and sweeps N upward until the pacing bound breaks or anything is lost.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import { loadConversation, CONVERSATION_KINDS, type ConversationKind, type LoadConversation } from './conversation.js';
import { MEDIA_SUBPROTOCOL } from '../../src/twilio/media-format.js';
import { processCpuMs, processRssBytes, threadCpuByName, machineCpuMs } from './procstat.js';
import { startServer, type RunningServer, type ServerKind } from './servers.js';
import { addFrameAccounts, newFrameAccount, type FrameAccount, type StepCall, type StepPlan, type ToWorker, type FromWorker, type WorkerResult } from './protocol.js';

export interface StepOptions {
  /** What the callers say: `listening` (default: silent while the echo plays) or `talk-over` (they speak over it). */
  conversation?: ConversationKind;
  host?: string;
  path?: string;
  protocol?: string;
  /** Calls opened per second during the ramp-up (default 500). */
  rampCallsPerS?: number;
  /** Quiet time between the last connection and the measurement window (default 1500 ms). */
  settleMs?: number;
  /** Measurement window (default 15000 ms). */
  windowMs?: number;
  pacingSkipFrames?: number;
  handshakeTimeoutMs?: number;
}

export interface StepResult {
  server: string;
  conversation: ConversationKind;
  n: number;
  windowMs: number;
  rampMs: number;
  callsOpened: number;
  handshakeFailed: number;
  handshakeFailReasons: Record<string, number>;
  subprotocolMissing: number;
  callsDropped: number;
  protocolErrors: number;
  badPayloads: number;
  mediaSent: number;
  mediaReceived: number;
  marksReceived: number;
  clearsReceived: number;
  pacingP50Ms: number;
  pacingP99Ms: number;
  pacingMaxMs: number;
  pacingSamples: number;
  audibleGaps: number;
  echoDelayP50Ms: number;
  echoDelayP99Ms: number;
  echoDelaySamples: number;
  playbacksCompleted: number;
  /** Most common frame count of each utterance's echo in this step. */
  expectedFramesPerUtterance: number[];
  framesLost: number;
  framesDuplicated: number;
  contentCheckedPlaybacks: number;
  contentUnmatchedFrames: number;
  unexpectedPlaybacks: number;
  interruptedPlaybacks: number;
  /** Every frame of the window's playbacks against the engine's turns and the energy rule. */
  frames: FrameAccount;
  serverCpuPct: number;
  serverCpuMsPerCallSecond: number;
  serverRssMb: number;
  serverRssBeforeMb: number;
  memoryPerCallKb: number;
  serverThreadsCpuMs: Record<string, number>;
  generatorCpuPct: number;
  generatorThreadCpuPct: number[];
  generatorElu: number[];
  generatorSendLagP99Ms: number;
  /** CPU used on the machine by anything other than the server and the generator, % of one core. */
  otherCpuPct: number;
  /** Whole machine busy, % of all cores. */
  machineBusyPct: number;
  /** How many times this N was run (a step that breaks is rerun once, to tell a transient from a limit). */
  attempts: number;
  isGeneratorBound: boolean;
  held: boolean;
  failures: string[];
}

export interface Bound { pacingP99Ms: number }

/**
 * The first inter-arrivals of every playback are not counted, for every server alike: ours sends a lead of
 * PLAYOUT_LEAD_FRAMES (default 3) frames at once by design (Twilio buffers them, so `clear` still acts within ~60 ms).
 */
export const DEFAULT_PACING_SKIP_FRAMES = 3;

function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
const nowAbs = (): number => performance.timeOrigin + performance.now();

/** A pool of generator threads, reused across steps. */
export class LoadGenerator {
  private workers: Worker[] = [];

  static async create(threads: number): Promise<LoadGenerator> {
    const gen = new LoadGenerator();
    await Promise.all(Array.from({ length: threads }, (_, index) => new Promise<void>((resolve, reject) => {
      const w = new Worker(new URL('./worker.js', import.meta.url), { workerData: { index } });
      w.once('error', reject);
      w.once('message', (m: FromWorker) => (m.type === 'ready' ? resolve() : reject(new Error(JSON.stringify(m)))));
      gen.workers.push(w);
    })));
    return gen;
  }

  get threads(): number { return this.workers.length; }

  run(plans: StepPlan[]): Promise<WorkerResult[]> {
    return Promise.all(plans.map((plan, i) => new Promise<WorkerResult>((resolve, reject) => {
      const w = this.workers[i]!;
      const onMessage = (m: FromWorker): void => {
        w.off('message', onMessage);
        if (m.type === 'result') resolve(m.result);
        else reject(new Error(m.type === 'error' ? m.message : 'unexpected message from a generator thread'));
      };
      w.on('message', onMessage);
      w.postMessage({ type: 'run', plan } satisfies ToWorker);
    })));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => { w.postMessage({ type: 'exit' } satisfies ToWorker); return w.terminate(); }));
    this.workers = [];
  }
}

const conversations = new Map<ConversationKind, LoadConversation>(CONVERSATION_KINDS.map((k) => [k, loadConversation({ kind: k })]));

export async function runStep(gen: LoadGenerator, server: { name: string; pid: number; port: number }, n: number,
                              opts: StepOptions = {}): Promise<StepResult> {
  const conversation = opts.conversation ?? 'listening';
  const conv = conversations.get(conversation)!;
  const rampMs = Math.max(500, Math.round((n / (opts.rampCallsPerS ?? 500)) * 1000));
  const settleMs = opts.settleMs ?? 1500;
  const windowMs = opts.windowMs ?? 15_000;
  const begin = nowAbs() + 200;
  const windowStartAbs = begin + rampMs + settleMs;
  const windowEndAbs = windowStartAbs + windowMs;
  const golden = 0.6180339887498949;
  const calls: StepCall[][] = Array.from({ length: gen.threads }, () => []);
  for (let i = 0; i < n; i++) {
    calls[i % gen.threads]!.push({
      index: i,
      phaseMs: (i * 7) % 20,
      startFrame: conv.startFrames[Math.floor(((i * golden) % 1) * conv.startFrames.length)]!,
      connectAtAbs: begin + (i * rampMs) / n,
    });
  }
  const plans: StepPlan[] = calls.map((c) => ({
    conversation,
    host: opts.host ?? '127.0.0.1',
    port: server.port,
    path: opts.path ?? '/ws/twilio-media',
    protocol: opts.protocol ?? MEDIA_SUBPROTOCOL,
    calls: c,
    gridBaseAbs: Math.floor(begin / 20) * 20,
    windowStartAbs,
    windowEndAbs,
    pacingSkipFrames: opts.pacingSkipFrames ?? DEFAULT_PACING_SKIP_FRAMES,
    handshakeTimeoutMs: opts.handshakeTimeoutMs ?? 10_000,
  }));

  const rssBefore = processRssBytes(server.pid);
  const results = gen.run(plans);
  // Sample the server and this process over the same window as the workers.
  await sleep(Math.max(0, windowStartAbs - nowAbs()));
  const cpu0 = processCpuMs(server.pid);
  const threads0 = threadCpuByName(server.pid);
  const gen0 = process.cpuUsage();
  const machine0 = machineCpuMs();
  const t0 = nowAbs();
  let rssPeak = 0;
  while (nowAbs() < windowEndAbs) {
    rssPeak = Math.max(rssPeak, processRssBytes(server.pid) || 0);
    await sleep(Math.min(1000, Math.max(0, windowEndAbs - nowAbs())));
  }
  const cpu1 = processCpuMs(server.pid);
  const threads1 = threadCpuByName(server.pid);
  const genUsage = process.cpuUsage(gen0);
  const machine1 = machineCpuMs();
  const measuredMs = nowAbs() - t0;
  rssPeak = Math.max(rssPeak, processRssBytes(server.pid) || 0);
  const workerResults = await results;

  return summarize(server.name, conv, n, rampMs, measuredMs, workerResults, {
    serverCpuMs: cpu1 - cpu0,
    rssBefore,
    rssPeak,
    threads: Object.fromEntries(Object.entries(threads1).map(([k, v]) => [k, v - (threads0[k] ?? 0)])),
    generatorCpuMs: (genUsage.user + genUsage.system) / 1000,
    machineBusyMs: machine1.busyMs - machine0.busyMs,
    machineTotalMs: machine1.totalMs - machine0.totalMs,
  });
}

function summarize(name: string, conv: LoadConversation, n: number, rampMs: number, windowMs: number, rs: WorkerResult[],
                   s: { serverCpuMs: number; rssBefore: number; rssPeak: number; threads: Record<string, number>; generatorCpuMs: number;
                       machineBusyMs: number; machineTotalMs: number }): StepResult {
  const sum = (f: (r: WorkerResult) => number): number => rs.reduce((a, r) => a + f(r), 0);
  const merge = (f: (r: WorkerResult) => Histogram): Histogram => {
    const h = f(rs[0]!);
    for (const r of rs.slice(1)) h.merge(f(r));
    return h;
  };
  const pacing = merge((r) => Histogram.fromData(r.pacing));
  const echo = merge((r) => Histogram.fromData(r.echoDelay));
  const lag = merge((r) => Histogram.fromData(r.sendLag));
  const reasons: Record<string, number> = {};
  for (const r of rs) for (const [k, v] of Object.entries(r.handshakeFailReasons)) reasons[k] = (reasons[k] ?? 0) + v;

  // Lost / duplicated frames: every echo of the same utterance should carry the same number of frames (the input is
  // identical each loop); frames missing from, or added to, the most common count are lost or duplicated. The content
  // check (each echoed payload mapped back to the caller's frame) catches skips and repeats inside a playback too.
  const expected: number[] = [];
  let lostByCount = 0;
  let dupByCount = 0;
  let completed = 0;
  conv.utterances.forEach((_, u) => {
    const counts: Record<string, number> = {};
    for (const r of rs) for (const [k, v] of Object.entries(r.perUtterance[u]?.frameCounts ?? {})) counts[k] = (counts[k] ?? 0) + v;
    let mode = 0;
    let best = -1;
    for (const [k, v] of Object.entries(counts)) if (v > best) { best = v; mode = Number(k); }
    expected.push(mode);
    for (const [k, v] of Object.entries(counts)) {
      const c = Number(k);
      completed += v;
      if (c < mode) lostByCount += (mode - c) * v;
      else if (c > mode) dupByCount += (c - mode) * v;
    }
  });
  const contentLost = sum((r) => r.contentLost);
  const contentDup = sum((r) => r.contentDuplicated);

  const genThreadCpuPct = rs.map((r) => (r.threadCpuMs / r.windowMs) * 100);
  const genElu = rs.map((r) => r.eventLoopUtilization);
  const result: StepResult = {
    server: name,
    conversation: conv.kind,
    n,
    windowMs: Math.round(windowMs),
    rampMs,
    callsOpened: sum((r) => r.callsOpened),
    handshakeFailed: sum((r) => r.handshakeFailed),
    handshakeFailReasons: reasons,
    subprotocolMissing: sum((r) => r.subprotocolMissing),
    callsDropped: sum((r) => r.callsDropped),
    protocolErrors: sum((r) => r.protocolErrors),
    badPayloads: sum((r) => r.badPayloads),
    mediaSent: sum((r) => r.mediaSent),
    mediaReceived: sum((r) => r.mediaReceived),
    marksReceived: sum((r) => r.marksReceived),
    clearsReceived: sum((r) => r.clearsReceived),
    pacingP50Ms: pacing.quantileMs(0.5),
    pacingP99Ms: pacing.quantileMs(0.99),
    pacingMaxMs: pacing.quantileMs(1),
    pacingSamples: pacing.count,
    audibleGaps: sum((r) => r.audibleGaps),
    echoDelayP50Ms: echo.quantileMs(0.5),
    echoDelayP99Ms: echo.quantileMs(0.99),
    echoDelaySamples: echo.count,
    playbacksCompleted: completed,
    expectedFramesPerUtterance: expected,
    framesLost: Math.max(lostByCount, contentLost),
    framesDuplicated: Math.max(dupByCount, contentDup),
    contentCheckedPlaybacks: sum((r) => r.contentCheckedPlaybacks),
    contentUnmatchedFrames: sum((r) => r.contentUnmatchedFrames),
    unexpectedPlaybacks: sum((r) => r.unexpectedPlaybacks),
    interruptedPlaybacks: sum((r) => r.interruptedPlaybacks),
    frames: rs.reduce((acc, r) => addFrameAccounts(acc, r.frames), newFrameAccount()),
    serverCpuPct: (s.serverCpuMs / windowMs) * 100,
    serverCpuMsPerCallSecond: s.serverCpuMs / (n * (windowMs / 1000)),
    serverRssMb: s.rssPeak / 2 ** 20,
    serverRssBeforeMb: s.rssBefore / 2 ** 20,
    memoryPerCallKb: ((s.rssPeak - s.rssBefore) / n) / 1024,
    serverThreadsCpuMs: s.threads,
    generatorCpuPct: (s.generatorCpuMs / windowMs) * 100,
    generatorThreadCpuPct: genThreadCpuPct,
    generatorElu: genElu,
    generatorSendLagP99Ms: lag.quantileMs(0.99),
    otherCpuPct: Math.max(0, ((s.machineBusyMs - s.serverCpuMs - s.generatorCpuMs) / windowMs) * 100),
    machineBusyPct: (s.machineBusyMs / s.machineTotalMs) * 100,
    attempts: 1,
    isGeneratorBound: false,
    held: false,
    failures: [],
  };
  result.isGeneratorBound = genElu.some((e) => e > 0.9) || result.generatorSendLagP99Ms > 5;
  return result;
}

/** Whether a step held the bound, with every reason it did not. */
export function judge(r: StepResult, bound: Bound): StepResult {
  const f: string[] = [];
  if (!(r.pacingP99Ms <= bound.pacingP99Ms)) f.push(`p99 pacing ${r.pacingP99Ms.toFixed(2)} ms > ${bound.pacingP99Ms} ms`);
  if (r.framesLost > 0) f.push(`${r.framesLost} frames lost`);
  if (r.framesDuplicated > 0) f.push(`${r.framesDuplicated} frames duplicated`);
  if (r.handshakeFailed > 0) f.push(`${r.handshakeFailed} handshakes failed`);
  if (r.callsDropped > 0) f.push(`${r.callsDropped} calls dropped`);
  if (r.badPayloads > 0) f.push(`${r.badPayloads} bad payloads`);
  if (r.pacingSamples === 0) f.push('no playback measured');
  r.failures = f;
  r.held = f.length === 0;
  return r;
}

export interface SweepOptions extends StepOptions {
  ns: number[];
  bound?: Bound;
  /** Stop when the whole sweep for this server has taken this long (default 300 s). */
  budgetMs?: number;
  /** A step that breaks is rerun this many times before it counts as broken (default 1): the machine is shared. */
  retries?: number;
  onStep?: (r: StepResult) => void;
}

export interface SweepResult {
  server: string;
  steps: StepResult[];
  largestHeldN: number;
  stoppedBecause: string;
}

/**
 * Waits (bounded) until the machine is nearly idle before a step: on a shared machine, another process's burst
 * would otherwise be measured as the server's jitter. Returns the busy % of the last second sampled.
 */
export async function waitForQuiet(maxWaitMs = 20_000, busyPct = 15): Promise<number> {
  const deadline = Date.now() + maxWaitMs;
  let pct = 100;
  while (Date.now() < deadline) {
    const a = machineCpuMs();
    await sleep(1000);
    const b = machineCpuMs();
    pct = ((b.busyMs - a.busyMs) / Math.max(1, b.totalMs - a.totalMs)) * 100;
    if (pct < busyPct) break;
  }
  return pct;
}

/** Runs the steps in order against one running server, stopping at the first that does not hold. */
export async function sweep(gen: LoadGenerator, server: { name: string; pid: number; port: number },
                            opts: SweepOptions): Promise<SweepResult> {
  const bound = opts.bound ?? { pacingP99Ms: 5 };
  const started = Date.now();
  const steps: StepResult[] = [];
  let largestHeldN = 0;
  let stoppedBecause = 'all steps held';
  for (const n of opts.ns) {
    await waitForQuiet();
    let r = judge(await runStep(gen, server, n, opts), bound);
    for (let attempt = 2; !r.held && attempt <= 1 + (opts.retries ?? 1); attempt++) {
      opts.onStep?.(r);
      await sleep(1000);
      await waitForQuiet();
      const again = judge(await runStep(gen, server, n, opts), bound);
      again.attempts = attempt;
      r = again;
    }
    steps.push(r);
    opts.onStep?.(r);
    if (!r.held) { stoppedBecause = `N=${n}: ${r.failures.join('; ')}`; break; }
    largestHeldN = n;
    if (Date.now() - started > (opts.budgetMs ?? 300_000)) { stoppedBecause = 'time budget spent'; break; }
    await sleep(1000);   // let the server close the last step's calls
  }
  return { server: server.name, steps, largestHeldN, stoppedBecause };
}

/** Starts a server, sweeps it, stops it. */
export async function sweepServer(gen: LoadGenerator, kind: ServerKind, name: string, port: number,
                                  env: Record<string, string>, opts: SweepOptions): Promise<SweepResult> {
  const server: RunningServer = await startServer(kind, { port, env });
  try {
    return await sweep(gen, { name, pid: server.pid, port }, opts);
  } finally {
    await server.stop();
  }
}
