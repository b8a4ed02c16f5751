// What happens once a call is over, in the main thread beside the records: its summary is written (summarizer.ts)
// and kept in its record, and delivered to the business's webhook (summary-outbox.ts). It listens to the control
// plane's call events and Twilio's status callbacks:
// - a stream's end makes its call due after settleMs (the last records are written first); a call whose stream
//   ended in a transfer may come back to the agent, so it waits for Twilio's final status, or transferSettleMs;
// - a stream that starts again (the call came back) puts its call back to waiting;
// - at start, calls that ended in the last day without a summary are summarized (a restart loses nothing), and the
//   outbox's undelivered rows go on being retried.
// Bounded: calls waiting at most MAX_WAITING (the oldest are summarized first when it is full), summaries written
// MAX_CONCURRENT at a time, a summary that fails retried MAX_SUMMARY_ATTEMPTS times before the transcript goes out
// without one.
import type { CallEvent } from '../call/events.js';
import type { CallStatusUpdate } from '../control/call-recorder.js';
import { ErrorKind, LogEvent, log as processLog, type Logger } from '../observability/log.js';
import type { RecordsDatabase } from '../records/database.js';
import { claimSummaries } from '../records/instances.js';
import type { CallRecord } from '../records/queries.js';
import { transcriptLines, type EndOfCallSummary } from './summarizer.js';
import type { SummaryOutbox } from './summary-outbox.js';

/** Twilio's final call statuses. */
const FINAL_STATUSES = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);
export const MAX_WAITING = 10_000;
const MAX_CONCURRENT = 4;
export const MAX_SUMMARY_ATTEMPTS = 4;
/** Reads of a record whose end is not written yet, before its summary is left to the next start. */
const MAX_LOOKS_FOR_THE_END = 20;
/** The summary of a call in which nobody spoke (no model is asked). */
export const NO_CONVERSATION_SUMMARY = 'Nobody spoke on this call.';
/** Ended calls looked at again at start. */
const RESUME_WINDOW_MS = 24 * 3_600_000;
/** How often dead instances' unsummarized calls are looked for (with several instances). */
const DEFAULT_TAKEOVER_EVERY_MS = 30_000;

export interface AfterCallOptions {
  database: RecordsDatabase;
  readCall(callSid: string): Promise<CallRecord | null>;
  /** Writes the summary; rejects when it cannot (retried). */
  summarize(call: CallRecord, signal: AbortSignal): Promise<EndOfCallSummary>;
  outbox: SummaryOutbox;
  /** The agent file's summary.webhook; none: summaries are only kept in the records. */
  webhookUrl?: string;
  settleMs?: number;
  transferSettleMs?: number;
  /** How often due work is looked for (default 1 s). */
  pollMs?: number;
  /** The first summary retry's delay (doubling; default 5 s). */
  retryInitialMs?: number;
  /**
   * This process among several on one database (records' instances.ts): at start and every takeoverEveryMs it takes
   * over (claims) the unsummarized calls of dead instances, never a live one's. Without it: every unsummarized call
   * of the last day, at start only (one instance).
   */
  instance?: { id: string; deadInstances(): readonly string[]; takeoverEveryMs?: number };
  log?: Logger;
}

interface Waiting {
  dueAtMs: number;
  attempts: number;
  wasTransferred: boolean;
  /** Times the record was read before its end was written. */
  looks?: number;
}

export interface AfterCallCounters {
  summarized: number;
  summaryFailures: number;
  /** Calls whose transcript went out without a summary (every attempt failed). */
  unsummarized: number;
}

export class AfterCallWork {
  readonly counters: AfterCallCounters = { summarized: 0, summaryFailures: 0, unsummarized: 0 };
  private readonly waiting = new Map<string, Waiting>();
  private readonly transferred = new Set<string>();
  private readonly running = new Set<string>();
  private readonly log: Logger;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private isPassRunning = false;
  private isDeliveryRunning = false;
  private isResuming = false;
  private lastResumeAtMs = 0;

