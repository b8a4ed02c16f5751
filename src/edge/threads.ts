// Edge threads: EDGE_THREADS worker_threads each run the same uWS App on the same port (uWS listens with SO_REUSEPORT
// on Linux, so the kernel spreads connections across them), and a call lives on the thread that accepted it. The main
// thread supervises: it restarts a thread that dies (counting restarts), keeps each thread's latest counters (threads
// push them on every call start/end and once a second) and answers a thread's /version with the sums, and runs the
// drain: `drain` makes every thread refuse new upgrades (503) while live calls go on; `shutdown` makes each thread close
// its listen socket (Node aborts if a thread exits with one open) and its sockets, then exit. For /metrics, each thread
// also ships its prom-client snapshot (histograms, labelled counters) once a second and with a metrics collect; the
// supervisor hands every thread's snapshot back (a dead thread's are kept, merged) and the asking thread renders them.
// Every totals the supervisor serves for /metrics is also sent to the other threads, and each thread keeps the last
// one it got: when the supervisor does not answer a collect in time (its event loop stalled), /metrics shows those
// last served totals, with their ages, instead of this thread's figures alone (which would read as counter resets and
// a drop in edge_threads_ready). This thread's own figures are shown as of then too, not fresh: a later scrape that
// lands on another thread could only show them as of then, and a counter must never read lower than it did.
// EDGE_THREADS=0 runs the same App in the main thread instead (one event loop; handy for tests and tiny hosts).
// This file is also the worker's entry: loaded in a worker with our workerData, it runs one edge thread.
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { SessionFactory } from '../call/types.js';
import type { Config } from '../config.js';
import { ErrorKind, LogEvent, log, setLogLevel } from '../observability/log.js';
import { attachEngineMetrics, mergeSnapshots, threadMetricsSnapshot, type MetricsSnapshot } from '../observability/metrics.js';
import { MemoryStreamTokenLedger, RemoteStreamTokenLedger } from './stream-token-ledger.js';
import {
  createEdgeApp,
  createEdgeThreadStats,
  type CallStats,
  type EdgeApp,
  type EdgeCoordinator,
  type EdgeThreadStats,
  type EdgeTotals,
} from './app.js';

/** Young generation per edge thread (bench/load: 6 MB keeps mark-compacts at 1,000 calls rare). */
const EDGE_YOUNG_GENERATION_MB = 6;

/** What a session module exports: main passes its URL to every thread, and each thread builds its own factory. */
export interface EdgeSessionModule {
  createSessionFactory(context: SessionFactoryContext): SessionFactory | Promise<SessionFactory>;
}
export interface SessionFactoryContext {
  config: Config;
  /** 0..EDGE_THREADS-1 (0 as well when the edge runs in the main thread). */
  threadIndex: number;
}

const EDGE_THREAD_KIND = 'ai-crmd-edge-thread';
/** How often a thread pushes its counters to the supervisor (it also pushes on every call start/end). */
export const STATS_PUSH_INTERVAL_MS = 1_000;
/** How long a thread waits for the supervisor's totals before answering with the last totals it was given. */
export const COLLECT_TIMEOUT_MS = 1_000;
/** How long the supervisor waits for threads to exit after `shutdown` before terminating them. */
export const THREAD_EXIT_TIMEOUT_MS = 3_000;
const RESTART_BACKOFF_MIN_MS = 100;
const RESTART_BACKOFF_MAX_MS = 5_000;
/** A thread that lived this long before dying restarts after the minimum backoff again. */
const STABLE_THREAD_MS = 10_000;

interface EdgeWorkerData {
  kind: typeof EDGE_THREAD_KIND;
  threadIndex: number;
  config: Config;
  sessionModuleUrl: string;
  isDraining: boolean;
  areTestHooksOn: boolean;
}

/** Messages from an edge thread to the supervisor. */
export type ThreadToMainMessage =
  | { type: 'ready'; threadIndex: number; port: number }
  | { type: 'listen-failed'; threadIndex: number; reason: string }
  | { type: 'stats'; threadIndex: number; takenAtMs: number; stats: EdgeThreadStats; callStats: CallStats; metrics?: MetricsSnapshot }
  | {
    type: 'collect'; threadIndex: number; requestId: number; takenAtMs: number; stats: EdgeThreadStats; callStats: CallStats;
    metrics?: MetricsSnapshot;
  }
  | { type: 'closed'; threadIndex: number }
  /** Has this stream token been used by any stream of this process? (one stream per token) */
  | { type: 'consume-stream-token'; threadIndex: number; requestId: number; tokenKey: string; expiresAtMs: number }
  /** Test hook (EDGE_TEST_HOOKS=1): block the supervisor's event loop for `ms`. */
  | { type: 'test-stall'; threadIndex: number; ms: number };

