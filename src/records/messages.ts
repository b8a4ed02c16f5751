// What the records are made of: plain, serializable messages (structured-clone safe), one per fact about a call.
// Edge threads post them to the main thread, which hands each to the process's one RecordWriter. Times are wall-clock
// milliseconds since the Unix epoch (`*AtMs`); a message repeated (a caller turn first without, then with its text)
// updates what it names instead of adding a second row, so every record can be written again safely.
import { CALL_DIRECTIONS, type CallDirection } from './schema.js';

export type { CallDirection } from './schema.js';

export type RecordMessage =
  /** The stream started (or the call was placed): the call's row. */
  | {
    kind: 'call-started'; callSid: string; streamSid?: string; direction: CallDirection; from?: string; to?: string;
    agent?: string; startedAtMs: number; answeredAtMs?: number;
  }
  /** One of Twilio's status callbacks (queued, initiated, ringing, in-progress, completed, busy, failed, no-answer, canceled). */
  | {
    kind: 'call-status'; callSid: string; atMs: number; status: string; direction?: CallDirection; from?: string;
    to?: string; durationMs?: number;
  }
  /** A caller turn as transcribed; `text` may come in a later message with the same turnId. */
  | {
    kind: 'caller-turn'; callSid: string; turnId: string | number; text?: string; startedAtMs: number;
    endedAtMs?: number; latencyMs?: number;
  }
  /** An agent line and what of it the caller heard (all of it unless a barge-in cut it). */
  | {
    kind: 'agent-said'; callSid: string; utteranceId: string; text: string; heardText: string; startedAtMs: number;
    endedAtMs?: number; latencyMs?: number;
  }
  /** Anything else worth keeping: dtmf, transfer, hang-up, barge-in, provider-error, fallback, ... */
  | { kind: 'call-event'; callSid: string; atMs: number; event: string; data?: Record<string, unknown> }
  | {
    kind: 'call-ended'; callSid: string; endedAtMs: number; reason: string; durationMs?: number; turns?: number;
    bargeIns?: number;
  };

export type RecordMessageKind = RecordMessage['kind'];

/** The longest text kept in one field (a transcript line, a status); longer is cut, not refused. */
export const MAX_RECORD_TEXT_CHARS = 8000;
/** Event data larger than this as JSON is replaced by a note saying so. */
export const MAX_EVENT_DATA_CHARS = 16_000;

const isText = (v: unknown): v is string => typeof v === 'string';
const isOptionalText = (v: unknown): boolean => v === undefined || typeof v === 'string';
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isOptionalCount = (v: unknown): boolean => v === undefined || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
const isSid = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= 128;

/**
 * Why a value is not a record message, or undefined when it is one. Messages cross a thread boundary, so the
 * writer checks them rather than trusting the type: one bad message must not fail a batch of good ones.
 */
export function recordMessageProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const m = value as Record<string, unknown>;
  if (!isSid(m['callSid'])) return 'callSid must be a non-empty string';
  switch (m['kind']) {
    case 'call-started':
      if (!CALL_DIRECTIONS.includes(m['direction'] as CallDirection)) return `direction must be one of ${CALL_DIRECTIONS.join(', ')}`;
      if (!isTime(m['startedAtMs'])) return 'startedAtMs must be epoch milliseconds';
      if (m['answeredAtMs'] !== undefined && !isTime(m['answeredAtMs'])) return 'answeredAtMs must be epoch milliseconds';
      if (![m['streamSid'], m['from'], m['to'], m['agent']].every(isOptionalText)) return 'streamSid, from, to and agent must be strings';
      return undefined;
    case 'call-status':
      if (!isTime(m['atMs'])) return 'atMs must be epoch milliseconds';
      if (!isText(m['status']) || m['status'] === '') return 'status must be a non-empty string';
      if (m['direction'] !== undefined && !CALL_DIRECTIONS.includes(m['direction'] as CallDirection)) return `direction must be one of ${CALL_DIRECTIONS.join(', ')}`;
      if (!isOptionalCount(m['durationMs'])) return 'durationMs must be a whole number of milliseconds';
      if (![m['from'], m['to']].every(isOptionalText)) return 'from and to must be strings';
      return undefined;
    case 'caller-turn':
      if (!(isText(m['turnId']) || (typeof m['turnId'] === 'number' && Number.isSafeInteger(m['turnId'])))) return 'turnId must be a string or an integer';
      if (!isTime(m['startedAtMs'])) return 'startedAtMs must be epoch milliseconds';
      if (m['endedAtMs'] !== undefined && !isTime(m['endedAtMs'])) return 'endedAtMs must be epoch milliseconds';
      if (!isOptionalText(m['text'])) return 'text must be a string';
      if (!isOptionalCount(m['latencyMs'])) return 'latencyMs must be a whole number of milliseconds';
      return undefined;
    case 'agent-said':
      if (!isText(m['utteranceId']) || m['utteranceId'] === '') return 'utteranceId must be a non-empty string';
      if (!isText(m['text']) || !isText(m['heardText'])) return 'text and heardText must be strings';
      if (!isTime(m['startedAtMs'])) return 'startedAtMs must be epoch milliseconds';
      if (m['endedAtMs'] !== undefined && !isTime(m['endedAtMs'])) return 'endedAtMs must be epoch milliseconds';
      if (!isOptionalCount(m['latencyMs'])) return 'latencyMs must be a whole number of milliseconds';
      return undefined;
    case 'call-event':
      if (!isTime(m['atMs'])) return 'atMs must be epoch milliseconds';
      if (!isText(m['event']) || m['event'] === '' || m['event'].length > 64) return 'event must be a name of 1 to 64 characters';
      if (m['data'] !== undefined && (typeof m['data'] !== 'object' || m['data'] === null || Array.isArray(m['data']))) return 'data must be an object';
      return undefined;
    case 'call-ended':
      if (!isTime(m['endedAtMs'])) return 'endedAtMs must be epoch milliseconds';
      if (!isText(m['reason']) || m['reason'] === '') return 'reason must be a non-empty string';
      if (![m['durationMs'], m['turns'], m['bargeIns']].every(isOptionalCount)) return 'durationMs, turns and bargeIns must be whole numbers';
      return undefined;
    default:
      return `unknown kind ${JSON.stringify(m['kind'])}`;
  }
}

/** Cuts a text to MAX_RECORD_TEXT_CHARS. */
export function clipText<T extends string | undefined>(text: T): T {
  return (text !== undefined && text.length > MAX_RECORD_TEXT_CHARS ? text.slice(0, MAX_RECORD_TEXT_CHARS) : text) as T;
}

/** Event data as the JSON kept in the database; throws TypeError for data JSON cannot hold (a cycle, a BigInt). */
export function eventDataJson(data: Record<string, unknown> | undefined): string {
  const json = JSON.stringify(data ?? {});
  if (json.length <= MAX_EVENT_DATA_CHARS) return json;
  return JSON.stringify({ truncated: true, originalChars: json.length });
}
