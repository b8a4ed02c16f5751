// The reads the control API answers with: recent calls a page at a time, and one call whole (its row, transcript
// and events). Rows hold epoch milliseconds; everything these return says times in ISO 8601 (UTC, milliseconds).
import type { RecordsDatabase } from './database.js';
import type { CallDirection, TurnRole } from './schema.js';

export interface LatencySummary {
  /** Agent lines that carry a latency. */
  turns: number;
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}

export interface CallSummary {
  callSid: string;
  streamSid: string | null;
  direction: CallDirection;
  from: string | null;
  to: string | null;
  status: string | null;
  startedAt: string;
  answeredAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  endReason: string | null;
  agent: string | null;
  /** The engine's count of caller turns (the transcript is `turns` in CallRecord). */
  turnCount: number;
  bargeIns: number;
  latency: LatencySummary;
}

export interface CallTurn {
  role: TurnRole;
  text: string | null;
  /** What of an agent line the caller heard; null for caller turns. */
  heardText: string | null;
  startedAt: string;
  endedAt: string | null;
  latencyMs: number | null;
}

export interface CallEventRecord {
  at: string;
  kind: string;
  data: Record<string, unknown>;
}

/** The end-of-call summary (src/crm/) and its delivery to the business's webhook. */
export interface CallSummaryRecord {
  text: string | null;
  disposition: string | null;
  fields: Record<string, unknown>;
  at: string;
  /** null when no webhook was configured for it. */
  delivery: { deliveredAt: string | null; attempts: number; lastError: string | null } | null;
}

export interface CallRecord extends CallSummary {
  turns: CallTurn[];
  events: CallEventRecord[];
  /** null until the call was summarized. */
  summary: CallSummaryRecord | null;
}

/** A message a caller left (the agent's take_message), with its call. */
export interface CallerMessage {
  callSid: string;
  /** The call's From. */
  from: string | null;
  at: string;
  message: string;
  name: string | null;
  callbackNumber: string | null;
}

