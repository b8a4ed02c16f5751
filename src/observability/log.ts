// The server's log: pino JSON, one line per event. Every line about a call carries callSid and streamSid (use
// callLogger), every line names its event with a constant from LogEvent (field `event`), and every error line says
// what kind of failure it was (field `errKind`, from ErrorKind) so that logs can be counted without reading prose.
// Never log on the per-frame path: WS_MEDIA and WS_TX are the first frame, then a summary every few seconds.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = LevelWithSilent;

/** Event names: the `event` field of each line. */
export const LogEvent = {
  // process and threads
  SERVER_START: 'SERVER_START',
  SERVER_LISTEN: 'SERVER_LISTEN',
  SERVER_STOP: 'SERVER_STOP',
  CONFIG_ERROR: 'CONFIG_ERROR',
  INSECURE_DEV_MODE: 'INSECURE_DEV_MODE',
  ENGINE_FALLBACK: 'ENGINE_FALLBACK',
  EDGE_THREAD_START: 'EDGE_THREAD_START',
  EDGE_THREAD_EXIT: 'EDGE_THREAD_EXIT',
  EDGE_THREAD_RESTART: 'EDGE_THREAD_RESTART',
  DRAIN_START: 'DRAIN_START',
  DRAIN_DONE: 'DRAIN_DONE',
  TICK_HANDLER_ERROR: 'TICK_HANDLER_ERROR',
  // HTTP
  WEBHOOK_INCOMING: 'WEBHOOK_INCOMING',
  WEBHOOK_STATUS: 'WEBHOOK_STATUS',
  WEBHOOK_REJECT: 'WEBHOOK_REJECT',
  SIGNATURE_FAIL: 'SIGNATURE_FAIL',
  // media WebSocket
  WS_REJECT: 'WS_REJECT',
  WS_START: 'WS_START',
  WS_MEDIA: 'WS_MEDIA',
  WS_TX: 'WS_TX',
  WS_DTMF: 'WS_DTMF',
  WS_STOP: 'WS_STOP',
  WS_CLOSE: 'WS_CLOSE',
  WS_DROP: 'WS_DROP',
  WS_PARSE_FAIL: 'WS_PARSE_FAIL',
  WS_TOKEN_FAIL: 'WS_TOKEN_FAIL',
  WS_START_TIMEOUT: 'WS_START_TIMEOUT',
  WS_RATE_CLOSE: 'WS_RATE_CLOSE',
  WS_SLOW_CLIENT_CLOSE: 'WS_SLOW_CLIENT_CLOSE',
  // the call
  CALL_START_FAILED: 'CALL_START_FAILED',
  CALL_TURN: 'CALL_TURN',
  CALL_COMMAND: 'CALL_COMMAND',
  CALL_SUMMARY: 'CALL_SUMMARY', // the end-of-call summary: written, delivered to the webhook, or not
  CALL_END: 'CALL_END',
  BARGE_IN: 'BARGE_IN',
  PLAYOUT_DONE: 'PLAYOUT_DONE',
  // the agent
  AGENT_GREETING: 'AGENT_GREETING',
  ASR_TEXT: 'ASR_TEXT',
  ASR_SKIP: 'ASR_SKIP',
  EARLY_REPLY: 'EARLY_REPLY', // a reply asked for at a pause inside a turn (EARLY_REPLY_PAUSE_MS): asked, used or thrown away
  ASR_STREAM: 'ASR_STREAM', // the streaming transcription socket failed (and will reconnect), or a turn fell back to the batch upload
  LLM_TEXT: 'LLM_TEXT',
  TTS_SUCCESS: 'TTS_SUCCESS', // a sentence of a reply was synthesized and enqueued
  REPLY_FIRST_FRAME: 'REPLY_FIRST_FRAME', // the playout wrote a reply's first frame (the turn's first_frame latency)
  AGENT_FALLBACK: 'AGENT_FALLBACK',
  CALLER_MEMORY: 'CALLER_MEMORY', // caller memory: the caller's earlier calls could not be read for the instructions
  TOOL_CALL: 'TOOL_CALL', // the model called a tool: its name, outcome and duration (never its arguments' values)
  TOOL_FILLER: 'TOOL_FILLER', // tools ran long enough that the caller heard the filler line
  PROVIDER_ERROR: 'PROVIDER_ERROR', // a provider call (ASR, LLM, TTS, the DSP pool) failed
  AGENT_REPLY_ABORTED: 'AGENT_REPLY_ABORTED', // a reply was cut on purpose (barge-in, a newer turn, the call's end): debug
  AGENT_CALLBACK_ERROR: 'AGENT_CALLBACK_ERROR',
  // call recordings (RECORD_AUDIO)
  RECORDING_DONE: 'RECORDING_DONE', // a stream's audio is in its call's WAV (header sizes written)
  RECORDING_DROPPED: 'RECORDING_DROPPED', // blocks of a call's audio were dropped (writer queue full); once per call
  RECORDING_WRITE_FAILED: 'RECORDING_WRITE_FAILED', // the disk refused a call's WAV (EACCES, ENOSPC, ...); once per call
} as const;
export type LogEventName = (typeof LogEvent)[keyof typeof LogEvent];

