// Environment -> typed Config, read and validated once at start-up with zod. A bad start names every bad variable
// and what it should be, in one ConfigError, rather than failing on the first. A `.env` file in the working
// directory is read when present (the real environment wins); `.env.example` documents every variable.
// Security is on unless switched off on purpose: without TWILIO_AUTH_TOKEN the server refuses to start unless
// INSECURE_DEV_MODE=1 (no signature checks, loopback HOST only) or INSECURE_DEV_MODE=public (no checks, any HOST).
import { existsSync, readFileSync } from 'node:fs';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { LOG_LEVELS, type LogLevel } from './observability/log.js';
import { MAX_PLAYOUT_LEAD_FRAMES } from './call/playout.js';
import { DEFAULT_BARGE_IN_WORDS_AFTER_MS, DEFAULT_BARGE_IN_WORDS_WAIT_MS } from './call/turns.js';
import { DEFAULT_STREAM_TOKEN_TTL_MS, deriveStreamTokenSecret, streamUrlFor } from './twilio/signature.js';
import { loadAgentFile, type AgentFileContents } from './agent/agent-file/load.js';
import { mergeAgentWithEnv, signedDestinations } from './agent/agent-file/merge.js';
import type { ResolvedAgent } from './agent/agent-file/resolved-agent.js';
import { editDistance } from './agent/agent-file/closest-name.js';

export type AgentKind = 'echo' | 'openai';
export type TtsProvider = 'google' | 'openai';
export type GoogleAudioEncoding = 'LINEAR16' | 'MULAW';
/** off: signatures checked (a token is set). loopback: INSECURE_DEV_MODE=1. public: INSECURE_DEV_MODE=public. */
export type InsecureDevMode = 'off' | 'loopback' | 'public';

export interface Config {
  port: number;
  host: string;
  /** Origin Twilio uses to reach us (https://host[:port]), no trailing slash. Signatures are checked against it. */
  publicBaseUrl: string;
  /** wss://host/ws/twilio-media (ws:// for an http base): what the TwiML points at and what Twilio signs. */
  streamUrl: string;
  twilioAccountSid: string | undefined;
  twilioAuthToken: string | undefined;
  /** false only in insecure development mode (no TWILIO_AUTH_TOKEN). */
  isSignatureCheckOn: boolean;
  /** Which insecure development mode runs: 'off' whenever TWILIO_AUTH_TOKEN is set (INSECURE_DEV_MODE is then ignored). */
  insecureDevMode: InsecureDevMode;
  streamTokenSecret: string;
  /** Where streamTokenSecret came from: STREAM_TOKEN_SECRET, derived from the auth token, or random (dev mode). */
  streamTokenSecretSource: 'env' | 'auth-token' | 'random';
  streamTokenTtlMs: number;
  /** CONTROL_API_KEY: the Bearer token of /api; undefined: the control API answers 404. */
  controlApiKey: string | undefined;
  edgeThreads: number;
  dspThreads: number;
  drainTimeoutS: number;
  logLevel: LogLevel;
  ws: {
    maxPayloadLength: number; idleTimeoutS: number; maxBackpressureBytes: number; slowClientOverflowMs: number;
    /** A socket without a valid `start` this long after it opened is closed (WS_START_TIMEOUT_S). */
    startTimeoutS: number;
    /** Sockets awaiting their start one edge thread keeps; beyond it upgrades get 503 (WS_MAX_SOCKETS_AWAITING_START). */
    maxSocketsAwaitingStart: number;
  };
  playout: { leadFrames: number };
  /** Only the VAD options that were set; the DSP's defaults apply to the rest. */
  vad: { onsetMs?: number; hangoverMs?: number; marginDb?: number; minSpeechDbfs?: number };
  /**
   * earlyReplyPauseMs (EARLY_REPLY_PAUSE_MS, used with streaming ASR): a quiet stretch this long inside a turn
   * commits the words so far and asks for the reply speculatively; 0: off. earlyReplyAudio (EARLY_REPLY_AUDIO): its
   * first sentence is synthesized while it is held.
   */
  turns: { minTurnMs: number; maxTurnMs: number; earlyReplyPauseMs: number; earlyReplyAudio: boolean };
  /**
   * `resume`: a barge-in that turns out to be nothing (a cough, a backchannel) lets the agent's line go on. With
   * streaming ASR, wordsAfterMs (BARGE_IN_WORDS_AFTER_MS; 0: off): at this much speech a pending barge-in's words are
   * committed early, and waited for at most wordsWaitMs (BARGE_IN_WORDS_WAIT_MS): real words barge in at once,
   * backchannel words hold it off (src/call/turns.ts).
   */
  bargeIn: { enabled: boolean; minSpeechMs: number; resume: boolean; wordsAfterMs: number; wordsWaitMs: number };
  /**
   * The agent: the AGENT_FILE's settings under the environment's single-field overrides (see ResolvedAgent: greeting,
   * systemPrompt, voicemailLine, transfers, tools, callerMemory, summary).
   */
  agent: ResolvedAgent & { kind: AgentKind };
  /** WEBHOOK_SIGNING_SECRET: signs every request to the agent file's tools and summary webhook; required when any is declared. */
  webhookSigningSecret: string | undefined;
  /** One language setting, mapped per provider (Whisper "he", Google "he-IL"). */
  language: { code: string; whisper: string; google: string };
  openai: {
    apiKey: string | undefined;
    baseUrl: string | undefined;
    asrModel: string;
    /**
     * Streaming transcription over the realtime API while the caller speaks (ASR_STREAMING=auto: on for the
     * gpt-4o(-mini)-transcribe models, never for whisper-1; off: batch uploads only), and how long after a turn's end
     * its streamed transcript is waited for before the batch upload starts too (ASR_STREAMING_WAIT_MS).
     */
    asrStreaming: boolean;
    asrStreamingWaitMs: number;
    chatModel: string;
    /** A second chat model for a reply the first fails to begin (OPENAI_CHAT_FALLBACK_MODEL); undefined: none. */
    chatFallbackModel: string | undefined;
    /** The end-of-call summary's model (OPENAI_SUMMARY_MODEL, default the chat model). */
    summaryModel: string;
    ttsModel: string;
    ttsVoice: string;
  };
  /** The synthesizer, and the one asked when it fails inside a turn (TTS_FALLBACK; undefined: none). */
  tts: { provider: TtsProvider; fallback: TtsProvider | undefined };
  google: {
    /** The whole service-account JSON (GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON), validated to parse. */
    credentialsJson: string | undefined;
    /** GOOGLE_APPLICATION_CREDENTIALS: path to a credentials file. */
    applicationCredentials: string | undefined;
    /** GOOGLE_TTS_API_ENDPOINT: http(s) URL of a TTS endpoint (regional or a local fake). */
    apiEndpoint: string | undefined;
    voice: string | undefined;
    audioEncoding: GoogleAudioEncoding;
    /** Sentences streamed over gRPC: GOOGLE_TTS_STREAMING=auto (the default) and a voice that streams (isGoogleStreamingVoice). */
    streaming: boolean;
    /** GOOGLE_TTS_GRPC_ENDPOINT: http(s) URL of the gRPC endpoint streamed synthesis uses; default apiEndpoint's. */
    grpcEndpoint: string | undefined;
  };
  /** turnMs: TURN_DEADLINE_MS, the budget a turn's stages share up to its first audio, from the end of speech. */
  timeouts: { asrMs: number; llmMs: number; ttsMs: number; turnMs: number };
  /** How a reply's first sentence is cut for sooner first audio (FIRST_CLAUSE_MIN_CHARS, FIRST_SENTENCE_MAX_CHARS). */
  replyCut: { firstClauseMinChars?: number; firstMaxChars?: number };
  /** Only the DSP pool options that were set; the pool's defaults apply to the rest. */
  dspPool: { jobTimeoutMs?: number; maxQueue?: number; maxPendingBytes?: number };
  /** Call records (src/records/): SQLite in dataDir unless databaseUrl (PostgreSQL) is set; RECORDS=off: none. */
  records: { enabled: boolean; dataDir: string; databaseUrl: string | undefined };
  /** The end-of-call summary (src/crm/): on with the AI agent and the records, unless CALL_SUMMARIES=off. */
  callSummaries: boolean;
  /** RECORD_AUDIO: each call as a two-channel WAV (caller, agent) in dir (DATA_DIR/recordings; src/recording/). */
  recordAudio: { enabled: boolean; dir: string };
  /** Twilio's REST API for call control (src/control/twilio-rest.ts). */
  twilioApi: {
    /** TWILIO_API_BASE_URL: where the SDK's REST requests go instead of https://api.twilio.com; undefined = Twilio's. */
    baseUrl: string | undefined;
    /** TWILIO_CALLER_ID: the From of outbound calls that name none (E.164). */
    callerId: string | undefined;
    /** TWILIO_API_TIMEOUT_MS: deadline of each REST request. */
    timeoutMs: number;
    /** TRANSFER_DIAL_TIMEOUT_S: how long a transfer rings before the call comes back to the agent. */
    transferDialTimeoutS: number;
  };
}

