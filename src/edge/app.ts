// One uWebSockets.js App: the HTTP routes (webhooks, /version, /metrics) and the media WebSocket behaviour. The same
// App runs in every edge thread (they share the port through SO_REUSEPORT); createEdgeApp takes the session factory and
// a coordinator as parameters so that tests and threads can wire anything in. Routing is one small table behind
// `any('/*')`, which is what lets us answer 405 with an Allow header and 404 for everything else, upgrades included.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallCommand, CommandResult } from '../call/events.js';
import { CloseCode, type SessionFactory } from '../call/types.js';
import type { Config } from '../config.js';
import { ErrorKind, LogEvent, log } from '../observability/log.js';
import { renderMetrics, threadMetricsSnapshot, type MetricsSnapshot } from '../observability/metrics.js';
import {
  MediaSocket,
  createEdgeThreadStats,
  type EdgeThreadStats,
  type MediaSocketOptions,
  type MediaSocketUserData,
} from './media-socket.js';
import type { CallStatusUpdate } from '../control/call-recorder.js';
import type { RecordsAnswer, RecordsQuery } from '../control/plane.js';
import type { OutboundCaller } from '../control/outbound.js';
import { handleControlApi } from './control-api.js';
import { MemoryStreamTokenLedger, type StreamTokenLedger } from './stream-token-ledger.js';
import { MEDIA_STREAM_PATHS, handleMediaUpgrade, isMediaStreamPath, type UpgradeInfo, type UpgradeRefusal } from './upgrade.js';
import { CLOCK_TIMER_KIND } from '../audio/precise-timer.js';
import { closeListenSocket, listenSocketPort, requestTarget, uws, uwsBuild, uwsEngine, type HttpRequest, type HttpResponse, type TemplatedApp, type us_listen_socket } from './uws.js';
import {
  handleDialAction, handleIncomingCall, handleMachineDetection, handleMetrics, handleOutboundAnswer, handleStatusCallback, handleVersion,
  handleWhisper, respond, type WebhookContext,
} from './webhooks.js';
import { CONTROL_WEBHOOK_PATHS } from '../control/callback-urls.js';
import type { MachineDetectionResult } from '../control/machine-detection.js';

export type { EdgeThreadStats } from './media-socket.js';
export { createEdgeThreadStats } from './media-socket.js';

/** The parts of Config the edge reads. */
export type EdgeConfig = Pick<
  Config,
  'publicBaseUrl' | 'streamUrl' | 'twilioAuthToken' | 'isSignatureCheckOn' | 'streamTokenSecret' | 'streamTokenTtlMs' | 'ws'
  // (optional: hand-built test configs leave it out, and the API is then off)
> & Partial<Pick<Config, 'controlApiKey' | 'recordAudio'>>;

/** The call engine's counters of one thread (plain numbers, summed across threads like EdgeThreadStats). */
export type CallStats = Record<string, number>;

/** What /version reports beyond this thread: sums over every edge thread, from the supervisor. */
export interface EdgeTotals {
  stats: EdgeThreadStats;
  /** The call engine's counters summed (empty when the session module reports none). */
  callStats: CallStats;
  edgeThreads: number;          // threads configured (0 = the edge runs in the main thread)
  edgeThreadsReady: number;     // threads listening right now
  edgeThreadRestarts: number;   // threads restarted after dying
  /** Every thread's metrics snapshot (src/observability/metrics.ts), when the collect asked for them (/metrics). */
  metricSnapshots?: MetricsSnapshot[];
  /** The records writer's counters (the main thread's), when records are on. */
  recordStats?: Record<string, number>;
  /** By thread index: when (Date.now() ms) the figures in these totals for that thread were taken. */
  statsTakenAtMs?: Record<string, number>;
}

/** How an App learns about the other threads. The default (single thread) answers from its own stats. */
export interface EdgeCoordinator {
  /** With `localMetrics` (this thread's fresh snapshot), the totals also carry every thread's metricSnapshots. */
  collectTotals(localStats: EdgeThreadStats, localCallStats: CallStats, localMetrics?: MetricsSnapshot): Promise<EdgeTotals>;
  /** Test hook (EDGE_TEST_HOOKS=1): blocks the supervisor's event loop for `ms`; resolves once it has started. */
  stallSupervisorForTest?(ms: number): Promise<void>;
}