/** Messages from the supervisor to an edge thread. */
export type MainToThreadMessage =
  | { type: 'totals'; requestId: number; totals: EdgeTotals }
  /** Totals served to another thread's /metrics (or, to a new thread, the last ones served): the fallback to show. */
  | { type: 'served-totals'; totals: EdgeTotals }
  | { type: 'test-stall-started' }
  | { type: 'stream-token-consumed'; requestId: number; isFirstUse: boolean }
  | { type: 'drain' }
  | { type: 'shutdown' };

/** What main.ts drives, whether the edge runs in worker threads or in the main thread. */
export interface EdgeRunner {
  /** Starts listening; rejects when the port cannot be bound. Resolves with the port. */
  start(): Promise<number>;
  /** Active calls summed over every thread (as last reported). */
  activeCalls(): number;
  /** Refuse new calls from now on; live calls go on. */
  startDraining(): void;
  /** Close every listen socket and socket, and wait for the threads to end. */
  shutdown(): Promise<void>;
}

export interface EdgeRunnerOptions {
  config: Config;
  /** URL (file:) of a module implementing EdgeSessionModule. */
  sessionModuleUrl: string;
  areTestHooksOn?: boolean;
}

export function sumStats(into: EdgeThreadStats, add: EdgeThreadStats): void {
  for (const key of Object.keys(into) as Array<keyof EdgeThreadStats>) into[key] += add[key] ?? 0;
}

export function sumCallStats(into: CallStats, add: CallStats): void {
  for (const [key, value] of Object.entries(add)) into[key] = (into[key] ?? 0) + value;
}

/**
 * The call engine's per-thread counters, when its factory exposes them: the engine's createSessionFactory returns a
 * factory carrying `registry.stats()` (src/call/registry.ts); a factory may also carry `stats()` itself.
 */
function callStatsReader(factory: SessionFactory): (() => object) | undefined {
  const carrier = factory as SessionFactory & { stats?: unknown; registry?: { stats?: unknown } };
  const registry = carrier.registry;
  if (registry && typeof registry.stats === 'function') return () => (registry.stats as () => object).call(registry);
  if (typeof carrier.stats === 'function') return () => (carrier.stats as () => object)();
  return undefined;
}

async function loadSessionFactory(url: string, context: SessionFactoryContext): Promise<SessionFactory> {
  const mod = (await import(url)) as Partial<EdgeSessionModule>;
  if (typeof mod.createSessionFactory !== 'function') {
    throw new TypeError(`session module ${url} must export createSessionFactory(context)`);
  }
  return await mod.createSessionFactory(context);
}

// ---------------------------------------------------------------- main thread: the supervisor

interface ThreadSlot {
  index: number;
  worker: Worker | null;
  isReady: boolean;
  stats: EdgeThreadStats | null;
  callStats: CallStats | null;
  metrics: MetricsSnapshot | null;
  /** When the thread took the figures last received (0 = none yet); kept after it dies, until its successor reports. */
  takenAtMs: number;
  startedAtMs: number;
  backoffMs: number;
}

/** Runs EDGE_THREADS worker threads and supervises them. */
export class EdgeThreadSupervisor implements EdgeRunner {
  private readonly slots: ThreadSlot[] = [];
  private readonly retired = createEdgeThreadStats();
  private readonly retiredCallStats: CallStats = {};
  private retiredMetrics: MetricsSnapshot | null = null;
  /** The last totals served for /metrics: what a thread shows when the supervisor does not answer in time. */
  private lastServedMetricsTotals: EdgeTotals | null = null;
  /** Every stream token used by any edge thread of this process (one stream per token). */
  private readonly streamTokens = new MemoryStreamTokenLedger();
  private restarts = 0;
  private isDraining = false;
  private isShuttingDown = false;
  private port = 0;

