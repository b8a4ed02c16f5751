// The main thread's side of the edge: EDGE_THREADS worker threads each run the same uWS App on the same port (uWS
// listens with SO_REUSEPORT on Linux, so the kernel spreads connections across them), and a call lives on the thread
// that accepted it. The supervisor restarts a thread that dies (counting restarts), keeps each thread's latest
// counters and answers a thread's /version and /metrics with the sums (a dead thread's counts are kept, merged), owns
// the process's stream-token ledger, and runs the drain: `drain` makes every thread refuse new upgrades (503) while
// live calls go on; `shutdown` makes each thread close its listen socket (Node aborts if a thread exits with one open)
// and its sockets, then exit. Every totals it serves for /metrics is also sent to the other threads, which show the
// last ones when a collect times out (src/edge/edge-thread.ts). EDGE_THREADS=0 runs the same App in the main thread
// instead (MainThreadEdgeRunner: one event loop; handy for tests and tiny hosts).
import { Worker } from 'node:worker_threads';
import type { CallEngine } from '../call/types.js';
import type { Config } from '../config.js';
import type { RecordingMessage } from '../recording/messages.js';
import { ErrorKind, LogEvent, log } from '../observability/log.js';
import { mergeSnapshots, type MetricsSnapshot } from '../observability/metrics.js';
import { createEdgeApp, createEdgeThreadStats, createLocalCoordinator, type CallStats, type EdgeApp, type EdgeThreadStats, type EdgeTotals } from './app.js';
import { loadCallEngine } from './call-engine-module.js';
import { sumCallStats, sumStats } from './stats-sum.js';
import type { CallCommand, CommandResult } from '../call/events.js';
import { ControlPlane, type ControlPlaneOptions } from '../control/plane.js';
import { outboundCallerFromConfig, withPlaceCall } from '../control/outbound.js';
import { voicemailOnMachine } from '../control/voicemail.js';
import { MemoryStreamTokenLedger } from './stream-token-ledger.js';
import { EDGE_THREAD_KIND, type EdgeWorkerData, type MainToThreadMessage, type ThreadToMainMessage } from './thread-protocol.js';

/** How long the supervisor waits for a thread to answer a routed command. */
const COMMAND_ANSWER_TIMEOUT_MS = 2_000;

/** The worker's entry: one edge thread. */
const EDGE_THREAD_ENTRY = new URL('./edge-thread.js', import.meta.url);

/** Young generation per edge thread (bench/load: 6 MB keeps mark-compacts at 1,000 calls rare). */
const EDGE_YOUNG_GENERATION_MB = 6;