export interface MessagePage {
  messages: CallerMessage[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  next: string | null;
}

export interface CallPage {
  calls: CallSummary[];
  /** Pass as `before` for the next (older) page; null when there is none. */
  next: string | null;
}

/** One earlier call of a number, short (what lookup_caller gives the model). */
export interface CallerCall {
  callSid: string;
  at: string;
  direction: CallDirection;
  durationMs: number | null;
  endReason: string | null;
  /** The messages left, then the agent's last line heard, cut to CALLER_SUMMARY_CHARS. */
  summary: string;
}

/** A number's calls one lookup reads at most. */
export const MAX_CALLER_CALLS = 20;
const CALLER_SUMMARY_CHARS = 300;

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 500;
/** A page never splits the calls of one millisecond; if more than this share one, the page holds this many of them. */
const MAX_CALLS_IN_ONE_MS = 1000;

/** A bad argument to a query, naming it (the API answers 400 with it). */
export class RecordsQueryError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field} ${message}`);
    this.name = 'RecordsQueryError';
    this.field = field;
  }
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/** Epoch ms of an ISO 8601 time with a zone (Z or an offset); throws RecordsQueryError otherwise. */
export function parseIsoTime(field: string, value: string): number {
  const ms = ISO_TIME.test(value) ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms)) throw new RecordsQueryError(field, `must be an ISO 8601 time with a zone, like 2026-01-31T12:00:00.000Z (got ${JSON.stringify(value.slice(0, 40))})`);
  return ms;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(Number(ms)));
const numOrNull = (v: number | null): number | null => (v === null ? null : Number(v));

function parseData(json: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(json);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return { unparsable: json };
  }
}

const SUMMARY_COLUMNS = [
  'call_sid', 'stream_sid', 'direction', 'from_address', 'to_address', 'status', 'started_at_ms', 'answered_at_ms',
  'ended_at_ms', 'duration_ms', 'end_reason', 'agent', 'turns', 'barge_ins', 'latency_turns', 'latency_p50_ms',
  'latency_p95_ms', 'latency_max_ms',
] as const;

interface SummaryRow {
  call_sid: string; stream_sid: string | null; direction: CallDirection; from_address: string | null;
  to_address: string | null; status: string | null; started_at_ms: number; answered_at_ms: number | null;
  ended_at_ms: number | null; duration_ms: number | null; end_reason: string | null; agent: string | null;
  turns: number; barge_ins: number; latency_turns: number; latency_p50_ms: number | null; latency_p95_ms: number | null;
  latency_max_ms: number | null;
}

function toSummary(r: SummaryRow): CallSummary {
  return {
    callSid: r.call_sid,
    streamSid: r.stream_sid,
    direction: r.direction,
    from: r.from_address,
    to: r.to_address,
    status: r.status,
    startedAt: iso(Number(r.started_at_ms)),
    answeredAt: isoOrNull(r.answered_at_ms),
    endedAt: isoOrNull(r.ended_at_ms),
    durationMs: numOrNull(r.duration_ms),
    endReason: r.end_reason,
    agent: r.agent,
    turnCount: Number(r.turns),
    bargeIns: Number(r.barge_ins),
    latency: { turns: Number(r.latency_turns), p50Ms: numOrNull(r.latency_p50_ms), p95Ms: numOrNull(r.latency_p95_ms), maxMs: numOrNull(r.latency_max_ms) },
  };
}

export class RecordsReader {
  private readonly database: RecordsDatabase;

  constructor(database: RecordsDatabase) {
    this.database = database;
  }

  /**
   * Calls that started before `before` (an ISO time; default: now and later too), most recent first. `next` is
   * the `before` of the following page: a page never splits the calls that started in one millisecond, so paging
   * with it neither repeats nor skips a call.
   */
  async listCalls(options: { limit?: number; before?: string } = {}): Promise<CallPage> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new RecordsQueryError('limit', `must be an integer from 1 to ${MAX_LIST_LIMIT} (got ${String(limit)})`);
    }
    const beforeMs = options.before === undefined ? undefined : parseIsoTime('before', options.before);
    const db = this.database.db;
    let query = db.selectFrom('calls').select(SUMMARY_COLUMNS);
    if (beforeMs !== undefined) query = query.where('started_at_ms', '<', beforeMs);
    const rows = (await query.orderBy('started_at_ms', 'desc').orderBy('call_sid', 'desc').limit(limit + 1).execute()) as SummaryRow[];
    if (rows.length <= limit) return { calls: rows.map(toSummary), next: null };
    // the first call left out starts at `cut`: leave every call of that millisecond to the next page
    const cut = Number(rows[limit]!.started_at_ms);
    const page = rows.slice(0, limit).filter((r) => Number(r.started_at_ms) > cut);
    if (page.length > 0) return { calls: page.map(toSummary), next: iso(cut + 1) };
    // more than a page started in that one millisecond: return them together (up to a bound)
    const same = (await db
      .selectFrom('calls')
      .select(SUMMARY_COLUMNS)
      .where('started_at_ms', '=', cut)
      .orderBy('call_sid', 'desc')
      .limit(MAX_CALLS_IN_ONE_MS)
      .execute()) as SummaryRow[];
    const hasOlder = await db.selectFrom('calls').select('call_sid').where('started_at_ms', '<', cut).limit(1).executeTakeFirst();
    return { calls: same.map(toSummary), next: hasOlder !== undefined ? iso(cut) : null };
  }

  /**
   * The latest calls from `from` (most recent first, at most `limit`), each with a short summary: the messages taken
   * in it and the last agent line the caller heard.
   */
  async listCallsFrom(from: string, limit: number): Promise<CallerCall[]> {
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_CALLER_CALLS) {
      throw new RecordsQueryError('limit', `must be an integer from 1 to ${MAX_CALLER_CALLS} (got ${String(limit)})`);
    }
    const db = this.database.db;
    const rows = await db.selectFrom('calls').select(['call_sid', 'direction', 'started_at_ms', 'duration_ms', 'end_reason'])
      .where('from_address', '=', from).orderBy('started_at_ms', 'desc').limit(limit).execute();
    if (rows.length === 0) return [];
    const sids = rows.map((r) => r.call_sid);
    const [messages, lines] = await Promise.all([
      db.selectFrom('call_events').select(['call_sid', 'data']).where('call_sid', 'in', sids).where('kind', '=', 'message')
        .orderBy('at_ms', 'asc').limit(limit * 5).execute(),
      db.selectFrom('call_turns').select(['call_sid', 'heard_text', 'started_at_ms']).where('call_sid', 'in', sids).where('role', '=', 'agent')
        .orderBy('started_at_ms', 'desc').limit(limit * 50).execute(),
    ]);
    return rows.map((r) => {
      const left = messages.filter((m) => m.call_sid === r.call_sid).map((m) => parseData(m.data)['message']).filter((m): m is string => typeof m === 'string');
      const lastLine = lines.find((t) => t.call_sid === r.call_sid && t.heard_text !== null && t.heard_text.length > 0)?.heard_text;
      const parts = [...left.map((m) => `message left: ${m}`), ...(lastLine !== undefined && lastLine !== null ? [`agent's last line: ${lastLine}`] : [])];
      return {
        callSid: r.call_sid, at: iso(Number(r.started_at_ms)), direction: r.direction, durationMs: numOrNull(r.duration_ms), endReason: r.end_reason,
        summary: parts.join('; ').slice(0, CALLER_SUMMARY_CHARS),
      };
    });
  }

  /**
   * Messages left before `before` (an ISO time), most recent first, with their calls' From. Paged like listCalls:
   * a page never splits the messages of one millisecond (more of them than a page holds come together, bounded).
   */
  async listMessages(options: { limit?: number; before?: string } = {}): Promise<MessagePage> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
      throw new RecordsQueryError('limit', `must be an integer from 1 to ${MAX_LIST_LIMIT} (got ${String(limit)})`);
    }
    const beforeMs = options.before === undefined ? undefined : parseIsoTime('before', options.before);
    const db = this.database.db;
    const select = () => db.selectFrom('call_events as e').leftJoin('calls as c', 'c.call_sid', 'e.call_sid')
      .select(['e.call_sid', 'e.at_ms', 'e.data', 'c.from_address']).where('e.kind', '=', 'message');
    let query = select();
    if (beforeMs !== undefined) query = query.where('e.at_ms', '<', beforeMs);
    const rows = await query.orderBy('e.at_ms', 'desc').orderBy('e.id', 'desc').limit(limit + 1).execute();
    type Row = (typeof rows)[number];
    const toMessage = (r: Row): CallerMessage => {
      const data = parseData(r.data);
      const text = (key: string): string | null => (typeof data[key] === 'string' ? (data[key] as string) : null);
      return {
        callSid: r.call_sid, from: r.from_address ?? null, at: iso(Number(r.at_ms)), message: text('message') ?? '', name: text('name'),
        callbackNumber: text('callbackNumber'),
      };
    };
    if (rows.length <= limit) return { messages: rows.map(toMessage), next: null };
    const cut = Number(rows[limit]!.at_ms);
    const page = rows.slice(0, limit).filter((r) => Number(r.at_ms) > cut);
    if (page.length > 0) return { messages: page.map(toMessage), next: iso(cut + 1) };
    const same = await select().where('e.at_ms', '=', cut).orderBy('e.id', 'desc').limit(MAX_CALLS_IN_ONE_MS).execute();
    const hasOlder = await select().where('e.at_ms', '<', cut).limit(1).executeTakeFirst();
    return { messages: same.map(toMessage), next: hasOlder !== undefined ? iso(cut) : null };
  }

  /** One call with its transcript (in the order spoken) and events (in time order), or null if unknown. */
  async getCall(callSid: string): Promise<CallRecord | null> {
    const db = this.database.db;
    const row = (await db.selectFrom('calls').select(SUMMARY_COLUMNS).where('call_sid', '=', callSid).executeTakeFirst()) as SummaryRow | undefined;
    if (row === undefined) return null;
    const [turns, events, summary, delivery] = await Promise.all([
      db
        .selectFrom('call_turns')
        .select(['role', 'text', 'heard_text', 'started_at_ms', 'ended_at_ms', 'latency_ms'])
        .where('call_sid', '=', callSid)
        .orderBy('started_at_ms', 'asc')
        .orderBy('role', 'desc') // at the same instant the caller's turn comes first
        .orderBy('turn_key', 'asc')
        .execute(),
      db
        .selectFrom('call_events')
        .select(['at_ms', 'kind', 'data'])
        .where('call_sid', '=', callSid)
        .orderBy('at_ms', 'asc')
        .orderBy('id', 'asc')
        .execute(),
      db.selectFrom('calls').select(['summary', 'disposition', 'summary_fields', 'summarized_at_ms']).where('call_sid', '=', callSid).executeTakeFirst(),
      db.selectFrom('summary_deliveries').select(['delivered_at_ms', 'attempts', 'last_error']).where('call_sid', '=', callSid).executeTakeFirst(),
    ]);
    return {
      ...toSummary(row),
      turns: turns.map((t) => ({
        role: t.role,
        text: t.text,
        heardText: t.heard_text,
        startedAt: iso(Number(t.started_at_ms)),
        endedAt: isoOrNull(t.ended_at_ms),
        latencyMs: numOrNull(t.latency_ms),
      })),
      events: events.map((e) => ({ at: iso(Number(e.at_ms)), kind: e.kind, data: parseData(e.data) })),
      summary: summary === undefined || summary.summarized_at_ms === null ? null : {
        text: summary.summary,
        disposition: summary.disposition,
        fields: summary.summary_fields !== null ? parseData(summary.summary_fields) : {},
        at: iso(Number(summary.summarized_at_ms)),
        delivery: delivery === undefined ? null : { deliveredAt: isoOrNull(delivery.delivered_at_ms), attempts: Number(delivery.attempts), lastError: delivery.last_error },
      },
    };
  }
}