  constructor(private readonly options: EdgeRunnerOptions) {
    for (let index = 0; index < options.config.edgeThreads; index++) {
      this.slots.push({
        index, worker: null, isReady: false, stats: null, callStats: null, metrics: null, takenAtMs: 0, startedAtMs: 0,
        backoffMs: RESTART_BACKOFF_MIN_MS,
      });
    }
  }

  start(): Promise<number> {
    return new Promise((resolve, reject) => {
      let pending = this.slots.length;
      let hasFailed = false;
      for (const slot of this.slots) {
        this.spawn(slot, (error, port) => {
          if (hasFailed) return;
          if (error) {
            hasFailed = true;
            reject(error);
            return;
          }
          this.port = port;
          if (--pending === 0) resolve(this.port);
        });
      }
    });
  }

  activeCalls(): number {
    let sum = 0;
    for (const slot of this.slots) sum += slot.stats?.activeCalls ?? 0;
    return sum;
  }

  /** Sums over every thread; with `withMetrics`, also every thread's metrics snapshot (dead threads' merged). */
  totals(withMetrics = false): EdgeTotals {
    const stats = createEdgeThreadStats();
    sumStats(stats, this.retired);
    for (const slot of this.slots) if (slot.stats) sumStats(stats, slot.stats);
    const callStats: CallStats = {};
    sumCallStats(callStats, this.retiredCallStats);
    for (const slot of this.slots) if (slot.callStats) sumCallStats(callStats, slot.callStats);
    const statsTakenAtMs: Record<string, number> = {};
    for (const slot of this.slots) if (slot.takenAtMs > 0) statsTakenAtMs[slot.index] = slot.takenAtMs;
    const totals: EdgeTotals = {
      stats,
      callStats,
      edgeThreads: this.slots.length,
      // listening right now, as the threads told us ('ready' after listen; 'closed' or exit after)
      edgeThreadsReady: this.slots.filter((slot) => slot.isReady).length,
      edgeThreadRestarts: this.restarts,
      statsTakenAtMs,
    };
    if (withMetrics) {
      const snapshots: MetricsSnapshot[] = this.retiredMetrics ? [this.retiredMetrics] : [];
      for (const slot of this.slots) if (slot.metrics) snapshots.push(slot.metrics);
      totals.metricSnapshots = snapshots;
    }
    return totals;
  }

  startDraining(): void {
    this.isDraining = true;
    this.broadcast({ type: 'drain' });
  }

