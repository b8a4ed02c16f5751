// Process entry: read the config (one error naming every bad variable), say loudly what mode we run in (uWS engine,
// insecure dev mode), start the edge (EDGE_THREADS worker threads sharing the port, or EDGE_THREADS=0 for the main
// thread), and on SIGTERM/SIGINT drain: refuse new calls (upgrades 503, /version says draining), let live calls run
// for up to DRAIN_TIMEOUT_S, then close every listen socket and socket and exit 0. A second signal skips the wait.
//
// Environment read here besides src/config.ts (both are test/dev hooks, off by default):
//   EDGE_SESSION_MODULE  path or file: URL of a module exporting createCallEngine({ config, threadIndex })
//                        (default: the thread's composition root, src/thread-root.ts; see SESSION_MODULE_URL)
//   EDGE_TEST_HOOKS=1    adds POST /__test/crash-thread (crashes the edge thread that serves it) and
//                        POST /__test/stall-supervisor?ms=N (blocks the main thread) for supervision tests
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, loadDotEnv, type Config } from './config.js';
import { CallRecorder } from './control/call-recorder.js';
import { controlPartsFromConfig } from './control/process-control.js';
import { createEdgeRunner, type EdgeRunner } from './edge/supervisor.js';
import { uwsBuild, uwsEngine, uwsLoadMessage } from './edge/uws.js';
import { ErrorKind, LogEvent, log, setLogLevel } from './observability/log.js';

/**
 * The session module every edge thread loads: the thread's composition root (its createCallEngine builds the thread's
 * clock, batched DSP, agent and registry); EDGE_SESSION_MODULE swaps in another module with the same contract (tests).
 */
const SESSION_MODULE_URL = new URL('./thread-root.js', import.meta.url).href;

function sessionModuleUrl(env: NodeJS.ProcessEnv): string {
  const override = env['EDGE_SESSION_MODULE']?.trim();
  if (!override) return SESSION_MODULE_URL;
  return override.startsWith('file:') ? override : pathToFileURL(resolve(override)).href;
}

function readConfig(): Config {
  loadDotEnv();
  // EDGE_THREADS=0 (run the edge in the main thread) is ours to interpret: validate the rest with 1 in its place.
  const isMainThreadMode = process.env['EDGE_THREADS']?.trim() === '0';
  const config = loadConfig(isMainThreadMode ? { ...process.env, EDGE_THREADS: '1' } : process.env);
  return isMainThreadMode ? { ...config, edgeThreads: 0 } : config;
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));
/** How long the drain's end waits for the queued records to be written. */
const RECORDS_CLOSE_TIMEOUT_MS = 5_000;