/** How long the supervisor waits for threads to exit after `shutdown` before terminating them. */
export const THREAD_EXIT_TIMEOUT_MS = 3_000;
const RESTART_BACKOFF_MIN_MS = 100;
const RESTART_BACKOFF_MAX_MS = 5_000;
/** A thread that lived this long before dying restarts after the minimum backoff again. */
const STABLE_THREAD_MS = 10_000;

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
  /** URL (file:) of a module implementing CallEngineModule (src/edge/call-engine-module.ts). */
  sessionModuleUrl: string;
  /** The recording writer (RECORD_AUDIO=on; it lives in this thread): every thread's audio blocks go to it. */
  recording?: { accept(message: RecordingMessage): void };
  /** The records writer's counters, for /metrics (the writer lives in this thread). */
  readRecordStats?: () => Record<string, number>;
  /** The control plane's REST client, transfer TwiML and recorder (src/main.ts builds them from the config). */
  control?: Omit<ControlPlaneOptions, 'sendCommand'>;
  areTestHooksOn?: boolean;
}

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
  /** Commands sent to threads, waiting for their answers. */
  private readonly pendingCommands = new Map<number, { resolve: (result: CommandResult) => void; timer: NodeJS.Timeout }>();
  private nextCommandId = 1;
  /** Where calls are found, commands routed and Twilio's REST API called (src/control/plane.ts). */
  readonly control: ControlPlane;
  private restarts = 0;
  private isDraining = false;
  private isShuttingDown = false;
  private port = 0;

  constructor(private readonly options: EdgeRunnerOptions) {
    this.control = new ControlPlane({ ...(options.control ?? {}), sendCommand: (threadIndex, callSid, command) => this.sendCommand(threadIndex, callSid, command) });
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
      ...(this.options.readRecordStats !== undefined ? { recordStats: this.options.readRecordStats() } : {}),
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

  /** Asks thread `threadIndex` to carry out `command`; a thread that does not answer in time counts as the call gone. */
  private sendCommand(threadIndex: number, callSid: string, command: CallCommand): Promise<CommandResult> {
    const worker = this.slots[threadIndex]?.worker;
    if (worker === null || worker === undefined) return Promise.resolve({ ok: false, code: 'call-ended', message: `edge thread ${threadIndex} is not running` });
    return new Promise((resolve) => {
      const requestId = this.nextCommandId++;
      const timer = setTimeout(() => {
        this.pendingCommands.delete(requestId);
        resolve({ ok: false, code: 'call-ended', message: `edge thread ${threadIndex} did not answer within ${COMMAND_ANSWER_TIMEOUT_MS} ms` });
      }, COMMAND_ANSWER_TIMEOUT_MS);
      this.pendingCommands.set(requestId, { resolve, timer });
      worker.postMessage({ type: 'call-command', requestId, callSid, command } satisfies MainToThreadMessage);
    });
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
    const worker = new Worker(EDGE_THREAD_ENTRY, {
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
        case 'call-event':
          this.control.onCallEvent(slot.index, message.event);
          return;
        case 'call-status':
          this.control.onCallStatus(message.update);
          return;
        case 'outbound-brief':
          // answered once the brief is kept (and written to the records, for the other instances): then the call is placed
          void this.control.putBrief(message.launchId, message.brief).then(() =>
            worker.postMessage({ type: 'brief-stored', requestId: message.requestId } satisfies MainToThreadMessage));
          return;
        case 'brief-query':
          void this.control.briefFor(message.launchId).then((brief) =>
            worker.postMessage({ type: 'brief-answer', requestId: message.requestId, brief: brief ?? null } satisfies MainToThreadMessage));
          return;
        case 'recording': {
          const recording = this.options.recording;
          // a batch that is not an array is dropped whole; each message is checked by the writer
          if (recording !== undefined && Array.isArray(message.messages)) for (const m of message.messages) recording.accept(m);
          return;
        }
        case 'records-query':
          void this.control.query(message.query).then((answer) => {
            worker.postMessage({ type: 'records-answer', requestId: message.requestId, answer } satisfies MainToThreadMessage);
          });
          return;
        case 'route-command':
          void this.control.command(message.callSid, message.command).then((result) => {
            worker.postMessage({ type: 'route-command-result', requestId: message.requestId, result } satisfies MainToThreadMessage);
          });
          return;
        case 'call-command-result': {
          const pending = this.pendingCommands.get(message.requestId);
          if (pending === undefined) return;
          this.pendingCommands.delete(message.requestId);
          clearTimeout(pending.timer);
          pending.resolve(message.result);
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
      this.control.onThreadLost(slot.index);
      if (slot.stats) {
        // Keep what the dead thread counted (not its live calls, which died with it).
        const last = { ...slot.stats, activeCalls: 0 };
        sumStats(this.retired, last);
        slot.stats = null;
      }
      if (slot.callStats) {
        sumCallStats(this.retiredCallStats, { ...slot.callStats, liveSessions: 0 });
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
  private engine: CallEngine | null = null;
  /** The process's control plane (set at start). */
  control: ControlPlane | null = null;

  constructor(private readonly options: EdgeRunnerOptions) {}

  async start(): Promise<number> {
    const { config } = this.options;
    let control: ControlPlane | null = null;
    const engine = await loadCallEngine(this.options.sessionModuleUrl, {
      config, threadIndex: 0, outboundBriefFor: (launchId) => control?.briefFor(launchId) ?? Promise.resolve(undefined),
      queryRecords: (query) => control?.query(query) ?? Promise.resolve({ ok: false, code: 'records-error', message: 'the control plane is not up yet' }),
    });
    this.engine = engine;
    const notHere: CommandResult = { ok: false, code: 'not-supported', message: 'this session module takes no commands' };
    this.control = new ControlPlane({
      ...(this.options.control ?? {}),
      sendCommand: (_threadIndex, callSid, command) => Promise.resolve(engine.command?.(callSid, command) ?? notHere),
    });
    control = this.control;
    const plane = this.control;
    engine.subscribe?.((event) => plane.onCallEvent(0, event));
    const recording = this.options.recording;
    if (recording !== undefined) engine.subscribeRecording?.((messages) => { for (const m of messages) recording.accept(m); });
    this.edge = createEdgeApp({
      config, sessionFactory: engine.sessionFactory, readCallStats: engine.readStats, threadIndex: 0,
      areTestHooksOn: this.options.areTestHooksOn ?? false, coordinator: createLocalCoordinator(this.options.readRecordStats),
      routeCommand: (callSid, command) => plane.command(callSid, command),
      onMachineDetected: voicemailOnMachine(config, (callSid, command) => plane.command(callSid, command)),
      onCallStatus: (update) => plane.onCallStatus(update),
      queryRecords: (query) => plane.query(query),
      ...withPlaceCall(outboundCallerFromConfig(config, (launchId, brief) => plane.putBrief(launchId, brief))),
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

  async shutdown(): Promise<void> {
    this.edge?.shutdown();
    await this.engine?.shutdown();
  }

  /** Closes the listen socket now (for fatal errors in the main thread). */
  closeListenSocket(): void {
    this.edge?.closeListenSocket();
  }
}

export function createEdgeRunner(options: EdgeRunnerOptions): EdgeRunner {
  return options.config.edgeThreads === 0 ? new MainThreadEdgeRunner(options) : new EdgeThreadSupervisor(options);
}
