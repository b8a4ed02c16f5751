// One edge thread, inside its worker: it builds its call engine (the session module's createCallEngine: the thread's
// composition root), runs the uWS App on the shared port, pushes its counters to the supervisor on every call start
// and end and once a second (with its metrics snapshot), asks the supervisor for totals (/version, /metrics) and for
// stream-token answers, and drains and shuts down when told. When the supervisor does not answer a collect in time,
// it shows the last totals the supervisor served (to any thread) rather than its own figures alone: a counter must
// never read lower than a scrape has seen.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { ErrorKind, LogEvent, log, setLogLevel } from '../observability/log.js';
import { threadMetricsSnapshot } from '../observability/metrics.js';
import { createEdgeApp, type EdgeApp, type EdgeCoordinator, type EdgeTotals } from './app.js';
import { loadCallEngine } from './call-engine-module.js';
import type { CallCommand, CommandResult } from '../call/events.js';
import type { RecordsAnswer, RecordsQuery } from '../control/plane.js';
import { outboundCallerFromConfig, withPlaceCall } from '../control/outbound.js';
import { voicemailOnMachine } from '../control/voicemail.js';
import { RemoteStreamTokenLedger } from './stream-token-ledger.js';
import { PendingRequests } from './pending-requests.js';
import type { OutboundBrief } from '../control/outbound-briefs.js';

/** How long a routed command waits for the main thread (which waits up to 2 s for the owning thread). */
const ROUTE_ANSWER_TIMEOUT_MS = 3_000;
/** How long a records read may take (the database may be slow; the API answers 503 after it). */
const RECORDS_ANSWER_TIMEOUT_MS = 10_000;
/** How long an agent waits for its call's brief before it starts without one (the main thread answers from memory, or
 * from the records within BRIEF_DATABASE_TIMEOUT_MS when another instance placed the call). */