export class ConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((p) => `  - ${p}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// One schema per variable: string | undefined in, typed value out, with a message that says what it should be.

const SECRET_VARS = new Set(['TWILIO_AUTH_TOKEN', 'OPENAI_API_KEY', 'GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON', 'STREAM_TOKEN_SECRET', 'CONTROL_API_KEY', 'DATABASE_URL', 'WEBHOOK_SIGNING_SECRET']);

/** Blank values (`FOO=` in a .env file) count as unset. */
const text = () =>
  z
    .string()
    .optional()
    .transform((s) => {
      const t = s?.trim();
      return t === undefined || t === '' ? undefined : t;
    });

function intVar(min: number, max: number, what = 'an integer') {
  return text().transform((s, ctx): number | undefined => {
    if (s === undefined) return undefined;
    const n = /^[+-]?\d+$/.test(s) ? Number(s) : NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue(`must be ${what} from ${min} to ${max}`);
      return z.NEVER;
    }
    return n;
  });
}

function numVar(min: number, max: number) {
  return text().transform((s, ctx): number | undefined => {
    if (s === undefined) return undefined;
    const n = /^[+-]?(\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : NaN;
    if (!Number.isFinite(n) || n < min || n > max) {
      ctx.addIssue(`must be a number from ${min} to ${max}`);
      return z.NEVER;
    }
    return n;
  });
}

function enumVar<T extends string>(values: readonly T[], aliases: Record<string, T> = {}) {
  return text().transform((s, ctx): T | undefined => {
    if (s === undefined) return undefined;
    const v = s.toLowerCase();
    const hit = values.find((x) => x.toLowerCase() === v) ?? aliases[v];
    if (hit === undefined) {
      ctx.addIssue(`must be one of ${[...values, ...Object.keys(aliases)].join(', ')}`);
      return z.NEVER;
    }
    return hit;
  });
}

const TRUE_WORDS = ['on', 'true', '1', 'yes'];
const FALSE_WORDS = ['off', 'false', '0', 'no'];
function boolVar() {
  return text().transform((s, ctx): boolean | undefined => {
    if (s === undefined) return undefined;
    const v = s.toLowerCase();
    if (TRUE_WORDS.includes(v)) return true;
    if (FALSE_WORDS.includes(v)) return false;
    ctx.addIssue('must be on or off (also true/false, 1/0, yes/no)');
    return z.NEVER;
  });
}

function urlVar(protocols: readonly string[], mustBeOrigin = false) {
  return text().transform((s, ctx): string | undefined => {
    if (s === undefined) return undefined;
    let url: URL;
    try {
      url = new URL(s);
    } catch {
      ctx.addIssue(`must be a URL starting with ${protocols.map((p) => p + '//').join(' or ')}`);
      return z.NEVER;
    }
    if (!protocols.includes(url.protocol)) {
      ctx.addIssue(`must be a URL starting with ${protocols.map((p) => p + '//').join(' or ')}`);
      return z.NEVER;
    }
    if (mustBeOrigin && ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash || url.username)) {
      ctx.addIssue(`must be just scheme and host, like https://example.com (no path, query or credentials)`);
      return z.NEVER;
    }
    // An origin is kept as typed (not url.origin, which lowercases the host): Twilio signs the URL as it was entered
    // in its console, so a lowercased copy could fail every signature check.
    return s.replace(/\/+$/, '');
  });
}