export interface EdgeAppOptions {
  config: EdgeConfig;
  sessionFactory: SessionFactory;
  /** This thread's counters (created when not given). */
  stats?: EdgeThreadStats;
  coordinator?: EdgeCoordinator;
  /** The call engine's counters for this thread (CallEngine.readStats); none when not given. */
  readCallStats?: () => Record<string, number>;
  /** Called (synchronously) whenever this thread's active call count changes. */
  onActiveCallsChanged?: () => void;
  /** Where used stream tokens are remembered; default one in memory (right for a single edge thread). */
  streamTokenLedger?: StreamTokenLedger;
  /** Reads the call records (the control API's GET /api/calls...); without it those answer records-off. */
  queryRecords?: (query: RecordsQuery) => Promise<RecordsAnswer>;
  /** Twilio's call status callbacks, after the 204 (the records). */
  onCallStatus?: (update: CallStatusUpdate) => void;
  /** Places an outbound call (the control API's POST /api/calls); without it that answers not-supported. */
  placeCall?: OutboundCaller;
  /** Carries out a command on a call, wherever it lives (the control API); without it every command is refused. */
  routeCommand?: (callSid: string, command: CallCommand) => Promise<CommandResult>;
  /**
   * Adds `POST /__test/crash-thread` (throws an uncaught error on this thread) and `POST /__test/stall-supervisor?ms=N`
   * (blocks the main thread's event loop for N ms, so collects time out). Only for tests (EDGE_TEST_HOOKS=1).
   */
  areTestHooksOn?: boolean;
  /** Index of this thread (for logs and /version); 0 in single-thread mode. */
  threadIndex?: number;
  /** Async AMD verdicts (POST /webhook/amd), after the 204; see WebhookContext.onMachineDetected. */
  onMachineDetected?: (result: MachineDetectionResult) => void;
}

export interface EdgeApp {
  readonly app: TemplatedApp;
  readonly stats: EdgeThreadStats;
  /** This thread's call-engine counters (empty when the session module has none). */
  readCallStats(): CallStats;
  /** Open media sockets of this thread. */
  readonly openSockets: ReadonlySet<MediaSocket>;
  readonly isDraining: boolean;
  /** Listens on host:port (port 0 = any); resolves with the bound port, rejects when the port cannot be bound. */
  listen(host: string, port: number): Promise<number>;
  /** Stop accepting new calls: upgrades get 503, /version says draining. Live calls go on. */
  startDraining(): void;
  /** Closes the listen socket (idempotent). Must happen before the thread or process exits. */
  closeListenSocket(): void;
  /** Closes the listen socket and every open media socket (1001 going away). */
  shutdown(): void;
}

/** Route table: path -> methods. A trailing slash is tolerated on every route. */
const ROUTES: ReadonlyMap<string, readonly string[]> = new Map([
  // Hosting front ends (Replit's deploy check among them) probe the root: answer it cheaply.
  ['/', ['GET']],
  ['/webhook/incoming_call', ['POST']],
  ['/webhook/status', ['POST']],
  ['/webhook/stream-status', ['POST']],
  // call control (src/control/): the outbound call's answer, a transfer's return, its whisper, async AMD's verdict
  [CONTROL_WEBHOOK_PATHS.outboundAnswer, ['POST']],
  [CONTROL_WEBHOOK_PATHS.dialAction, ['POST']],
  [CONTROL_WEBHOOK_PATHS.whisper, ['POST']],
  [CONTROL_WEBHOOK_PATHS.amd, ['POST']],
  ['/version', ['GET']],
  ['/metrics', ['GET']],
]);
const TEST_ROUTES: ReadonlyMap<string, readonly string[]> = new Map([['/__test/crash-thread', ['POST']], ['/__test/stall-supervisor', ['POST']]]);
/** Longest stall the test hook accepts: enough for any collect timeout, short enough not to wedge a test run. */
const MAX_TEST_STALL_MS = 10_000;