  constructor(private readonly options: AfterCallOptions) {
    this.log = options.log ?? processLog;
  }

  /** Starts the periodic pass; resumes what a previous process left. Never rejects. */
  async start(): Promise<void> {
    this.timer = setInterval(() => this.pass(Date.now()), this.options.pollMs ?? 1_000);
    this.timer.unref();
    await this.resume();
  }

  /** Queues the calls another (dead) process left without a summary. Never rejects. */
  private async resume(): Promise<void> {
    if (this.isResuming) return;
    this.isResuming = true;
    this.lastResumeAtMs = Date.now();
    try {
      const since = Date.now() - RESUME_WINDOW_MS;
      const instance = this.options.instance;
      const left = instance !== undefined
        ? await claimSummaries(this.options.database.db, instance.id, instance.deadInstances(), since, MAX_WAITING)
        : (await this.options.database.db
          .selectFrom('calls')
          .select('call_sid')
          .where('ended_at_ms', 'is not', null)
          .where('ended_at_ms', '>=', since)
          .where('summarized_at_ms', 'is', null)
          .limit(MAX_WAITING)
          .execute()).map((row) => row.call_sid);
      const now = Date.now();
      let queued = 0;
      for (const callSid of left) {
        if (this.waiting.has(callSid) || this.running.has(callSid)) continue;
        this.wait(callSid, { dueAtMs: now, attempts: 0, wasTransferred: false });
        queued++;
      }
      if (queued > 0) this.log.info({ event: LogEvent.CALL_SUMMARY, calls: queued }, 'summarizing calls another process left without a summary');
    } catch (error) {
      this.log.error({ event: LogEvent.CALL_SUMMARY, errKind: ErrorKind.INTERNAL, err: error }, 'could not look for calls left without a summary');
    } finally {
      this.isResuming = false;
    }
  }