function patternVar(pattern: RegExp, what: string) {
  return text().transform((s, ctx): string | undefined => {
    if (s === undefined) return undefined;
    if (!pattern.test(s)) {
      ctx.addIssue(`must be ${what}`);
      return z.NEVER;
    }
    return s;
  });
}

/** DATABASE_URL: a PostgreSQL URL (its value is never echoed: it may hold a password). */
function postgresUrlVar() {
  return text().transform((s, ctx): string | undefined => {
    if (s === undefined) return undefined;
    let protocol = '';
    try {
      protocol = new URL(s).protocol;
    } catch {
      protocol = '';
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      ctx.addIssue('must be a PostgreSQL URL like postgres://user:password@host:5432/dbname (leave it unset to keep the records in SQLite under DATA_DIR)');
      return z.NEVER;
    }
    return s;
  });
}

/**
 * INSECURE_DEV_MODE: only these three spellings, so that a guess (`true`, `yes`, `on`) is an error that lists them
 * rather than a silent choice of how exposed an unchecked server may be.
 */
const INSECURE_DEV_MODE_VALUES: ReadonlyMap<string, InsecureDevMode> = new Map([['1', 'loopback'], ['public', 'public'], ['0', 'off']]);
function insecureDevModeVar() {
  return text().transform((s, ctx): InsecureDevMode | undefined => {
    if (s === undefined) return undefined;
    const mode = INSECURE_DEV_MODE_VALUES.get(s.toLowerCase());
    if (mode === undefined) {
      ctx.addIssue('must be 1 (no signature checks, loopback HOST only), public (no checks, any HOST or https:// PUBLIC_BASE_URL: on purpose) or 0 (off)');
      return z.NEVER;
    }
    return mode;
  });
}

/** 127.0.0.0/8 and ::1 (also written as IPv4-mapped or in full): a server bound there is unreachable from other hosts. */
const LOOPBACK_V6 = new BlockList();
LOOPBACK_V6.addAddress('::1', 'ipv6');
LOOPBACK_V6.addSubnet('::ffff:127.0.0.0', 104, 'ipv6');
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  return isIPv6(h) && LOOPBACK_V6.check(h, 'ipv6');
}

/**
 * Set variables whose names look like a misspelling of `name` (TWILLIO_AUTH_TOKEN, twilio_auth_token,
 * TWILIO_AUTHTOKEN), so that the refusal can point at the typo. Names only: the values may be secrets.
 */
function nearMissNames(env: NodeJS.ProcessEnv, name: string, alsoIf: (squashed: string) => boolean): string[] {
  const squash = (s: string): string => s.toUpperCase().replace(/[^A-Z0-9]/g, '');
  const target = squash(name);
  return Object.keys(env)
    .filter((key) => key !== name && !CONFIG_VARIABLE_SET.has(key) && (env[key]?.trim() ?? '') !== '')
    .filter((key) => editDistance(squash(key), target) <= 3 || alsoIf(squash(key)))
    .sort();
}

