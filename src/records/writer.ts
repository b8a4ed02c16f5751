// The one record writer of a process. Producers (the main thread, handing on what edge threads post to it) call
// enqueue(), which never blocks and never throws: it checks the message and puts it on a bounded queue, or counts
// it as dropped when the queue is full (one error line per burst of drops) or rejected when it is malformed. The
// queue is written in batches, each in one transaction, every flushIntervalMs or as soon as maxBatchRecords are
// waiting. When the database is down, locked or stalls, the batch stays at the head of the queue and is retried
// with exponential backoff (an attempt that outlives attemptTimeoutMs is abandoned and the connections replaced),
// so a slow database costs at most the bounded queue and a counter, never a producer's time. Every write is
// idempotent (see apply-records.ts), so a retry after an unknown outcome is safe. A record the database refuses for
// its content (a constraint, a value it cannot hold) is found by writing the failed batch one record at a time and
// is rejected alone, so it cannot block the records behind it.
import { randomUUID } from 'node:crypto';
import { log as processLog, type Logger } from '../observability/log.js';
import type { RecordsDatabase } from './database.js';
import { classifyWriteFailure } from './failure-kind.js';
import { eventDataJson, recordMessageProblem, type RecordMessage } from './messages.js';
import { writeRecords, type QueuedRecord } from './apply-records.js';

/** The writer's log lines (the `event` field). */
export const RecordsLogEvent = {
  RECORDS_DROPPED: 'RECORDS_DROPPED',
  RECORDS_DROP_BURST_END: 'RECORDS_DROP_BURST_END',
  RECORDS_REJECTED: 'RECORDS_REJECTED',
  RECORDS_WRITE_FAIL: 'RECORDS_WRITE_FAIL',
  RECORDS_WRITE_RECOVERED: 'RECORDS_WRITE_RECOVERED',
  RECORDS_RECONNECT: 'RECORDS_RECONNECT',
  RECORDS_CLOSE_LEFT: 'RECORDS_CLOSE_LEFT',
} as const;

export interface RecordWriterOptions {
  /** A batch is written this long after its first record arrived, unless maxBatchRecords come first (ms). */
  flushIntervalMs?: number;
  /** Records per transaction at most. */
  maxBatchRecords?: number;
  /** Records waiting at most (the batch being written included); beyond it new records are dropped and counted. */
  maxQueuedRecords?: number;
  /** A write attempt that takes longer is given up and the connections are replaced (ms). */
  attemptTimeoutMs?: number;
  /** First retry delay after a failed write; it doubles per failure, up to retryMaxMs (ms). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** After this many failures in a row the connections are replaced (the pool reconnects by itself otherwise). */
  reconnectAfterFailures?: number;
  /**
   * Run (to success) before the first write: the migrations and closeLostCalls. It is retried with the writes, so a
   * database that is down at start delays the records, not the start.
   */
  prepare?: () => Promise<void>;
  /** This process's instance (instances.ts), marked on the calls it writes. */
  instanceId?: string;
  log?: Logger;
}

export interface RecordWriterCounters {
  /** Records waiting now. */
  queued: number;
  written: number;
  /** Records refused because the queue was full or the writer closed. */
  dropped: number;
  /** Records refused for their content (malformed, or the database refused them). */
  rejected: number;
  /** Write attempts that failed (one per attempt, not per record). */
  writeFailures: number;
  batchesWritten: number;
  reconnects: number;
  /** Failed attempts since the last success: above 0 while the database is unavailable. */
  consecutiveFailures: number;
}

class AttemptTimeout extends Error {
  constructor(ms: number) {
    super(`a records write took longer than ${ms} ms`);
    this.name = 'AttemptTimeout';
  }
}

export class RecordWriter {
  private readonly database: RecordsDatabase;
  private readonly log: Logger;
  private readonly flushIntervalMs: number;
  private readonly maxBatchRecords: number;
  private readonly maxQueuedRecords: number;
  private readonly attemptTimeoutMs: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly reconnectAfterFailures: number;
  private prepare: (() => Promise<void>) | undefined;
  /** Prefix of the event ids this writer gives: unique per writer, so ids never collide across restarts. */
  private readonly writerId = randomUUID();
  private eventSeq = 0;
  private queue: QueuedRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private isBackingOff = false;
  private pumping: Promise<void> | undefined;
  private isClosing = false;
  private dropBurst = 0;
  private rejectLogged = 0;
  private outageStartedAtMs = 0;
  private readonly instanceId: string | null;
  private readonly counts = { written: 0, dropped: 0, rejected: 0, writeFailures: 0, batchesWritten: 0, reconnects: 0, consecutiveFailures: 0 };