const TEXT = [['Content-Type', 'text/plain; charset=utf-8']] as const;

function normalizePath(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function checkIdleTimeout(idleTimeoutS: number): number {
  if (!Number.isInteger(idleTimeoutS) || (idleTimeoutS !== 0 && (idleTimeoutS < 8 || idleTimeoutS > 960))) {
    throw new RangeError(`ws.idleTimeoutS must be 0 or an integer in 8..960 (got ${idleTimeoutS})`);
  }
  return idleTimeoutS;
}

/** Seconds since each `takenAtMs` (by thread index), for the staleness gauge. */
function agesS(takenAtMs: Record<string, number> | undefined): Record<string, number> {
  const nowMs = Date.now();
  const ages: Record<string, number> = {};
  for (const [thread, atMs] of Object.entries(takenAtMs ?? {})) ages[thread] = Math.max(0, nowMs - atMs) / 1000;
  return ages;
}

export function createLocalCoordinator(readRecordStats?: () => Record<string, number>): EdgeCoordinator {
  return {
    collectTotals: (localStats, localCallStats, localMetrics) =>
      Promise.resolve({
        stats: { ...localStats }, callStats: { ...localCallStats }, edgeThreads: 0, edgeThreadsReady: 1, edgeThreadRestarts: 0,
        statsTakenAtMs: { 0: Date.now() }, ...(readRecordStats !== undefined ? { recordStats: readRecordStats() } : {}),
        ...(localMetrics ? { metricSnapshots: [localMetrics] } : {}),
      }),
  };
}

/** Keeps the finite numeric fields of a counters object (what can be summed across threads). */
export function numericOnly(counters: object): CallStats {
  const out: CallStats = {};
  for (const [key, value] of Object.entries(counters)) if (typeof value === 'number' && Number.isFinite(value)) out[key] = value;
  return out;
}

/** name and version from the package.json above this file (works from src/ under vitest and from dist/src/). */
export function readPackageInfo(): { name: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 6; depth++) {
    const candidate = join(dir, 'package.json');
    if (existsSync(candidate)) {
      try {
        const parsed = JSON.parse(readFileSync(candidate, 'utf8')) as { name?: unknown; version?: unknown };
        if (typeof parsed.name === 'string' && typeof parsed.version === 'string') {
          return { name: parsed.name, version: parsed.version };
        }
      } catch {
        // keep looking upwards
      }
    }
    dir = dirname(dir);
  }
  return { name: 'ai-crmd', version: '0.0.0' };
}

