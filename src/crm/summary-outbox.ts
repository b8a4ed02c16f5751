// The summary's way to the business: it is written into the call's record and, when the agent file names a webhook,
// into an outbox row in the same transaction; the outbox is then POSTed (signed, with a timeout) until the webhook
// accepts it (2xx), retried with exponential backoff for as long as it takes. It lives in the records database, so
// a CRM that is down, or a restart, loses nothing: the next process goes on with what is left.
import type { RecordsDatabase } from '../records/database.js';
import type { CallRecord } from '../records/queries.js';
import { ErrorKind, LogEvent, log as processLog, type Logger } from '../observability/log.js';
import type { EndOfCallSummary } from './summarizer.js';

import { SIGNATURE_HEADER } from '../agent/tools/signature.js';

export { SIGNATURE_HEADER };

/** What the webhook receives. */
export interface SummaryPayload {
  callSid: string;
  from: string | null;
  to: string | null;
  direction: string;
  startedAt: string;
  endedAt: string | null;
  durationMs: number | null;
  /** null when the summary could not be written (the model failed every attempt): the transcript still goes. */
  summary: string | null;
  disposition: string | null;
  fields: Record<string, unknown>;
  transcript: Array<{ role: string; text: string | null; heardText: string | null; at: string }>;
}

export interface SummaryOutboxOptions {
  /** The value of SIGNATURE_HEADER for `rawBody`, at `nowMs`. */
  sign(rawBody: string, nowMs: number): string;
  /** Per attempt (default 10 s). */
  timeoutMs?: number;
  /** The first retry's delay; it doubles per failure up to retryMaxMs (defaults 5 s and 1 h). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  log?: Logger;
}

export interface OutboxCounters {
  stored: number;
  delivered: number;
  failedAttempts: number;
}

/** Answer bytes read from a webhook at most (only for the log). */
const MAX_ERROR_BODY_CHARS = 200;
/** A delivery in flight keeps its row this long past its own time limit before another attempt may take it. */
const DELIVERY_LEASE_MARGIN_MS = 30_000;

export function summaryPayload(call: CallRecord, summary: EndOfCallSummary | null): SummaryPayload {
  return {
    callSid: call.callSid, from: call.from, to: call.to, direction: call.direction, startedAt: call.startedAt, endedAt: call.endedAt,
    durationMs: call.durationMs, summary: summary?.summary ?? null, disposition: summary?.disposition ?? null, fields: summary?.fields ?? {},
    transcript: call.turns.map((turn) => ({ role: turn.role, text: turn.text, heardText: turn.heardText, at: turn.startedAt })),
  };
}

export class SummaryOutbox {
  readonly counters: OutboxCounters = { stored: 0, delivered: 0, failedAttempts: 0 };
  private readonly log: Logger;

  constructor(private readonly database: RecordsDatabase, private readonly options: SummaryOutboxOptions) {
    this.log = options.log ?? processLog;
  }