  constructor(database: RecordsDatabase, options: RecordWriterOptions = {}) {
    this.database = database;
    this.log = options.log ?? processLog;
    this.flushIntervalMs = options.flushIntervalMs ?? 250;
    this.maxBatchRecords = Math.max(1, options.maxBatchRecords ?? 200);
    this.maxQueuedRecords = Math.max(1, options.maxQueuedRecords ?? 10_000);
    this.attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000;
    this.retryInitialMs = options.retryInitialMs ?? 250;
    this.retryMaxMs = Math.max(this.retryInitialMs, options.retryMaxMs ?? 30_000);
    this.reconnectAfterFailures = Math.max(1, options.reconnectAfterFailures ?? 3);
    this.prepare = options.prepare;
    this.instanceId = options.instanceId ?? null;
  }

  /**
   * Takes a record to be written soon. Never blocks, never throws: false when it was dropped (queue full, writer
   * closed) or rejected (malformed). The writer keeps the object: do not change it afterwards.
   */
  enqueue(record: RecordMessage): boolean {
    try {
      if (this.isClosing) {
        this.counts.dropped++;
        return false;
      }
      const problem = recordMessageProblem(record);
      if (problem !== undefined) {
        this.reject(record, problem);
        return false;
      }
      if (this.queue.length >= this.maxQueuedRecords) {
        this.counts.dropped++;
        if (this.dropBurst++ === 0) {
          this.log.error(
            { event: RecordsLogEvent.RECORDS_DROPPED, errKind: 'records', queued: this.queue.length, consecutiveFailures: this.counts.consecutiveFailures },
            `records queue full (${this.maxQueuedRecords}): dropping new records until the database catches up`,
          );
        }
        return false;
      }
      const entry: QueuedRecord = { record };
      if (record.kind === 'call-event') {
        entry.dataJson = eventDataJson(record.data);
        entry.eventId = `${this.writerId}:${(++this.eventSeq).toString().padStart(10, '0')}`;
      }
      if (this.dropBurst > 0) {
        this.log.warn({ event: RecordsLogEvent.RECORDS_DROP_BURST_END, dropped: this.dropBurst }, `records queue has room again after ${this.dropBurst} dropped`);
        this.dropBurst = 0;
      }
      this.queue.push(entry);
      this.kick();
      return true;
    } catch (err) {
      this.reject(record, err instanceof Error ? err.message : String(err));
      return false;
    }
  }

  /** Runs the `prepare` option now (and retries it with backoff) instead of at the first record. */
  prepareNow(): void {
    if (this.prepare !== undefined && !this.isClosing) void this.pump();
  }

  readCounters(): RecordWriterCounters {
    return { queued: this.queue.length, ...this.counts };
  }

  /**
   * Stops taking records and writes what is queued, for at most timeoutMs. Resolves with how many were left
   * unwritten (counted as dropped). The database handle is the caller's to close afterwards.
   */
  async close(timeoutMs = 5000): Promise<{ left: number }> {
    this.isClosing = true;
    const deadlineMs = Date.now() + timeoutMs;
    const remainingMs = (): number => Math.max(0, deadlineMs - Date.now());
    while (this.queue.length > 0 && remainingMs() > 0) {
      this.clearTimer();
      this.isBackingOff = false;
      await raceTimeout(this.pumping ?? this.pump(), remainingMs());
      if (this.queue.length > 0 && this.counts.consecutiveFailures > 0) await sleep(Math.min(this.retryDelayMs(), remainingMs()));
    }
    // an attempt still in flight (the preparation, say) finishes before the caller closes the database
    if (this.pumping !== undefined && remainingMs() > 0) await raceTimeout(this.pumping, remainingMs());
    this.clearTimer();
    const left = this.queue.length;
    if (left > 0) {
      this.counts.dropped += left;
      this.queue = [];
      this.log.error({ event: RecordsLogEvent.RECORDS_CLOSE_LEFT, errKind: 'records', left }, `records writer closed with ${left} records unwritten`);
    }
    return { left };
  }

  private reject(record: unknown, problem: string): void {
    this.counts.rejected++;
    // a stream of bad records is one bug: log the first few, then every thousandth
    if (this.rejectLogged++ < 5 || this.counts.rejected % 1000 === 0) {
      const kind = typeof record === 'object' && record !== null ? (record as { kind?: unknown }).kind : undefined;
      this.log.error({ event: RecordsLogEvent.RECORDS_REJECTED, errKind: 'records', kind, problem, rejected: this.counts.rejected }, `record rejected: ${problem}`);
    }
  }