const EnvSchema = z.object({
  PORT: intVar(0, 65535),
  HOST: patternVar(/^[^\s/]+$/, 'a host name or IP address to listen on (e.g. 0.0.0.0)'),
  PUBLIC_BASE_URL: urlVar(['https:', 'http:'], true),
  TWILIO_ACCOUNT_SID: patternVar(/^AC[0-9a-fA-F]{32}$/, 'AC followed by 32 hex digits'),
  TWILIO_AUTH_TOKEN: patternVar(/^\S+$/, 'the auth token from the Twilio console (no spaces)'),
  INSECURE_DEV_MODE: insecureDevModeVar(),
  TWILIO_API_BASE_URL: urlVar(['https:', 'http:']),
  TWILIO_CALLER_ID: patternVar(/^\+[1-9]\d{1,14}$/, 'an E.164 phone number: + and the country code, up to 15 digits (e.g. +972501234567)'),
  TWILIO_API_TIMEOUT_MS: intVar(500, 60_000, 'a number of milliseconds'),
  TRANSFER_DIAL_TIMEOUT_S: intVar(5, 600, 'a number of seconds'), // Twilio's <Dial timeout> range
  STREAM_TOKEN_SECRET: patternVar(/^\S{16,}$/, 'at least 16 characters without spaces'),
  STREAM_TOKEN_TTL_S: intVar(5, 600, 'a number of seconds'),
  CONTROL_API_KEY: patternVar(/^\S{24,}$/, 'at least 24 characters without spaces (a Bearer token for /api)'),
  EDGE_THREADS: intVar(0, 256), // 0: serve in the main thread (no workers)
  DSP_THREADS: intVar(1, 256),
  DSP_JOB_TIMEOUT_MS: intVar(50, 60_000, 'a number of milliseconds'),
  DSP_MAX_QUEUE: intVar(1, 100_000),
  DSP_MAX_PENDING_MB: intVar(1, 4096, 'a number of MiB'),
  DRAIN_TIMEOUT_S: intVar(0, 3600, 'a number of seconds'),
  LOG_LEVEL: enumVar(LOG_LEVELS),
  WS_MAX_PAYLOAD_BYTES: intVar(1024, 16 * 1024 * 1024, 'a number of bytes'),
  WS_IDLE_TIMEOUT_S: text().transform((s, ctx): number | undefined => {
    if (s === undefined) return undefined;
    const n = /^\d+$/.test(s) ? Number(s) : NaN;
    if (!(n === 0 || (n >= 8 && n <= 960))) {
      ctx.addIssue('must be 0 (off) or from 8 to 960 seconds'); // uWebSockets.js's own limits
      return z.NEVER;
    }
    return n;
  }),
  WS_MAX_BACKPRESSURE_BYTES: intVar(1024, 64 * 1024 * 1024, 'a number of bytes'),
  SLOW_CLIENT_OVERFLOW_MS: intVar(20, 600_000, 'a number of milliseconds'),
  WS_START_TIMEOUT_S: intVar(1, 120, 'a number of seconds'),
  WS_MAX_SOCKETS_AWAITING_START: intVar(1, 100_000, 'a number of sockets'),
  PLAYOUT_LEAD_FRAMES: intVar(0, MAX_PLAYOUT_LEAD_FRAMES, 'a number of 20 ms frames'),
  VAD_ONSET_MS: intVar(20, 2000, 'a number of milliseconds'),
  VAD_HANGOVER_MS: intVar(20, 5000, 'a number of milliseconds'),
  VAD_MARGIN_DB: numVar(0, 60),
  VAD_MIN_SPEECH_DBFS: numVar(-120, 0),
  TURN_MIN_MS: intVar(0, 60_000, 'a number of milliseconds'),
  TURN_MAX_MS: intVar(1000, 600_000, 'a number of milliseconds'),
  EARLY_REPLY_PAUSE_MS: intVar(0, 5000, 'a number of milliseconds (a multiple of 20; 0: off)'),
  EARLY_REPLY_AUDIO: boolVar(),
  BARGE_IN: boolVar(),
  BARGE_IN_MIN_SPEECH_MS: intVar(0, 5000, 'a number of milliseconds'),
  BARGE_IN_RESUME: boolVar(),
  BARGE_IN_WORDS_AFTER_MS: intVar(0, 5000, 'a number of milliseconds (0: off)'),
  BARGE_IN_WORDS_WAIT_MS: intVar(0, 5000, 'a number of milliseconds'),
  AGENT: enumVar(['echo', 'openai'] as const, { ai: 'openai' }),
  AGENT_FILE: text(),
  WEBHOOK_SIGNING_SECRET: patternVar(/^\S{32,}$/, 'at least 32 characters without spaces (the HMAC key of X-AiCrmd-Signature)'),
  GREETING: text(),
  VOICEMAIL_LINE: text(),
  SYSTEM_PROMPT: text(),
  SYSTEM_PROMPT_FILE: text(),
  LANGUAGE: patternVar(/^[a-zA-Z]{2,3}(-[a-zA-Z]{2,4})?$/, 'a language code such as he, he-IL, en or en-US'),
  OPENAI_API_KEY: patternVar(/^\S+$/, 'an OpenAI API key (no spaces)'),
  OPENAI_BASE_URL: urlVar(['https:', 'http:']),
  OPENAI_ASR_MODEL: text(),
  ASR_STREAMING: enumVar(['auto', 'off'] as const),
  ASR_STREAMING_WAIT_MS: intVar(0, 10_000, 'a number of milliseconds'),
  OPENAI_CHAT_MODEL: text(),
  OPENAI_SUMMARY_MODEL: text(),
  OPENAI_CHAT_FALLBACK_MODEL: text(),
  CALL_SUMMARIES: boolVar(),
  OPENAI_TTS_MODEL: text(),
  OPENAI_TTS_VOICE: text(),
  TTS_PROVIDER: enumVar(['google', 'openai'] as const),
  TTS_FALLBACK: enumVar(['google', 'openai', 'none'] as const),
  GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: text(),
  GOOGLE_APPLICATION_CREDENTIALS: text(),
  GOOGLE_TTS_API_ENDPOINT: urlVar(['https:', 'http:']),
  GOOGLE_TTS_VOICE: text(),
  GOOGLE_TTS_ENCODING: enumVar(['LINEAR16', 'MULAW'] as const),
  GOOGLE_TTS_STREAMING: enumVar(['auto', 'off'] as const),
  GOOGLE_TTS_GRPC_ENDPOINT: urlVar(['https:', 'http:']),
  TTS_NORMALIZE_NUMBERS: boolVar(),
  ASR_TIMEOUT_MS: intVar(100, 120_000, 'a number of milliseconds'),
  LLM_TIMEOUT_MS: intVar(100, 120_000, 'a number of milliseconds'),
  TTS_TIMEOUT_MS: intVar(100, 120_000, 'a number of milliseconds'),
  TURN_DEADLINE_MS: intVar(1000, 120_000, 'a number of milliseconds'),
  FIRST_CLAUSE_MIN_CHARS: intVar(0, 1000, 'a number of characters'),
  FIRST_SENTENCE_MAX_CHARS: intVar(10, 1000, 'a number of characters'),
  RECORDS: boolVar(),
  RECORD_AUDIO: boolVar(),
  DATA_DIR: text(),
  DATABASE_URL: postgresUrlVar(),
});

/** Every variable loadConfig reads (for docs and tests). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(EnvSchema.shape);
const CONFIG_VARIABLE_SET: ReadonlySet<string> = new Set(CONFIG_VARIABLES);

/** After a turn's end, its streamed transcript is waited for alone this long before the batch upload starts too. */
export const DEFAULT_ASR_STREAMING_WAIT_MS = 500;
/** Early replies with streaming ASR: a pause of this much inside a turn asks for the reply (0: off). */
export const DEFAULT_EARLY_REPLY_PAUSE_MS = 240;
/** The VAD's own hangover default (src/audio/dsp.ts VAD_DEFAULTS; not imported here: that module loads the addon). */
const VAD_DEFAULT_HANGOVER_MS = 700;

/** The transcription models the realtime API streams (gpt-4o-transcribe, gpt-4o-mini-transcribe, dated versions). */
export function isStreamingAsrModel(model: string): boolean {
  return /^gpt-4o(-mini)?-transcribe(-\d{4}-\d{2}-\d{2})?$/.test(model);
}

/**
 * The Google voices whose synthesis streams (StreamingSynthesize): Chirp 3: HD, named <locale>-Chirp3-HD-<voice>
 * (e.g. he-IL-Chirp3-HD-Kore). Google refuses the stream for its other voices (Wavenet, Neural2, Standard...), and
 * a voice left to Google's choice (no name) may be any of them, so it is not streamed either.
 */