  async shutdown(): Promise<void> {
    this.isShuttingDown = true;
    const exits: Array<Promise<void>> = [];
    for (const slot of this.slots) {
      const worker = slot.worker;
      if (worker === null) continue;
      exits.push(
        new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            log.warn({ event: LogEvent.EDGE_THREAD_EXIT, errKind: ErrorKind.THREAD, threadIndex: slot.index }, 'edge thread did not exit in time; terminating');
            void worker.terminate();
          }, THREAD_EXIT_TIMEOUT_MS);
          worker.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
        }),
      );
      worker.postMessage({ type: 'shutdown' } satisfies MainToThreadMessage);
    }
    await Promise.all(exits);
  }

  private broadcast(message: MainToThreadMessage): void {
    for (const slot of this.slots) slot.worker?.postMessage(message);
  }

  private spawn(slot: ThreadSlot, onFirstReady?: (error: Error | null, port: number) => void): void {
    const { config } = this.options;
    const data: EdgeWorkerData = {
      kind: EDGE_THREAD_KIND,
      threadIndex: slot.index,
      config,
      sessionModuleUrl: this.options.sessionModuleUrl,
      isDraining: this.isDraining,
      areTestHooksOn: this.options.areTestHooksOn ?? false,
    };
    const worker = new Worker(new URL(import.meta.url), {
      workerData: data,
      stdout: false,
      stderr: false,
      // A ~2 MB semi-space: the hot path makes almost no garbage, so without it scavenges become rare while per-turn
      // buffers pile up and V8 falls back to mark-compacts (5-10 ms pauses that make every call's frames late at once).
      resourceLimits: { maxYoungGenerationSizeMb: EDGE_YOUNG_GENERATION_MB },
    });
    slot.worker = worker;
    slot.isReady = false;
    slot.stats = null;
    slot.callStats = null;
    slot.metrics = null;
    slot.startedAtMs = Date.now();
    let isFirstReadyPending = onFirstReady !== undefined;
    // A restarted thread must not fall back to its own (new, near zero) figures if its first collect times out.
    if (this.lastServedMetricsTotals) worker.postMessage({ type: 'served-totals', totals: this.lastServedMetricsTotals } satisfies MainToThreadMessage);

    worker.on('message', (message: ThreadToMainMessage) => {
      switch (message.type) {
        case 'ready':
          slot.isReady = true;
          log.info({ event: LogEvent.EDGE_THREAD_START, threadIndex: slot.index, port: message.port }, 'edge thread listening');
          if (isFirstReadyPending) {
            isFirstReadyPending = false;
            onFirstReady?.(null, message.port);
          }
          return;
        case 'listen-failed':
          log.error({ event: LogEvent.EDGE_THREAD_EXIT, errKind: ErrorKind.THREAD, threadIndex: slot.index, reason: message.reason }, 'edge thread could not listen');
          if (isFirstReadyPending) {
            isFirstReadyPending = false;
            onFirstReady?.(new Error(message.reason), 0);
          }
          return;
        case 'stats':
          slot.stats = message.stats;
          slot.callStats = message.callStats;
          slot.takenAtMs = message.takenAtMs;
          if (message.metrics) slot.metrics = message.metrics;
          return;
        case 'collect': {
          slot.stats = message.stats;
          slot.callStats = message.callStats;
          slot.takenAtMs = message.takenAtMs;
          if (message.metrics) slot.metrics = message.metrics;
          const totals = this.totals(message.metrics !== undefined);
          worker.postMessage({ type: 'totals', requestId: message.requestId, totals } satisfies MainToThreadMessage);
          if (message.metrics) {
            // Once per scrape: every thread then holds what the scraper has seen, and never shows it less.
            this.lastServedMetricsTotals = totals;
            for (const other of this.slots) {
              if (other !== slot) other.worker?.postMessage({ type: 'served-totals', totals } satisfies MainToThreadMessage);
            }
          }
          return;
        }
        case 'test-stall': {
          if (!this.options.areTestHooksOn) return;
          worker.postMessage({ type: 'test-stall-started' } satisfies MainToThreadMessage);
          const untilMs = Date.now() + message.ms;
          while (Date.now() < untilMs) {
            // busy: this is the stall (a synchronous hog in the main thread, as a blocked stdout write would be)
          }
          return;
        }
        case 'closed':
          slot.isReady = false;
          return;
        case 'consume-stream-token': {
          const isFirstUse = this.streamTokens.consumeNow(message.tokenKey, message.expiresAtMs);
          worker.postMessage({ type: 'stream-token-consumed', requestId: message.requestId, isFirstUse } satisfies MainToThreadMessage);
          return;
        }
      }
    });
    worker.on('error', (error) => {
      log.error({ event: LogEvent.EDGE_THREAD_EXIT, errKind: ErrorKind.THREAD, threadIndex: slot.index, err: error }, 'edge thread error');
    });
    worker.on('exit', (code) => {
      if (slot.worker !== worker) return;
      slot.worker = null;
      slot.isReady = false;
      if (slot.stats) {
        // Keep what the dead thread counted (not its live calls, which died with it).
        const last = { ...slot.stats, activeCalls: 0 };
        sumStats(this.retired, last);
        slot.stats = null;
      }
      if (slot.callStats) {
        sumCallStats(this.retiredCallStats, { ...slot.callStats, activeCalls: 0 });
        slot.callStats = null;
      }
      if (slot.metrics) {
        // histograms and counters only (no gauges in thread snapshots), so they add up
        this.retiredMetrics = mergeSnapshots([this.retiredMetrics, slot.metrics]);
        slot.metrics = null;
      }
      if (isFirstReadyPending) {
        isFirstReadyPending = false;
        onFirstReady?.(new Error(`edge thread ${slot.index} exited with code ${code} before listening`), 0);
        return;
      }
      if (this.isShuttingDown) return;
      const livedMs = Date.now() - slot.startedAtMs;
      slot.backoffMs = livedMs >= STABLE_THREAD_MS ? RESTART_BACKOFF_MIN_MS : Math.min(RESTART_BACKOFF_MAX_MS, slot.backoffMs * 2);
      const delayMs = livedMs >= STABLE_THREAD_MS ? RESTART_BACKOFF_MIN_MS : slot.backoffMs;
      log.error({ event: LogEvent.EDGE_THREAD_EXIT, errKind: ErrorKind.THREAD, threadIndex: slot.index, code, livedMs, restartInMs: delayMs }, 'edge thread died; restarting');
      setTimeout(() => {
        if (this.isShuttingDown) return;
        this.restarts++;
        log.warn({ event: LogEvent.EDGE_THREAD_RESTART, threadIndex: slot.index, restarts: this.restarts }, 'restarting edge thread');
        this.spawn(slot);
      }, delayMs);
    });
  }
}