/** Values of the `errKind` field on error and warning lines. */
export const ErrorKind = {
  CONFIG: 'config',
  SIGNATURE: 'signature',
  PROTOCOL: 'protocol', // a message from Twilio we could not use
  BACKPRESSURE: 'backpressure',
  TIMEOUT: 'timeout',
  PROVIDER_HTTP: 'provider-http', // a provider answered with an error status
  PROVIDER_NETWORK: 'provider-network', // could not reach a provider
  ABORTED: 'aborted', // cancelled on purpose (barge-in, hang-up)
  DSP: 'dsp',
  THREAD: 'thread',
  INTERNAL: 'internal', // a bug
  DISK: 'disk', // a file could not be written or read (a recording)
  RECORDS: 'records', // the records database failed or was too slow
} as const;
export type ErrorKindName = (typeof ErrorKind)[keyof typeof ErrorKind];

function initialLevel(env: NodeJS.ProcessEnv): LogLevel {
  const fromEnv = env['LOG_LEVEL']?.trim().toLowerCase();
  if (fromEnv && (LOG_LEVELS as readonly string[]).includes(fromEnv)) return fromEnv as LogLevel;
  // under the test runner, keep the output to problems unless asked otherwise
  return env['VITEST'] ? 'warn' : 'info';
}

/** A pino JSON logger with our conventions (ISO time, `service` field, `err` serialised). */
export function createLogger(options: { level?: LogLevel; destination?: pino.DestinationStream } = {}): Logger {
  const opts: pino.LoggerOptions = {
    level: options.level ?? initialLevel(process.env),
    base: { service: 'ai-crmd', pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err },
  };
  return options.destination ? pino(opts, options.destination) : pino(opts);
}

/** The process-wide logger. Its level comes from LOG_LEVEL at import; setLogLevel applies the validated config. */
export const log: Logger = createLogger();

export function setLogLevel(level: LogLevel): void {
  log.level = level;
}

/** A child logger whose every line carries the call's ids. */
export function callLogger(callSid: string | undefined, streamSid: string | undefined, parent: Logger = log): Logger {
  return parent.child({ callSid, streamSid });
}

/**
 * Logs one failure in the house style: `{ event, errKind, err, ...fields }` at `error` (or the given level).
 * Example: logError(callLog, LogEvent.PROVIDER_ERROR, ErrorKind.TIMEOUT, err, { provider: 'openai', latencyMs })
 */
export function logError(
  logger: Logger,
  event: LogEventName,
  errKind: ErrorKindName,
  err: unknown,
  fields: Record<string, unknown> = {},
  level: 'error' | 'warn' | 'fatal' = 'error',
): void {
  const msg = err instanceof Error ? err.message : err === undefined ? event : String(err);
  logger[level]({ event, errKind, ...(err instanceof Error ? { err } : {}), ...fields }, msg);
}