export function isGoogleStreamingVoice(voiceName: string | undefined): boolean {
  return voiceName !== undefined && /^[a-z]{2,3}-[a-z0-9]{2,4}-Chirp3-HD-\w+$/i.test(voiceName);
}

/** A Twilio REST request (hang-up, transfer, outbound) abandoned after this long (src/control/twilio-rest.ts). */
export const DEFAULT_TWILIO_API_TIMEOUT_MS = 5000;
/** A transfer rings this long before it counts as no-answer and the call comes back to the agent. */
export const DEFAULT_TRANSFER_DIAL_TIMEOUT_S = 20;

/** Google wants a region; Whisper wants the bare language. A bare code gets its usual phone region. */
/** Each provider call's deadline: a hung provider must give way to the fallback line within about 2 s. */
export const DEFAULT_PROVIDER_TIMEOUT_MS = 1800;
/**
 * A turn's shared budget, from the end of speech to its first audio: the fallback's first frame must be on the wire
 * within 2 s of the caller falling silent, and after the deadline it still needs the abort to land, a pass of the
 * 20 ms clock and a late timer on a busy machine (the line is cached, or a tone is made on the spot): 300 ms.
 */
export const DEFAULT_TURN_DEADLINE_MS = 1700;
/**
 * Speech over the agent before it is cut off: a cough or an "uh-huh" (~250 ms; the VAD counts at most ~260 ms of
 * it) stays under it, speech reaches it 350-400 ms after its start (src/call/turns.ts).
 */
export const DEFAULT_BARGE_IN_MIN_SPEECH_MS = 350;
/** The agent hears of a turn one VAD hangover after the speech ended: at least this much must be left after it. */
const MIN_TURN_BUDGET_AFTER_HANGOVER_MS = 300;

const DEFAULT_REGION: Record<string, string> = {
  he: 'IL', en: 'US', ar: 'XA', ru: 'RU', es: 'ES', fr: 'FR', de: 'DE', it: 'IT', pt: 'BR', nl: 'NL',
  pl: 'PL', tr: 'TR', uk: 'UA', ja: 'JP', ko: 'KR', hi: 'IN', sv: 'SE', da: 'DK', fi: 'FI', el: 'GR',
};
const DEFAULT_GREETING: Record<string, string> = {
  he: 'שלום, במה אפשר לעזור?',
  en: 'Hello, how can I help you?',
};
const DEFAULT_SYSTEM_PROMPT =
  'You are a friendly, concise phone assistant. Answer in the caller\'s language in one or two short sentences; ' +
  'this is a voice call, so never use lists, markdown or emoji.';

/**
 * Reads `.env` from the working directory into process.env when the file exists (variables already set win).
 * Returns whether a file was read.
 */
export function loadDotEnv(path = '.env'): boolean {
  if (!existsSync(path)) return false;
  process.loadEnvFile(path);
  return true;
}

/**
 * Reads and validates the configuration. With no argument it reads `.env` (when present) into process.env first.
 * Throws ConfigError listing every problem.
 */