// ---------------------------------------------------------------- EDGE_THREADS=0: the App in the main thread

/** Runs the App in the calling thread; same interface as the supervisor. */
export class MainThreadEdgeRunner implements EdgeRunner {
  private edge: EdgeApp | null = null;

  constructor(private readonly options: EdgeRunnerOptions) {}

  async start(): Promise<number> {
    const { config } = this.options;
    const sessionFactory = await loadSessionFactory(this.options.sessionModuleUrl, { config, threadIndex: 0 });
    const callStats = callStatsReader(sessionFactory);
    attachEngineMetrics(sessionFactory);
    this.edge = createEdgeApp({
      config, sessionFactory, threadIndex: 0, areTestHooksOn: this.options.areTestHooksOn ?? false,
      ...(callStats ? { callStats } : {}),
    });
    const port = await this.edge.listen(config.host, config.port);
    log.info({ event: LogEvent.EDGE_THREAD_START, threadIndex: 0, port, mainThread: true }, 'edge listening in the main thread');
    return port;
  }

  activeCalls(): number {
    return this.edge?.stats.activeCalls ?? 0;
  }

  startDraining(): void {
    this.edge?.startDraining();
  }

  shutdown(): Promise<void> {
    this.edge?.shutdown();
    return Promise.resolve();
  }

  /** Closes the listen socket now (for fatal errors in the main thread). */
  closeListenSocket(): void {
    this.edge?.closeListenSocket();
  }
}

export function createEdgeRunner(options: EdgeRunnerOptions): EdgeRunner {
  return options.config.edgeThreads === 0 ? new MainThreadEdgeRunner(options) : new EdgeThreadSupervisor(options);
}

// ---------------------------------------------------------------- inside a worker: one edge thread