  /** Stops the pass and aborts summaries in flight (their calls are picked up again at the next start). */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.abort.abort(new Error('shutting down'));
  }

  /** Calls waiting for their summary (tests, metrics). */
  get waitingCalls(): number {
    return this.waiting.size;
  }

  onCallEvent(event: CallEvent): void {
    switch (event.kind) {
      case 'call-started':
        // came back from a transfer: not over yet
        this.waiting.delete(event.callSid);
        this.transferred.delete(event.callSid);
        return;
      case 'transfer':
        this.transferred.add(event.callSid);
        if (this.transferred.size > MAX_WAITING) this.transferred.delete(this.transferred.values().next().value as string);
        return;
      case 'call-ended': {
        const wasTransferred = this.transferred.delete(event.callSid);
        const delayMs = wasTransferred ? (this.options.transferSettleMs ?? 10 * 60_000) : (this.options.settleMs ?? 3_000);
        this.wait(event.callSid, { dueAtMs: Date.now() + delayMs, attempts: 0, wasTransferred });
        return;
      }
      default:
        return;
    }
  }

  onCallStatus(update: CallStatusUpdate): void {
    if (!FINAL_STATUSES.has(update.status)) return;
    const waiting = this.waiting.get(update.callSid);
    // a transferred call is over once Twilio says so (the settle still lets the last records land)
    if (waiting?.wasTransferred === true) waiting.dueAtMs = Math.min(waiting.dueAtMs, Date.now() + (this.options.settleMs ?? 3_000));
  }

  private wait(callSid: string, entry: Waiting): void {
    if (this.waiting.size >= MAX_WAITING && !this.waiting.has(callSid)) {
      // full: the longest-waiting call is due now rather than dropped
      const oldest = this.waiting.keys().next().value as string;
      const first = this.waiting.get(oldest)!;
      first.dueAtMs = Math.min(first.dueAtMs, Date.now());
    }
    this.waiting.delete(callSid);
    this.waiting.set(callSid, entry);
  }

  /** One pass: due summaries started (within the concurrency bound), then due deliveries. Never throws. */
  pass(nowMs: number): void {
    if (this.isPassRunning) return;
    this.isPassRunning = true;
    try {
      for (const [callSid, entry] of this.waiting) {
        if (this.running.size >= MAX_CONCURRENT) break;
        if (entry.dueAtMs > nowMs || this.running.has(callSid)) continue;
        this.waiting.delete(callSid);
        void this.summarizeOne(callSid, entry);
      }
    } finally {
      this.isPassRunning = false;
    }
    // a dead instance is known only once its beat went stale: look again now and then
    const instance = this.options.instance;
    if (instance !== undefined && nowMs - this.lastResumeAtMs >= (instance.takeoverEveryMs ?? DEFAULT_TAKEOVER_EVERY_MS)) void this.resume();
    if (!this.isDeliveryRunning) {
      this.isDeliveryRunning = true;
      this.options.outbox.deliverDue(nowMs).catch((error: unknown) => {
        this.log.error({ event: LogEvent.CALL_SUMMARY, errKind: ErrorKind.INTERNAL, err: error }, 'could not read the summary outbox (the database may be down)');
      }).finally(() => {
        this.isDeliveryRunning = false;
      });
    }
  }

  private async summarizeOne(callSid: string, entry: Waiting): Promise<void> {
    this.running.add(callSid);
    try {
      const call = await this.options.readCall(callSid);
      if (call === null || call.endedAt === null) {
        // its end is not written yet (the records' writer is behind, or the database is slow): look again later
        const looks = (entry.looks ?? 0) + 1;
        if (looks <= MAX_LOOKS_FOR_THE_END) this.wait(callSid, { ...entry, looks, dueAtMs: Date.now() + (this.options.retryInitialMs ?? 5_000) });
        else this.log.warn({ event: LogEvent.CALL_SUMMARY, callSid }, 'the call\'s end never reached its record; not summarized (a restart looks again)');
        return;
      }
      let summary: EndOfCallSummary | null = null;
      try {
        // nobody said anything: nothing for the model to read (and nothing to pay it for)
        summary = transcriptLines(call).length === 0
          ? { summary: NO_CONVERSATION_SUMMARY, disposition: 'no-conversation', fields: {} }
          : await this.options.summarize(call, this.abort.signal);
        this.counters.summarized++;
      } catch (error) {
        if (this.abort.signal.aborted) return;
        this.counters.summaryFailures++;
        const attempts = entry.attempts + 1;
        if (attempts < MAX_SUMMARY_ATTEMPTS) {
          const retryInMs = (this.options.retryInitialMs ?? 5_000) * 2 ** (attempts - 1);
          this.log.warn({ event: LogEvent.CALL_SUMMARY, errKind: ErrorKind.PROVIDER_HTTP, callSid, attempts, retryInMs, err: error }, 'call summary failed; will retry');
          if (!this.waiting.has(callSid)) this.wait(callSid, { ...entry, attempts, dueAtMs: Date.now() + retryInMs });
          return;
        }
        this.counters.unsummarized++;
        this.log.error({ event: LogEvent.CALL_SUMMARY, errKind: ErrorKind.PROVIDER_HTTP, callSid, attempts, err: error }, 'call summary failed every attempt; the transcript goes out without one');
      }
      // a stream that started again meanwhile (the call came back) makes this summary early: it is redone at its end
      await this.options.outbox.store(call, summary, this.options.webhookUrl, Date.now());
      this.log.info({ event: LogEvent.CALL_SUMMARY, callSid, disposition: summary?.disposition }, 'call summary written');
      this.pass(Date.now()); // its delivery need not wait for the next pass
    } catch (error) {
      // the database: the call is tried again later
      if (this.abort.signal.aborted) return;
      this.log.error({ event: LogEvent.CALL_SUMMARY, errKind: ErrorKind.INTERNAL, callSid, err: error }, 'could not read or write the call\'s summary; will retry');
      if (!this.waiting.has(callSid)) this.wait(callSid, { ...entry, dueAtMs: Date.now() + (this.options.retryInitialMs ?? 5_000) });
    } finally {
      this.running.delete(callSid);
    }
  }
}