  /**
   * Keeps `summary` in the call's record and, with a `webhookUrl`, queues its delivery (one per call: a second
   * store for the same call replaces an undelivered one and leaves a delivered one alone).
   */
  async store(call: CallRecord, summary: EndOfCallSummary | null, webhookUrl: string | undefined, nowMs: number): Promise<void> {
    const body = JSON.stringify(summaryPayload(call, summary));
    await this.database.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('calls')
        .set({
          summary: summary?.summary ?? null, disposition: summary?.disposition ?? null,
          summary_fields: summary !== null ? JSON.stringify(summary.fields) : null, summarized_at_ms: nowMs,
        })
        .where('call_sid', '=', call.callSid)
        .execute();
      if (webhookUrl === undefined) return;
      await trx
        .insertInto('summary_deliveries')
        .values({ call_sid: call.callSid, url: webhookUrl, body, next_attempt_at_ms: nowMs })
        .onConflict((oc) => oc.column('call_sid').doUpdateSet({ url: webhookUrl, body, next_attempt_at_ms: nowMs, attempts: 0, last_error: null })
          .where('summary_deliveries.delivered_at_ms', 'is', null))
        .execute();
    });
    this.counters.stored++;
  }

  /** Attempts the deliveries that are due (at most `limit`, one at a time); resolves with how many were accepted. */
  async deliverDue(nowMs: number, limit = 10): Promise<number> {
    const due = await this.database.db
      .selectFrom('summary_deliveries')
      .select(['call_sid', 'url', 'body', 'attempts', 'next_attempt_at_ms'])
      .where('delivered_at_ms', 'is', null)
      .where('next_attempt_at_ms', '<=', nowMs)
      .orderBy('next_attempt_at_ms', 'asc')
      .limit(limit)
      .execute();
    let delivered = 0;
    const db = this.database.db;
    for (const row of due) {
      // a lease: the row's next attempt moves past this one's end, and only the instance whose update found the time
      // it read goes on (several instances share the outbox; none posts a summary another is posting)
      const leaseMs = (this.options.timeoutMs ?? 10_000) + DELIVERY_LEASE_MARGIN_MS;
      const lease = await db.updateTable('summary_deliveries')
        .set({ next_attempt_at_ms: Date.now() + leaseMs })
        .where('call_sid', '=', row.call_sid)
        .where('delivered_at_ms', 'is', null)
        .where('next_attempt_at_ms', '=', row.next_attempt_at_ms)
        .executeTakeFirst();
      if (Number(lease.numUpdatedRows) === 0) continue;
      const attempts = Number(row.attempts) + 1;
      const problem = await this.post(row.url, row.body);
      if (problem === undefined) {
        await db.updateTable('summary_deliveries').set({ delivered_at_ms: Date.now(), attempts, last_error: null }).where('call_sid', '=', row.call_sid).execute();
        this.counters.delivered++;
        delivered++;
        this.log.info({ event: LogEvent.CALL_SUMMARY, callSid: row.call_sid, attempts }, 'call summary delivered to the webhook');
        continue;
      }
      this.counters.failedAttempts++;
      const retryInMs = Math.min(this.options.retryMaxMs ?? 3_600_000, (this.options.retryInitialMs ?? 5_000) * 2 ** Math.min(attempts - 1, 30));
      await db.updateTable('summary_deliveries')
        .set({ attempts, last_error: problem, next_attempt_at_ms: Date.now() + retryInMs })
        .where('call_sid', '=', row.call_sid)
        .execute();
      this.log.warn({ event: LogEvent.CALL_SUMMARY, errKind: ErrorKind.PROVIDER_HTTP, callSid: row.call_sid, attempts, retryInMs, problem }, 'call summary not accepted by the webhook; will retry');
    }
    return delivered;
  }

  /** undefined when the webhook accepted the body; else what went wrong. */
  private async post(url: string, body: string): Promise<string | undefined> {
    const timeoutMs = this.options.timeoutMs ?? 10_000;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', [SIGNATURE_HEADER]: this.options.sign(body, Date.now()), 'User-Agent': 'ai-crmd' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'error',
      });
      if (response.ok) {
        await response.body?.cancel().catch(() => undefined);
        return undefined;
      }
      const text = await readStart(response, MAX_ERROR_BODY_CHARS);
      return `HTTP ${response.status}${text.length > 0 ? `: ${text}` : ''}`;
    } catch (error) {
      if ((error as Error).name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      return cause?.code ?? cause?.message ?? (error as Error).message;
    }
  }
}

/** The first `maxChars` of an answer's body (the rest is not read: a webhook's error page can be of any size). */
async function readStart(response: Response, maxChars: number): Promise<string> {
  const reader = response.body?.getReader();
  if (reader === undefined) return '';
  const decoder = new TextDecoder();
  let text = '';
  try {
    while (text.length < maxChars) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    // what was read so far will do
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return text.slice(0, maxChars).replace(/\s+/g, ' ').trim();
}