async function runEdgeThread(data: EdgeWorkerData, port: NonNullable<typeof parentPort>): Promise<void> {
  const { config, threadIndex } = data;
  setLogLevel(config.logLevel);
  const post = (message: ThreadToMainMessage): void => port.postMessage(message);
  let edge: EdgeApp | null = null;

  const dieFrom = (error: unknown, origin: string): void => {
    log.fatal({ event: LogEvent.EDGE_THREAD_EXIT, errKind: ErrorKind.INTERNAL, threadIndex, origin, err: error }, 'edge thread crashed');
    // Close the listen socket (and the calls) before the thread ends: Node aborts otherwise.
    try {
      edge?.shutdown();
    } finally {
      process.exit(1);
    }
  };
  process.on('uncaughtException', (error) => dieFrom(error, 'uncaughtException'));
  process.on('unhandledRejection', (reason) => dieFrom(reason, 'unhandledRejection'));

  const pendingCollects = new Map<number, { resolve: (totals: EdgeTotals) => void; timer: NodeJS.Timeout }>();
  let nextRequestId = 1;
  /** The newest totals the supervisor served for /metrics (to any thread): shown when a collect times out. */
  let lastServedTotals: EdgeTotals | null = null;
  let onStallStarted: (() => void) | null = null;
  const coordinator: EdgeCoordinator = {
    collectTotals(localStats, localCallStats, localMetrics) {
      return new Promise((resolve) => {
        const requestId = nextRequestId++;
        const takenAtMs = Date.now();
        const timer = setTimeout(() => {
          pendingCollects.delete(requestId);
          // Only before any totals were ever served (no scrape can have seen more): this thread's figures alone.
          resolve(lastServedTotals ?? {
            stats: { ...localStats }, callStats: { ...localCallStats }, edgeThreads: config.edgeThreads, edgeThreadsReady: 1,
            edgeThreadRestarts: 0, statsTakenAtMs: { [threadIndex]: takenAtMs }, ...(localMetrics ? { metricSnapshots: [localMetrics] } : {}),
          });
        }, COLLECT_TIMEOUT_MS);
        pendingCollects.set(requestId, { resolve, timer });
        post({
          type: 'collect', threadIndex, requestId, takenAtMs, stats: { ...localStats }, callStats: { ...localCallStats },
          ...(localMetrics ? { metrics: localMetrics } : {}),
        });
      });
    },
    ...(data.areTestHooksOn
      ? {
        stallSupervisorForTest: (ms: number) =>
          new Promise<void>((resolve) => {
            onStallStarted = resolve;
            post({ type: 'test-stall', threadIndex, ms });
          }),
      }
      : {}),
  };

  let isPushScheduled = false;
  const pushStats = (): void => {
    isPushScheduled = false;
    if (edge) post({ type: 'stats', threadIndex, takenAtMs: Date.now(), stats: { ...edge.stats }, callStats: edge.readCallStats() });
  };
  const schedulePush = (): void => {
    if (isPushScheduled) return;
    isPushScheduled = true;
    setImmediate(pushStats);
  };
  // Once a second: the counters and this thread's metrics snapshot (histograms), for /metrics asked on other threads.
  let isShuttingDown = false;
  const pushStatsAndMetrics = (): void => {
    threadMetricsSnapshot().then(
      (metrics) => {
        if (edge && !isShuttingDown) {
          post({ type: 'stats', threadIndex, takenAtMs: Date.now(), stats: { ...edge.stats }, callStats: edge.readCallStats(), metrics });
        }
      },
      () => pushStats(),
    );
  };

  // The process's used stream tokens live in the main thread, so that a replay is caught on whichever thread it lands.
  const streamTokenLedger = new RemoteStreamTokenLedger(({ requestId, tokenKey, expiresAtMs }) =>
    post({ type: 'consume-stream-token', threadIndex, requestId, tokenKey, expiresAtMs }));
  const sessionFactory = await loadSessionFactory(data.sessionModuleUrl, { config, threadIndex });
  const callStats = callStatsReader(sessionFactory);
  attachEngineMetrics(sessionFactory);
  edge = createEdgeApp({
    config, sessionFactory, coordinator, threadIndex, onActiveCallsChanged: schedulePush, areTestHooksOn: data.areTestHooksOn,
    streamTokenLedger,
    ...(callStats ? { callStats } : {}),
  });
  if (data.isDraining) edge.startDraining();
  let boundPort: number;
  try {
    boundPort = await edge.listen(config.host, config.port);
  } catch (error) {
    post({ type: 'listen-failed', threadIndex, reason: (error as Error).message });
    process.exit(1);
  }
  const statsTimer = setInterval(pushStatsAndMetrics, STATS_PUSH_INTERVAL_MS);
  post({ type: 'ready', threadIndex, port: boundPort });
  pushStats();

  port.on('message', (message: MainToThreadMessage) => {
    switch (message.type) {
      case 'totals': {
        // Kept even when its collect already timed out: it is newer than what this thread holds.
        if (message.totals.metricSnapshots) lastServedTotals = message.totals;
        const pending = pendingCollects.get(message.requestId);
        if (!pending) return;
        pendingCollects.delete(message.requestId);
        clearTimeout(pending.timer);
        pending.resolve(message.totals);
        return;
      }
      case 'served-totals':
        lastServedTotals = message.totals;
        return;
      case 'stream-token-consumed':
        streamTokenLedger.onAnswer(message.requestId, message.isFirstUse);
        return;
      case 'test-stall-started':
        onStallStarted?.();
        onStallStarted = null;
        return;
      case 'drain':
        edge?.startDraining();
        pushStats();
        return;
      case 'shutdown':
        isShuttingDown = true;
        clearInterval(statsTimer);
        edge?.shutdown();
        pushStats();
        post({ type: 'closed', threadIndex });
        // Give the close frames a moment to leave, then end the thread (its listen socket is already closed).
        setTimeout(() => process.exit(0), 50);
        return;
    }
  });
}

if (!isMainThread && parentPort !== null && (workerData as Partial<EdgeWorkerData> | null)?.kind === EDGE_THREAD_KIND) {
  const port = parentPort;
  runEdgeThread(workerData as EdgeWorkerData, port).catch((error: unknown) => {
    log.fatal({ event: LogEvent.EDGE_THREAD_EXIT, errKind: ErrorKind.INTERNAL, err: error }, 'edge thread failed to start');
    process.exit(1);
  });
}