const BRIEF_ANSWER_TIMEOUT_MS = BRIEF_DATABASE_TIMEOUT_MS + 500;
/** How long placing a call waits for its brief to be kept (the main thread writes it to the records first). */
const BRIEF_STORED_TIMEOUT_MS = BRIEF_DATABASE_TIMEOUT_MS + 500;
import { BRIEF_DATABASE_TIMEOUT_MS } from '../control/plane.js';
import { COLLECT_TIMEOUT_MS, EDGE_THREAD_KIND, STATS_PUSH_INTERVAL_MS, type EdgeWorkerData, type MainToThreadMessage, type ThreadToMainMessage } from './thread-protocol.js';

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

  const requests = new PendingRequests();
  /** The newest totals the supervisor served for /metrics (to any thread): shown when a collect times out. */
  let lastServedTotals: EdgeTotals | null = null;
  let onStallStarted: (() => void) | null = null;
  const coordinator: EdgeCoordinator = {
    collectTotals(localStats, localCallStats, localMetrics) {
      const takenAtMs = Date.now();
      return requests.ask<EdgeTotals>((requestId) => post({
        type: 'collect', threadIndex, requestId, takenAtMs, stats: { ...localStats }, callStats: { ...localCallStats },
        ...(localMetrics ? { metrics: localMetrics } : {}),
      }), COLLECT_TIMEOUT_MS, () => lastServedTotals ?? {
        // only before any totals were ever served (no scrape can have seen more): this thread's figures alone
        stats: { ...localStats }, callStats: { ...localCallStats }, edgeThreads: config.edgeThreads, edgeThreadsReady: 1,
        edgeThreadRestarts: 0, statsTakenAtMs: { [threadIndex]: takenAtMs }, ...(localMetrics ? { metricSnapshots: [localMetrics] } : {}),
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
  /** A placed call's brief, from the main thread (undefined when it has none or does not answer in time). */
  const outboundBriefFor = (launchId: string): Promise<OutboundBrief | undefined> =>
    requests.ask((requestId) => post({ type: 'brief-query', threadIndex, requestId, launchId }), BRIEF_ANSWER_TIMEOUT_MS, () => undefined);
  // the agent's records reads (lookup_caller) go the control API's way, to the main thread (queryRecords, below)
  const engine = await loadCallEngine(data.sessionModuleUrl, { config, threadIndex, outboundBriefFor, queryRecords: (query) => queryRecords(query) });
  // Every call event goes to the main thread's control plane (records, routing, Twilio's REST API).
  engine.subscribe?.((event) => post({ type: 'call-event', threadIndex, event }));
  // Audio blocks for the main thread's recording writer: the block's memory moves, it is not copied.
  engine.subscribeRecording?.((messages) => {
    const transfer: ArrayBuffer[] = [];
    for (const message of messages) if (message.kind === 'audio-block') transfer.push(message.mulaw.buffer as ArrayBuffer);
    port.postMessage({ type: 'recording', threadIndex, messages } satisfies ThreadToMainMessage, transfer);
  });
  /** A command for `callSid`: carried out here when this thread owns the call, else routed through the main thread. */
  const routeCommand = (callSid: string, command: CallCommand): Promise<CommandResult> => {
    const local = engine.command?.(callSid, command);
    if (local !== undefined && (local.ok || local.code !== 'unknown-call')) return Promise.resolve(local);
    return requests.ask<CommandResult>((requestId) => post({ type: 'route-command', threadIndex, requestId, callSid, command }), ROUTE_ANSWER_TIMEOUT_MS,
      () => ({ ok: false, code: 'unknown-call', message: `the main thread did not answer for ${callSid} in time` }));
  };
  /** A records read, answered by the main thread (which owns the reader). */
  const queryRecords = (query: RecordsQuery): Promise<RecordsAnswer> =>
    requests.ask<RecordsAnswer>((requestId) => post({ type: 'records-query', threadIndex, requestId, query }), RECORDS_ANSWER_TIMEOUT_MS,
      () => ({ ok: false, code: 'records-error', message: 'the main thread did not answer the records read in time' }));
  edge = createEdgeApp({
    config, sessionFactory: engine.sessionFactory, readCallStats: engine.readStats, coordinator, threadIndex,
    onActiveCallsChanged: schedulePush, areTestHooksOn: data.areTestHooksOn, streamTokenLedger, routeCommand,
    onMachineDetected: voicemailOnMachine(config, routeCommand),
    onCallStatus: (update) => post({ type: 'call-status', threadIndex, update }),
    queryRecords,
    ...withPlaceCall(outboundCallerFromConfig(config, (launchId, brief) =>
      requests.ask<void>((requestId) => post({ type: 'outbound-brief', threadIndex, requestId, launchId, brief }), BRIEF_STORED_TIMEOUT_MS, () => undefined))),
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
        requests.answer(message.requestId, message.totals);
        return;
      }
      case 'served-totals':
        lastServedTotals = message.totals;
        return;
      case 'stream-token-consumed':
        streamTokenLedger.onAnswer(message.requestId, message.isFirstUse);
        return;
      case 'call-command': {
        const result = engine.command?.(message.callSid, message.command)
          ?? { ok: false, code: 'not-supported', message: 'this session module takes no commands' };
        post({ type: 'call-command-result', threadIndex, requestId: message.requestId, result });
        return;
      }
      case 'brief-answer':
        requests.answer(message.requestId, message.brief ?? undefined);
        return;
      case 'brief-stored':
        requests.answer(message.requestId, undefined);
        return;
      case 'records-answer':
        requests.answer(message.requestId, message.answer);
        return;
      case 'route-command-result':
        requests.answer(message.requestId, message.result);
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
        // Give the close frames a moment to leave and the engine its release, then end the thread (its listen socket
        // is already closed).
        void Promise.all([engine.shutdown().catch(() => undefined), new Promise((done) => setTimeout(done, 50))]).then(() => process.exit(0));
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