export function createEdgeApp(options: EdgeAppOptions): EdgeApp {
  const { config, sessionFactory } = options;
  const stats = options.stats ?? createEdgeThreadStats();
  const coordinator = options.coordinator ?? createLocalCoordinator();
  const threadIndex = options.threadIndex ?? 0;
  const openSockets = new Set<MediaSocket>();
  const socketsAwaitingStart = new Set<MediaSocket>();
  const startTimeoutMs = config.ws.startTimeoutS * 1000;
  const holder: { listenSocket: us_listen_socket | null } = { listenSocket: null };
  let isDraining = false;
  const idleTimeout = checkIdleTimeout(config.ws.idleTimeoutS);
  const packageInfo = readPackageInfo();
  const readCallStats = (): CallStats => {
    try {
      return options.readCallStats ? numericOnly(options.readCallStats()) : {};
    } catch {
      return {};
    }
  };

  const socketOptions: MediaSocketOptions = {
    sessionFactory,
    stats,
    isSignatureCheckOn: config.isSignatureCheckOn,
    streamTokenSecret: config.streamTokenSecret,
    streamTokenLedger: options.streamTokenLedger ?? new MemoryStreamTokenLedger(),
    maxBackpressureBytes: config.ws.maxBackpressureBytes,
    slowClientOverflowMs: config.ws.slowClientOverflowMs,
    openSockets,
    socketsAwaitingStart,
    ...(options.onActiveCallsChanged ? { onActiveCallsChanged: options.onActiveCallsChanged } : {}),
  };

  const upgradeDecider = {
    config,
    isDraining: () => isDraining,
    isAwaitingStartFull: () => socketsAwaitingStart.size >= config.ws.maxSocketsAwaitingStart,
    onRefused(reason: UpgradeRefusal): void {
      if (reason === 'draining') stats.upgradesRefusedDraining++;
      if (reason === 'busy') stats.upgradesRefusedBusy++;
      if (reason === 'bad-signature') stats.upgradesRefusedSignature++;
      log.warn({ event: LogEvent.WS_REJECT, errKind: reason === 'bad-signature' ? ErrorKind.SIGNATURE : ErrorKind.PROTOCOL, reason, threadIndex }, 'media upgrade refused');
    },
    createUserData: (info: UpgradeInfo): MediaSocketUserData => ({
      conn: new MediaSocket(info, socketOptions),
    }),
  };

  const buildVersion = async (): Promise<object> => {
    const totals = await coordinator.collectTotals(stats, readCallStats());
    return {
      name: packageInfo.name,
      version: packageInfo.version,
      node: process.version,
      engine: uwsEngine,
      engineBuild: uwsBuild, // which uWebSockets.js package loaded (see src/edge/uws-loader.ts)
      isMediaSocketOn: uwsEngine === 'native',
      clockTimer: CLOCK_TIMER_KIND, // what wakes the frame clocks: 'timerfd' (precise) or 'setTimeout' (whole ms)
      uptimeS: Math.round(process.uptime()), // process-wide, also in a restarted thread
      edgeThreads: totals.edgeThreads,
      edgeThreadsReady: totals.edgeThreadsReady,
      edgeThreadRestarts: totals.edgeThreadRestarts,
      activeCalls: totals.stats.activeCalls,
      isSignatureCheckOn: config.isSignatureCheckOn,
      isInsecureDevMode: !config.isSignatureCheckOn,
      // The edge is handed the whole Config (EdgeConfig is the part it needs); a hand-built test config may lack it.
      insecureDevMode: (config as Partial<Pick<Config, 'insecureDevMode'>>).insecureDevMode ?? (config.isSignatureCheckOn ? 'off' : 'loopback'),
      draining: isDraining,
      threadIndex,
      counters: totals.stats,
      call: totals.callStats,
    };
  };

  /** Prometheus text: the supervisor's sums and every thread's histograms (see src/observability/metrics.ts). */
  const buildMetrics = async (): Promise<string> => {
    const localMetrics = await threadMetricsSnapshot();
    const totals = await coordinator.collectTotals(stats, readCallStats(), localMetrics);
    return renderMetrics({
      edge: { ...totals.stats },
      call: totals.callStats,
      edgeThreads: totals.edgeThreads,
      edgeThreadsReady: totals.edgeThreadsReady,
      edgeThreadRestarts: totals.edgeThreadRestarts,
      threadStatsAgeS: agesS(totals.statsTakenAtMs),
      ...(totals.recordStats !== undefined ? { records: totals.recordStats } : {}),
      isDraining,
      info: { version: packageInfo.version, node: process.version, engine: uwsEngine },
      snapshots: totals.metricSnapshots ?? [localMetrics],
    });
  };

  const webhookContext: WebhookContext = {
    config, stats, isDraining: () => isDraining, onMachineDetected: options.onMachineDetected, onCallStatus: options.onCallStatus,
  };

  /** Test hook: answers 202 once the supervisor has started blocking its event loop for ?ms= (see threads.ts). */
  const stallSupervisor = (res: HttpResponse, req: HttpRequest): void => {
    const ms = Number(new URLSearchParams(requestTarget(req).query).get('ms'));
    if (!coordinator.stallSupervisorForTest || !Number.isInteger(ms) || ms <= 0 || ms > MAX_TEST_STALL_MS) {
      respond(res, '400 Bad Request', `needs edge threads and ms=1..${MAX_TEST_STALL_MS}\n`, TEXT);
      return;
    }
    const state = { isAborted: false };
    res.onAborted(() => {
      state.isAborted = true;
    });
    void coordinator.stallSupervisorForTest(ms).then(() => {
      if (!state.isAborted) respond(res, '202 Accepted', `supervisor stalls for ${ms} ms\n`, TEXT);
    });
  };

  const dispatch = (res: HttpResponse, req: HttpRequest): void => {
    try {
      route(res, req);
    } catch (error) {
      // A bug in a route must not take the thread down; the response may already be gone, so try and ignore.
      log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, threadIndex, err: error }, 'route handler threw');
      try {
        respond(res, '500 Internal Server Error', 'Internal error\n', TEXT, true);
      } catch {
        // already answered or aborted
      }
    }
  };

  const controlApiContext = {
    apiKey: config.controlApiKey,
    ...(options.routeCommand !== undefined ? { routeCommand: options.routeCommand } : {}),
    ...(options.placeCall !== undefined ? { placeCall: options.placeCall } : {}),
    ...(options.queryRecords !== undefined ? { queryRecords: options.queryRecords } : {}),
    ...(config.recordAudio !== undefined ? { recordingsDir: config.recordAudio.dir } : {}),
  };

  const route = (res: HttpResponse, req: HttpRequest): void => {
    const rawPath = requestTarget(req).path;
    const method = req.getMethod().toUpperCase();
    const path = normalizePath(rawPath);
    if (path === '/api' || path.startsWith('/api/')) {
      handleControlApi(controlApiContext, res, req, path, method, requestTarget(req).query);
      return;
    }
    const allowed = ROUTES.get(path) ?? (options.areTestHooksOn ? TEST_ROUTES.get(path) : undefined);
    if (isMediaStreamPath(rawPath)) {
      // Upgrades on the media paths never reach here; this is a plain request (no upgrade headers).
      respond(res, '426 Upgrade Required', 'WebSocket upgrade required\n', [...TEXT, ['Upgrade', 'websocket']]);
      return;
    }
    const isUpgrade = req.getHeader('upgrade').length > 0;
    if (allowed === undefined || isUpgrade) {
      // Unknown path, or a WebSocket upgrade anywhere but the media paths: 404, never an upgrade.
      respond(res, '404 Not Found', 'Not found\n', TEXT, isUpgrade);
      return;
    }
    if (!allowed.includes(method)) {
      respond(res, '405 Method Not Allowed', 'Method not allowed\n', [...TEXT, ['Allow', allowed.join(', ')]]);
      return;
    }
    switch (path) {
      case '/':
        respond(res, '200 OK', 'ai-crmd voice server; health: GET /version\n', TEXT);
        return;
      case '/webhook/incoming_call':
        handleIncomingCall(webhookContext, res, req);
        return;
      case '/webhook/status':
        handleStatusCallback(webhookContext, res, req, 'call');
        return;
      case '/webhook/stream-status':
        handleStatusCallback(webhookContext, res, req, 'stream');
        return;
      case CONTROL_WEBHOOK_PATHS.outboundAnswer:
        handleOutboundAnswer(webhookContext, res, req);
        return;
      case CONTROL_WEBHOOK_PATHS.dialAction:
        handleDialAction(webhookContext, res, req);
        return;
      case CONTROL_WEBHOOK_PATHS.whisper:
        handleWhisper(webhookContext, res, req);
        return;
      case CONTROL_WEBHOOK_PATHS.amd:
        handleMachineDetection(webhookContext, res, req);
        return;
      case '/version':
        handleVersion(res, buildVersion);
        return;
      case '/metrics':
        handleMetrics(res, buildMetrics);
        return;
      case '/__test/stall-supervisor':
        stallSupervisor(res, req);
        return;
      case '/__test/crash-thread':
        respond(res, '202 Accepted', `thread ${threadIndex} will crash\n`, TEXT);
        setTimeout(() => {
          throw new Error(`test hook: crash edge thread ${threadIndex}`);
        }, 20);
        return;
      default:
        respond(res, '404 Not Found', 'Not found\n', TEXT);
    }
  };

  const behavior = {
    compression: uws.DISABLED ?? 0,
    maxPayloadLength: config.ws.maxPayloadLength,
    idleTimeout,
    maxBackpressure: config.ws.maxBackpressureBytes,
    closeOnBackpressureLimit: false, // a boolean in uWS 20.57's types; false and 0 read the same in both builds
    sendPingsAutomatically: true,
    upgrade: (res: HttpResponse, req: HttpRequest, context: Parameters<typeof handleMediaUpgrade>[2]) => {
      try {
        handleMediaUpgrade(res, req, context, upgradeDecider);
      } catch (error) {
        log.error({ event: LogEvent.WS_REJECT, errKind: ErrorKind.INTERNAL, threadIndex, err: error }, 'upgrade handler threw');
        try {
          respond(res, '500 Internal Server Error', 'Internal error\n', TEXT, true);
        } catch {
          // already upgraded or aborted
        }
      }
    },
    open: (ws: Parameters<MediaSocket['onOpen']>[0]) => ws.getUserData().conn.onOpen(ws),
    message: (ws: Parameters<MediaSocket['onOpen']>[0], message: ArrayBuffer, isBinary: boolean) =>
      ws.getUserData().conn.onMessage(message, isBinary),
    drain: (ws: Parameters<MediaSocket['onOpen']>[0]) => ws.getUserData().conn.onDrain(),
    close: (ws: Parameters<MediaSocket['onOpen']>[0], code: number, message: ArrayBuffer) =>
      ws.getUserData().conn.onClose(code, message),
  };

  // The start deadline: one sweep a second for the whole thread (never a timer per socket). Counted from the socket's
  // open, so nothing it sends before a valid start (a `connected` every few seconds, say) buys it time.
  const startDeadlineSweep = setInterval(() => {
    const nowMs = Date.now();
    let closed = 0;
    for (const conn of [...socketsAwaitingStart]) {
      if (nowMs - conn.openedAtMs < startTimeoutMs) continue;
      conn.closeForStartTimeout();
      closed++;
    }
    if (closed > 0) {
      log.warn({ event: LogEvent.WS_START_TIMEOUT, errKind: ErrorKind.TIMEOUT, closed, startTimeoutS: config.ws.startTimeoutS, threadIndex },
        'media sockets without a valid start in time closed');
    }
  }, 1000);
  startDeadlineSweep.unref();

  const app = uws.App();
  if (uwsEngine === 'native') {
    for (const path of MEDIA_STREAM_PATHS) app.ws<MediaSocketUserData>(path, behavior);
  } else {
    // The JS fallback has no custom upgrade handler (it throws "not implemented"), so it could not check signatures,
    // refuse during drain or choose the subprotocol: it refuses every upgrade instead (400 from the fallback).
    log.error({ event: LogEvent.ENGINE_FALLBACK, errKind: ErrorKind.INTERNAL, threadIndex },
      'uWebSockets.js fallback engine: the media WebSocket is disabled (webhooks and /version still work)');
  }
  app.any('/*', dispatch);

  const edgeApp: EdgeApp = {
    app,
    stats,
    readCallStats,
    openSockets,
    get isDraining() {
      return isDraining;
    },
    listen(host: string, port: number): Promise<number> {
      return new Promise((resolve, reject) => {
        app.listen(host, port, (listenSocket) => {
          if (listenSocket === false) {
            reject(new Error(`could not listen on ${host}:${port}`));
            return;
          }
          holder.listenSocket = listenSocket;
          resolve(listenSocketPort(listenSocket));
        });
      });
    },
    startDraining(): void {
      isDraining = true;
    },
    closeListenSocket(): void {
      closeListenSocket(holder);
    },
    shutdown(): void {
      clearInterval(startDeadlineSweep);
      closeListenSocket(holder);
      for (const conn of [...openSockets]) conn.close(CloseCode.GOING_AWAY, 'server shutting down');
    },
  };
  return edgeApp;
}