async function main(): Promise<void> {
  let config: Config;
  try {
    config = readConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      log.fatal({ event: LogEvent.CONFIG_ERROR, errKind: ErrorKind.CONFIG, problems: error.problems }, error.message);
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  setLogLevel(config.logLevel);

  log.info({
    event: LogEvent.SERVER_START, engine: uwsEngine, engineBuild: uwsBuild, node: process.version, edgeThreads: config.edgeThreads,
    port: config.port, host: config.host, publicBaseUrl: config.publicBaseUrl, isSignatureCheckOn: config.isSignatureCheckOn,
    insecureDevMode: config.insecureDevMode, drainTimeoutS: config.drainTimeoutS,
    ...(uwsEngine === 'native' && uwsLoadMessage !== '' ? { engineBuildsNotLoaded: uwsLoadMessage } : {}),
  }, 'starting');
  if (uwsEngine === 'fallback') {
    log.warn({ event: LogEvent.ENGINE_FALLBACK, errKind: ErrorKind.INTERNAL, engineBuild: uwsBuild, reason: uwsLoadMessage || undefined },
      '!!! No uWebSockets.js native binary loaded: running on the slow JS fallback. Use Node 20 on glibc 2.36+, or Node 20/22/24/25 on glibc 2.38+ (README "Which uWebSockets.js build loads where"; /version engine, engineBuild) !!!');
  }
  if (config.insecureDevMode !== 'off') {
    log.warn({ event: LogEvent.INSECURE_DEV_MODE, errKind: ErrorKind.SIGNATURE, insecureDevMode: config.insecureDevMode, host: config.host },
      config.insecureDevMode === 'public'
        ? '!!! INSECURE DEVELOPMENT MODE, PUBLIC (INSECURE_DEV_MODE=public): no Twilio signature or stream token is checked, and anyone who reaches this server can use it. Set TWILIO_AUTH_TOKEN for real use !!!'
        : '!!! INSECURE DEVELOPMENT MODE (INSECURE_DEV_MODE=1): no Twilio signature or stream token is checked; listening on loopback only !!!');
  }

  if (config.agent.file !== undefined) {
    const { name, file, tools, transfers } = config.agent;
    log.info({ event: LogEvent.SERVER_START, agentFile: file, agentName: name, tools: tools.map((t) => t.name), transfers: transfers.map((t) => t.name) },
      `agent ${JSON.stringify(name)} from ${file}`);
  }
  if (config.controlApiKey === undefined) {
    log.info({ event: LogEvent.SERVER_START, controlApi: 'off' }, 'control API off: /api answers 404 (set CONTROL_API_KEY to turn it on)');
  }

  // The process's one records writer (edge threads never wait on it: their events reach it through the control plane).
  // (imported only when on: the database drivers and the query builder stay out of a process that keeps no records)
  const records = config.records.enabled ? (await import('./records/records.js')).startRecords(config.records) : null;
  if (records === null) log.info({ event: LogEvent.SERVER_START, records: 'off' }, 'call records off (RECORDS=off)');
  // The process's one recording writer (RECORD_AUDIO=on): edge threads post it their calls' audio blocks; a finished
  // recording becomes an event of the call's record.
  const recording = config.recordAudio.enabled
    ? new (await import('./recording/writer.js')).RecordingWriter({
      dir: config.recordAudio.dir,
      onRecorded: ({ callSid, streamSid, durationMs, atMs }) => {
        records?.writer.enqueue({ kind: 'call-event', callSid, atMs, event: 'recording', data: { durationMs, streamSid } });
      },
    })
    : null;
  if (recording !== null) log.info({ event: LogEvent.SERVER_START, recordAudio: 'on', dir: config.recordAudio.dir }, 'call audio recorded (RECORD_AUDIO=on)');
  const readRecordStats = records !== null || recording !== null
    ? () => ({ ...(records?.writer.readCounters() ?? {}), ...(recording?.readCounters() ?? {}) })
    : undefined;
  // the end-of-call summaries and their delivery, beside the records (src/crm/)
  const afterCall = records !== null && config.callSummaries ? (await import('./crm/from-config.js')).afterCallWorkFromConfig(config, records, log) : null;
  if (afterCall !== null) {
    void records!.ready.then(() => afterCall.start());
    log.info({ event: LogEvent.SERVER_START, callSummaries: 'on', webhook: config.agent.summary?.webhook ?? null }, 'calls are summarized when they end');
  } else if (config.agent.summary?.webhook !== undefined) {
    log.warn({ event: LogEvent.SERVER_START, errKind: ErrorKind.CONFIG, callSummaries: 'off' }, 'the agent file names a summary webhook, but summaries are off (they need the AI agent, RECORDS on and CALL_SUMMARIES on)');
  }
  const runner: EdgeRunner = createEdgeRunner({
    config,
    sessionModuleUrl: sessionModuleUrl(process.env),
    areTestHooksOn: process.env['EDGE_TEST_HOOKS'] === '1',
    control: {
      ...controlPartsFromConfig(config),
      ...(records !== null ? { recorder: new CallRecorder(records.writer), records: records.reader, sharedBriefs: records.briefs } : {}),
      ...(afterCall !== null ? { afterCall } : {}),
    },
    ...(readRecordStats !== undefined ? { readRecordStats } : {}),
    ...(recording !== null ? { recording } : {}),
  });
  const closeRecords = async (): Promise<void> => {
    afterCall?.close();
    await recording?.close(RECORDS_CLOSE_TIMEOUT_MS);
    const left = await records?.close(RECORDS_CLOSE_TIMEOUT_MS);
    if (left !== undefined && left.left > 0) log.warn({ event: LogEvent.SERVER_STOP, errKind: ErrorKind.TIMEOUT, recordsLeft: left.left }, 'records not written before exit');
  };

  let isStopping = false;
  let skipDrainWait = false;
  const onFatal = (error: unknown, origin: string): void => {
    log.fatal({ event: LogEvent.SERVER_STOP, errKind: ErrorKind.INTERNAL, origin, err: error }, 'fatal error in the main thread');
    // Close every listen socket before exiting (Node aborts otherwise), but do not wait forever.
    setTimeout(() => process.exit(1), 4_000).unref();
    runner.shutdown().finally(() => process.exit(1));
  };
  process.on('uncaughtException', (error) => onFatal(error, 'uncaughtException'));
  process.on('unhandledRejection', (reason) => onFatal(reason, 'unhandledRejection'));

  const drainAndExit = async (signal: string): Promise<void> => {
    isStopping = true;
    const deadlineMs = Date.now() + config.drainTimeoutS * 1000;
    log.info({ event: LogEvent.DRAIN_START, signal, activeCalls: runner.activeCalls(), drainTimeoutS: config.drainTimeoutS }, 'draining: no new calls, live calls go on');
    runner.startDraining();
    while (!skipDrainWait && runner.activeCalls() > 0 && Date.now() < deadlineMs) await sleep(100);
    const remaining = runner.activeCalls();
    log.info({ event: LogEvent.DRAIN_DONE, remainingCalls: remaining, isTimedOut: remaining > 0 }, 'drain over; closing');
    await runner.shutdown();
    await closeRecords();
    log.info({ event: LogEvent.SERVER_STOP, signal }, 'stopped');
    log.flush?.();
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      if (isStopping) {
        skipDrainWait = true;
        log.warn({ event: LogEvent.DRAIN_START, signal }, 'second signal: ending the drain now');
        return;
      }
      void drainAndExit(signal);
    });
  }

  try {
    const port = await runner.start();
    log.info({ event: LogEvent.SERVER_LISTEN, port, host: config.host, engine: uwsEngine, edgeThreads: config.edgeThreads }, `listening on ${config.host}:${port}`);
  } catch (error) {
    log.fatal({ event: LogEvent.SERVER_STOP, errKind: ErrorKind.THREAD, err: error }, 'could not start the edge');
    await runner.shutdown();
    process.exit(1);
  }
}

void main();