  private kick(): void {
    if (this.pumping !== undefined || this.isBackingOff || this.isClosing) return;
    if (this.queue.length >= this.maxBatchRecords) {
      this.clearTimer();
      this.timer = setTimeout(() => void this.pump(), 0);
    } else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.pump(), this.flushIntervalMs);
    }
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private pump(): Promise<void> {
    if (this.pumping !== undefined) return this.pumping;
    this.timer = undefined;
    this.isBackingOff = false;
    this.pumping = this.drain().finally(() => {
      this.pumping = undefined;
      if (this.queue.length > 0 && !this.isBackingOff) this.kick();
    });
    return this.pumping;
  }

  private async drain(): Promise<void> {
    if (this.prepare !== undefined && this.queue.length === 0) {
      try {
        await this.attempt([]);
      } catch (err) {
        this.onFailure(err);
        return;
      }
      this.onSuccess();
      return;
    }
    while (this.queue.length > 0) {
      const failure = await this.writeHead(this.queue.slice(0, this.maxBatchRecords));
      if (failure !== undefined) {
        this.onFailure(failure);
        return;
      }
      this.onSuccess();
      // less than a batch left: let it fill for an interval (unless closing, when everything goes now)
      if (!this.isClosing && this.queue.length < this.maxBatchRecords) return;
    }
  }

  /** Writes the batch at the head of the queue and removes what was written or rejected; returns a database failure. */
  private async writeHead(batch: QueuedRecord[]): Promise<unknown> {
    try {
      await this.attempt(batch);
      this.removeHead(batch.length);
      this.counts.written += batch.length;
      this.counts.batchesWritten++;
      return undefined;
    } catch (err) {
      if (classifyWriteFailure(err) === 'database') return err;
    }
    // the batch holds a record the database refuses: write one at a time, reject only that one
    for (const entry of batch) {
      try {
        await this.attempt([entry]);
        this.counts.written++;
      } catch (err) {
        if (classifyWriteFailure(err) === 'database') return err;
        this.reject(entry.record, `the database refused it: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.removeHead(1);
    }
    this.counts.batchesWritten++;
    return undefined;
  }

  private async attempt(entries: QueuedRecord[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const write = (async () => {
      if (this.prepare !== undefined) {
        try {
          await this.prepare();
        } catch (err) {
          // never the records' fault (whatever its class): retried, never a reason to reject them
          throw new Error(`records: preparing the database failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        this.prepare = undefined;
      }
      if (entries.length > 0) await writeRecords(this.database.db, entries, this.instanceId);
    })();
    const deadline = new Promise<never>((_, fail) => {
      timer = setTimeout(() => fail(new AttemptTimeout(this.attemptTimeoutMs)), this.attemptTimeoutMs);
    });
    try {
      await Promise.race([write, deadline]);
    } catch (err) {
      if (err instanceof AttemptTimeout) {
        // the connection may never answer: abandon it (every write is idempotent, so a late commit is harmless)
        write.catch(() => undefined);
        this.reconnect('attempt timed out');
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private removeHead(count: number): void {
    this.queue.splice(0, count);
  }

  private reconnect(why: string): void {
    this.counts.reconnects++;
    this.log.warn({ event: RecordsLogEvent.RECORDS_RECONNECT, why, reconnects: this.counts.reconnects }, `records database: reconnecting (${why})`);
    this.database.reconnect();
  }

  private retryDelayMs(): number {
    const exponent = Math.min(20, Math.max(0, this.counts.consecutiveFailures - 1));
    const base = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** exponent);
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  private onFailure(err: unknown): void {
    this.counts.writeFailures++;
    this.counts.consecutiveFailures++;
    const fields = { event: RecordsLogEvent.RECORDS_WRITE_FAIL, errKind: 'database', err, queued: this.queue.length, consecutiveFailures: this.counts.consecutiveFailures };
    const message = `records write failed: ${err instanceof Error ? err.message : String(err)}`;
    if (this.counts.consecutiveFailures === 1) {
      this.outageStartedAtMs = Date.now();
      this.log.error(fields, message);
    } else {
      this.log.debug(fields, message);
    }
    if (!(err instanceof AttemptTimeout) && this.counts.consecutiveFailures % this.reconnectAfterFailures === 0) {
      this.reconnect(`${this.counts.consecutiveFailures} failures in a row`);
    }
    if (this.isClosing) return; // close() drives the retries itself, within its deadline
    this.clearTimer();
    this.isBackingOff = true;
    this.timer = setTimeout(() => void this.pump(), this.retryDelayMs());
    this.timer.unref();
  }

  private onSuccess(): void {
    if (this.counts.consecutiveFailures === 0) return;
    this.log.info(
      { event: RecordsLogEvent.RECORDS_WRITE_RECOVERED, failures: this.counts.consecutiveFailures, outageMs: Date.now() - this.outageStartedAtMs, queued: this.queue.length },
      'records writes work again',
    );
    this.counts.consecutiveFailures = 0;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/** Waits for the promise or ms, whichever is first; never rejects. */
async function raceTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => undefined), new Promise<void>((done) => { timer = setTimeout(done, ms); })]);
  clearTimeout(timer);
}