export function loadConfig(env?: NodeJS.ProcessEnv): Config {
  if (env === undefined) {
    loadDotEnv();
    env = process.env;
  }
  const problems: string[] = [];
  // each variable on its own, so that one bad value does not hide the cross-checks of the others
  const values: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(EnvSchema.shape)) {
    const raw = env[name];
    const result = (schema as z.ZodType).safeParse(raw);
    if (result.success) {
      values[name] = result.data;
    } else {
      const got = SECRET_VARS.has(name) || raw === undefined ? '' : ` (got ${JSON.stringify(raw.length > 60 ? raw.slice(0, 60) + '…' : raw)})`;
      for (const issue of result.error.issues) problems.push(`${name} ${issue.message}${got}`);
    }
  }
  const v = values as Partial<z.output<typeof EnvSchema>>;
  const cores = availableParallelism();

  // Twilio and the public URL
  const twilioAuthToken = v.TWILIO_AUTH_TOKEN;
  const isSignatureCheckOn = twilioAuthToken !== undefined;
  // A token always wins: INSECURE_DEV_MODE left over in a .env cannot switch the checks off.
  const insecureDevMode: InsecureDevMode = isSignatureCheckOn ? 'off' : (v.INSECURE_DEV_MODE ?? 'off');
  const isInsecureDevModeValid = 'INSECURE_DEV_MODE' in values;
  // A blank or mistyped token must not silently switch the checks off (as it once did): refuse, naming the way out.
  if (!isSignatureCheckOn && insecureDevMode === 'off' && isInsecureDevModeValid && 'TWILIO_AUTH_TOKEN' in values) {
    const isBlank = env['TWILIO_AUTH_TOKEN'] !== undefined;
    const tokenTypos = nearMissNames(env, 'TWILIO_AUTH_TOKEN', (k) => k.includes('TWIL') && (k.includes('AUTH') || k.includes('TOKEN')));
    const modeTypos = nearMissNames(env, 'INSECURE_DEV_MODE', (k) => k.includes('INSECURE'));
    problems.push(
      `TWILIO_AUTH_TOKEN is required${isBlank ? ' (it is blank)' : ''}: without it no Twilio signature or stream token is checked. ` +
        'Set it (Twilio console, Account info), or opt in to running unchecked for development with INSECURE_DEV_MODE=1 ' +
        '(loopback HOST only; `npm run dev` sets it) or INSECURE_DEV_MODE=public (any HOST, on purpose)' +
        (v.INSECURE_DEV_MODE === 'off' ? ' (INSECURE_DEV_MODE is 0)' : '') +
        tokenTypos.map((k) => `; ${k} is set: a misspelling of TWILIO_AUTH_TOKEN?`).join('') +
        modeTypos.map((k) => `; ${k} is set: a misspelling of INSECURE_DEV_MODE?`).join(''),
    );
  }
  // Loopback dev mode: nothing from another host may reach the unchecked server, neither directly (HOST) nor through a
  // tunnel or TLS front end (an https:// PUBLIC_BASE_URL is one). Either needs INSECURE_DEV_MODE=public.
  const exposedOnPurpose = 'set TWILIO_AUTH_TOKEN, or INSECURE_DEV_MODE=public to expose an unchecked server on purpose';
  if (insecureDevMode === 'loopback' && v.HOST !== undefined && !isLoopbackHost(v.HOST)) {
    problems.push(
      `HOST must be a loopback address (127.x.x.x, ::1 or localhost) with INSECURE_DEV_MODE=1, which checks no signatures (got ${JSON.stringify(v.HOST)}): ` +
        `unset HOST (it defaults to 127.0.0.1 then), or ${exposedOnPurpose}`,
    );
  }
  if (insecureDevMode === 'loopback' && v.PUBLIC_BASE_URL?.toLowerCase().startsWith('https:')) {
    problems.push(
      `PUBLIC_BASE_URL must not be https:// with INSECURE_DEV_MODE=1, which checks no signatures: an https origin is reachable from outside ` +
        `(got ${JSON.stringify(v.PUBLIC_BASE_URL)}); ${exposedOnPurpose}`,
    );
  }
  const port = v.PORT ?? 8080;
  if (isSignatureCheckOn && v.PUBLIC_BASE_URL === undefined) {
    problems.push(
      'PUBLIC_BASE_URL is required when TWILIO_AUTH_TOKEN is set: the https:// origin Twilio calls (signatures are checked against it)',
    );
  }
  const publicBaseUrl = v.PUBLIC_BASE_URL ?? `http://localhost:${port}`;
  let streamTokenSecret: string;
  let streamTokenSecretSource: Config['streamTokenSecretSource'];
  if (v.STREAM_TOKEN_SECRET !== undefined) {
    streamTokenSecret = v.STREAM_TOKEN_SECRET;
    streamTokenSecretSource = 'env';
  } else if (twilioAuthToken !== undefined) {
    streamTokenSecret = deriveStreamTokenSecret(twilioAuthToken);
    streamTokenSecretSource = 'auth-token';
  } else {
    // dev mode: tokens are not checked; the edge threads get this config (the secret with it) from the supervisor
    streamTokenSecret = randomBytes(32).toString('base64url');
    streamTokenSecretSource = 'random';
  }

  // Twilio's REST API: a base URL is an origin with an optional path prefix (a proxy's), never a query or credentials
  if (v.TWILIO_API_BASE_URL !== undefined) {
    const apiBase = new URL(v.TWILIO_API_BASE_URL);
    if (apiBase.search || apiBase.hash || apiBase.username || apiBase.password) {
      problems.push(`TWILIO_API_BASE_URL must be an origin with an optional path, like https://api.dublin.ie1.twilio.com (no query, fragment or credentials) (got ${JSON.stringify(v.TWILIO_API_BASE_URL)})`);
    }
  }

  // WebSocket limits
  const idleTimeoutS = v.WS_IDLE_TIMEOUT_S ?? 60;

  // turns
  const minTurnMs = v.TURN_MIN_MS ?? 250;
  const maxTurnMs = v.TURN_MAX_MS ?? 30_000;
  if (minTurnMs >= maxTurnMs) {
    problems.push(`TURN_MIN_MS (${minTurnMs}) must be less than TURN_MAX_MS (${maxTurnMs})`);
  }
  // a pause is counted in 20 ms frames, and only a pause shorter than the hangover comes before the turn's end
  const earlyReplyPauseMs = v.EARLY_REPLY_PAUSE_MS ?? DEFAULT_EARLY_REPLY_PAUSE_MS;
  const hangoverForPauseMs = v.VAD_HANGOVER_MS ?? VAD_DEFAULT_HANGOVER_MS;
  if (earlyReplyPauseMs % 20 !== 0) problems.push(`EARLY_REPLY_PAUSE_MS must be a multiple of 20 (got ${earlyReplyPauseMs})`);
  else if (earlyReplyPauseMs > 0 && earlyReplyPauseMs >= hangoverForPauseMs) {
    problems.push(`EARLY_REPLY_PAUSE_MS (${earlyReplyPauseMs}) must be shorter than the VAD hangover (${hangoverForPauseMs} ms): a longer pause already ends the turn; use 0 for off`);
  }
  // the turn's budget counts from the end of speech, and the VAD hangover is spent before the agent hears of the turn
  const turnDeadlineMs = v.TURN_DEADLINE_MS ?? DEFAULT_TURN_DEADLINE_MS;
  if (v.VAD_HANGOVER_MS !== undefined && turnDeadlineMs < v.VAD_HANGOVER_MS + MIN_TURN_BUDGET_AFTER_HANGOVER_MS) {
    problems.push(`TURN_DEADLINE_MS (${turnDeadlineMs}) must exceed VAD_HANGOVER_MS (${v.VAD_HANGOVER_MS}) by at least ${MIN_TURN_BUDGET_AFTER_HANGOVER_MS} ms: the turn's budget counts from the end of speech, and the hangover is spent before the agent hears of the turn`);
  }

  // the agent file, under the environment's single-field overrides
  let agentFile: { path: string; contents: AgentFileContents } | undefined;
  if (v.AGENT_FILE !== undefined) {
    const loaded = loadAgentFile(v.AGENT_FILE);
    problems.push(...loaded.problems);
    if (loaded.contents !== undefined) agentFile = { path: v.AGENT_FILE, contents: loaded.contents };
  }
  let systemPromptFromEnv = v.SYSTEM_PROMPT;
  if (v.SYSTEM_PROMPT_FILE !== undefined) {
    try {
      systemPromptFromEnv = readFileSync(v.SYSTEM_PROMPT_FILE, 'utf8').trim();
    } catch {
      problems.push(`SYSTEM_PROMPT_FILE must be the path of a readable text file (cannot read ${JSON.stringify(v.SYSTEM_PROMPT_FILE)})`);
    }
  }
  const merged = mergeAgentWithEnv(agentFile, {
    greeting: v.GREETING, systemPrompt: systemPromptFromEnv, language: v.LANGUAGE, voicemailLine: v.VOICEMAIL_LINE,
    googleVoice: v.GOOGLE_TTS_VOICE, openaiVoice: v.OPENAI_TTS_VOICE, normalizeNumbers: v.TTS_NORMALIZE_NUMBERS,
  });
  const signed = signedDestinations(merged.profile);
  if (signed.length > 0 && v.WEBHOOK_SIGNING_SECRET === undefined && 'WEBHOOK_SIGNING_SECRET' in values) {
    problems.push(
      `WEBHOOK_SIGNING_SECRET is required: AGENT_FILE ${v.AGENT_FILE ?? ''} declares ${signed.join(', ')}, and every request to them is signed ` +
        'with it (X-AiCrmd-Signature) so the receiver can check it came from this server; set at least 32 random characters (e.g. openssl rand -hex 32)',
    );
  }

  // language
  const languageCode = merged.language ?? 'he';
  const [primaryRaw = 'he', regionRaw] = languageCode.split('-');
  const primary = primaryRaw.toLowerCase();
  const region = regionRaw?.toUpperCase() ?? DEFAULT_REGION[primary];
  if (region === undefined) {
    const source = merged.languageSource === 'AGENT_FILE' ? `AGENT_FILE ${v.AGENT_FILE ?? ''}: language:` : 'LANGUAGE';
    problems.push(`${source} must carry a region for ${primary} (e.g. ${primary}-XX): Google TTS needs one (got ${JSON.stringify(languageCode)})`);
  }
  const googleLanguage = `${primary}-${region ?? 'US'}`;
  const googleVoice = merged.googleVoice ?? (googleLanguage === 'he-IL' ? 'he-IL-Wavenet-A' : undefined);

  // agent and providers
  const openaiApiKey = v.OPENAI_API_KEY;
  const agentKind: AgentKind = v.AGENT ?? (openaiApiKey !== undefined ? 'openai' : 'echo');
  if (agentKind === 'openai' && openaiApiKey === undefined) {
    problems.push('OPENAI_API_KEY is required when AGENT is ai/openai (or set AGENT=echo)');
  }
  const credentialsJson = v.GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON;
  if (credentialsJson !== undefined) {
    let isValid = false;
    try {
      const creds = JSON.parse(credentialsJson) as Record<string, unknown>;
      isValid = typeof creds['client_email'] === 'string' && typeof creds['private_key'] === 'string';
    } catch {
      isValid = false;
    }
    if (!isValid) {
      problems.push('GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON must be the whole service-account JSON (with client_email and private_key) on one line');
    }
  }
  const applicationCredentials = v.GOOGLE_APPLICATION_CREDENTIALS;
  if (applicationCredentials !== undefined && !existsSync(applicationCredentials)) {
    problems.push(`GOOGLE_APPLICATION_CREDENTIALS must be the path of a readable credentials file (no file at ${JSON.stringify(applicationCredentials)})`);
  }
  const hasGoogleCredentials = credentialsJson !== undefined || applicationCredentials !== undefined;
  const ttsProvider: TtsProvider = v.TTS_PROVIDER ?? (hasGoogleCredentials || openaiApiKey === undefined ? 'google' : 'openai');
  if (agentKind === 'openai' && ttsProvider === 'google' && !hasGoogleCredentials) {
    problems.push(
      'GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON (or GOOGLE_APPLICATION_CREDENTIALS) is required when TTS_PROVIDER is google and AGENT is openai (or set TTS_PROVIDER=openai)',
    );
  }
  // fail over to the other synthesizer when it can be reached too, unless TTS_FALLBACK says otherwise
  const otherTts: TtsProvider = ttsProvider === 'google' ? 'openai' : 'google';
  const isOtherTtsReachable = otherTts === 'google' ? hasGoogleCredentials : openaiApiKey !== undefined;
  let ttsFallback: TtsProvider | undefined = v.TTS_FALLBACK === undefined ? (isOtherTtsReachable ? otherTts : undefined)
    : v.TTS_FALLBACK === 'none' ? undefined : v.TTS_FALLBACK;
  if (ttsFallback === ttsProvider) {
    problems.push(`TTS_FALLBACK must differ from TTS_PROVIDER (both are ${ttsProvider}); use none for no fallback`);
    ttsFallback = undefined;
  } else if (ttsFallback !== undefined && !isOtherTtsReachable) {
    problems.push(ttsFallback === 'google'
      ? 'TTS_FALLBACK=google needs GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON (or GOOGLE_APPLICATION_CREDENTIALS)'
      : 'TTS_FALLBACK=openai needs OPENAI_API_KEY');
  }
  const systemPrompt = merged.systemPrompt ?? DEFAULT_SYSTEM_PROMPT;

  if (problems.length > 0) throw new ConfigError(problems);

  const vad: Config['vad'] = {};
  if (v.VAD_ONSET_MS !== undefined) vad.onsetMs = v.VAD_ONSET_MS;
  if (v.VAD_HANGOVER_MS !== undefined) vad.hangoverMs = v.VAD_HANGOVER_MS;
  if (v.VAD_MARGIN_DB !== undefined) vad.marginDb = v.VAD_MARGIN_DB;
  if (v.VAD_MIN_SPEECH_DBFS !== undefined) vad.minSpeechDbfs = v.VAD_MIN_SPEECH_DBFS;

  return {
    port,
    // loopback dev mode listens on loopback by default, so that `npm run dev` needs no HOST
    host: v.HOST ?? (insecureDevMode === 'loopback' ? '127.0.0.1' : '0.0.0.0'),
    publicBaseUrl,
    streamUrl: streamUrlFor(publicBaseUrl),
    twilioAccountSid: v.TWILIO_ACCOUNT_SID,
    twilioAuthToken,
    isSignatureCheckOn,
    insecureDevMode,
    streamTokenSecret,
    streamTokenSecretSource,
    streamTokenTtlMs: v.STREAM_TOKEN_TTL_S !== undefined ? v.STREAM_TOKEN_TTL_S * 1000 : DEFAULT_STREAM_TOKEN_TTL_MS,
    controlApiKey: v.CONTROL_API_KEY,
    edgeThreads: v.EDGE_THREADS ?? cores,
    dspThreads: v.DSP_THREADS ?? Math.max(1, cores - 1),
    drainTimeoutS: v.DRAIN_TIMEOUT_S ?? 30,
    logLevel: v.LOG_LEVEL ?? 'info',
    ws: {
      maxPayloadLength: v.WS_MAX_PAYLOAD_BYTES ?? 64 * 1024,
      idleTimeoutS,
      maxBackpressureBytes: v.WS_MAX_BACKPRESSURE_BYTES ?? 64 * 1024,
      slowClientOverflowMs: v.SLOW_CLIENT_OVERFLOW_MS ?? 2000,
      // Twilio sends `start` right after the handshake: 10 s is generous, and a socket holds little until then.
      startTimeoutS: v.WS_START_TIMEOUT_S ?? 10,
      maxSocketsAwaitingStart: v.WS_MAX_SOCKETS_AWAITING_START ?? 256,
    },
    playout: { leadFrames: v.PLAYOUT_LEAD_FRAMES ?? 3 },
    vad,
    turns: { minTurnMs, maxTurnMs, earlyReplyPauseMs, earlyReplyAudio: v.EARLY_REPLY_AUDIO ?? true },
    bargeIn: {
      enabled: v.BARGE_IN ?? true, minSpeechMs: v.BARGE_IN_MIN_SPEECH_MS ?? DEFAULT_BARGE_IN_MIN_SPEECH_MS, resume: v.BARGE_IN_RESUME ?? true,
      wordsAfterMs: v.BARGE_IN_WORDS_AFTER_MS ?? DEFAULT_BARGE_IN_WORDS_AFTER_MS, wordsWaitMs: v.BARGE_IN_WORDS_WAIT_MS ?? DEFAULT_BARGE_IN_WORDS_WAIT_MS,
    },
    agent: { kind: agentKind, ...merged.profile, greeting: merged.greeting ?? DEFAULT_GREETING[primary], systemPrompt, voicemailLine: merged.voicemailLine },
    webhookSigningSecret: v.WEBHOOK_SIGNING_SECRET,
    language: { code: languageCode, whisper: primary, google: googleLanguage },
    openai: {
      apiKey: openaiApiKey,
      baseUrl: v.OPENAI_BASE_URL,
      asrModel: v.OPENAI_ASR_MODEL ?? 'whisper-1',
      asrStreaming: v.ASR_STREAMING !== 'off' && isStreamingAsrModel(v.OPENAI_ASR_MODEL ?? 'whisper-1'),
      asrStreamingWaitMs: v.ASR_STREAMING_WAIT_MS ?? DEFAULT_ASR_STREAMING_WAIT_MS,
      chatModel: v.OPENAI_CHAT_MODEL ?? 'gpt-4o-mini',
      summaryModel: v.OPENAI_SUMMARY_MODEL ?? v.OPENAI_CHAT_MODEL ?? 'gpt-4o-mini',
      chatFallbackModel: v.OPENAI_CHAT_FALLBACK_MODEL,
      ttsModel: v.OPENAI_TTS_MODEL ?? 'gpt-4o-mini-tts',
      ttsVoice: merged.openaiVoice ?? 'alloy',
    },
    tts: { provider: ttsProvider, fallback: ttsFallback },
    google: {
      credentialsJson,
      applicationCredentials,
      apiEndpoint: v.GOOGLE_TTS_API_ENDPOINT,
      voice: googleVoice,
      audioEncoding: v.GOOGLE_TTS_ENCODING ?? 'LINEAR16',
      streaming: v.GOOGLE_TTS_STREAMING !== 'off' && isGoogleStreamingVoice(googleVoice),
      grpcEndpoint: v.GOOGLE_TTS_GRPC_ENDPOINT,
    },
    timeouts: {
      asrMs: v.ASR_TIMEOUT_MS ?? DEFAULT_PROVIDER_TIMEOUT_MS,
      llmMs: v.LLM_TIMEOUT_MS ?? DEFAULT_PROVIDER_TIMEOUT_MS,
      ttsMs: v.TTS_TIMEOUT_MS ?? DEFAULT_PROVIDER_TIMEOUT_MS,
      turnMs: turnDeadlineMs,
    },
    replyCut: {
      ...(v.FIRST_CLAUSE_MIN_CHARS !== undefined ? { firstClauseMinChars: v.FIRST_CLAUSE_MIN_CHARS } : {}),
      ...(v.FIRST_SENTENCE_MAX_CHARS !== undefined ? { firstMaxChars: v.FIRST_SENTENCE_MAX_CHARS } : {}),
    },
    dspPool: {
      ...(v.DSP_JOB_TIMEOUT_MS !== undefined ? { jobTimeoutMs: v.DSP_JOB_TIMEOUT_MS } : {}),
      ...(v.DSP_MAX_QUEUE !== undefined ? { maxQueue: v.DSP_MAX_QUEUE } : {}),
      ...(v.DSP_MAX_PENDING_MB !== undefined ? { maxPendingBytes: v.DSP_MAX_PENDING_MB * 1024 * 1024 } : {}),
    },
    records: { enabled: v.RECORDS ?? true, dataDir: v.DATA_DIR ?? './data', databaseUrl: v.DATABASE_URL },
    callSummaries: (v.CALL_SUMMARIES ?? true) && agentKind === 'openai' && (v.RECORDS ?? true),
    recordAudio: { enabled: v.RECORD_AUDIO ?? false, dir: join(v.DATA_DIR ?? './data', 'recordings') },
    twilioApi: {
      baseUrl: v.TWILIO_API_BASE_URL,
      callerId: v.TWILIO_CALLER_ID,
      timeoutMs: v.TWILIO_API_TIMEOUT_MS ?? DEFAULT_TWILIO_API_TIMEOUT_MS,
      transferDialTimeoutS: v.TRANSFER_DIAL_TIMEOUT_S ?? DEFAULT_TRANSFER_DIAL_TIMEOUT_S,
    },
  };
}

