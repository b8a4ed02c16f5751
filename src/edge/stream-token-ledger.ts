// One stream per call: a stream token is good for one `start`. The first stream that presents a token consumes it;
// a second stream with the same token (while the first is live or after it ended) is refused as a replay. Twilio
// opens one bidirectional stream per call, so an honest call never presents a token twice.
// The ledger is behind a small asynchronous interface so that it can live where every stream can reach it: in the
// main thread for the edge threads of one process (src/edge/threads.ts routes the question there), and later in the
// shared database when several instances run. Entries live until the token's own expiry (a token cannot be used
// after it anyway), and the set is bounded: past maxEntries the oldest entry goes (counted), which needs more
// distinct, validly signed tokens within one TTL than any real line takes.

export interface StreamTokenLedger {
  /**
   * Records `tokenKey` (valid until `expiresAtMs`) as used. Resolves true the first time, false for a replay. Rejects
   * only when the ledger cannot be reached (the stream is then refused).
   */
  consume(tokenKey: string, expiresAtMs: number): Promise<boolean>;
}

/** The key a token is remembered by: the call it was made for and the token itself (its MAC is unique). */
export function streamTokenKey(callSid: string, token: string): string {
  return `${callSid} ${token}`;
}

export const DEFAULT_MAX_LEDGER_ENTRIES = 100_000;

export interface MemoryStreamTokenLedgerOptions {
  maxEntries?: number;
  /** Wall clock, ms since the epoch (token expiries are on it). Default Date.now. */
  nowMs?: () => number;
}

/** The ledger of one process, in memory. */
export class MemoryStreamTokenLedger implements StreamTokenLedger {
  /** key -> expiry; insertion order is about expiry order (one TTL per config), so expired entries are at the front. */
  private readonly expiries = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly nowMs: () => number;
  /** Entries dropped before their expiry to keep the bound. */
  evictions = 0;

  constructor(options: MemoryStreamTokenLedgerOptions = {}) {
    const maxEntries = options.maxEntries ?? DEFAULT_MAX_LEDGER_ENTRIES;
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`options.maxEntries must be a positive integer (got ${maxEntries})`);
    }
    this.maxEntries = maxEntries;
    this.nowMs = options.nowMs ?? Date.now;
  }

  get size(): number {
    return this.expiries.size;
  }

  consume(tokenKey: string, expiresAtMs: number): Promise<boolean> {
    return Promise.resolve(this.consumeNow(tokenKey, expiresAtMs));
  }

  /** consume(), answered at once (the main thread answers the edge threads with it). */
  consumeNow(tokenKey: string, expiresAtMs: number): boolean {
    this.expire(this.nowMs());
    if (this.expiries.has(tokenKey)) return false;
    if (this.expiries.size >= this.maxEntries) {
      const oldest = this.expiries.keys().next();
      if (oldest.done !== true) this.expiries.delete(oldest.value);
      this.evictions++;
    }
    this.expiries.set(tokenKey, expiresAtMs);
    return true;
  }

  /** Drops expired entries from the front (amortised O(1) per consume). */
  private expire(nowMs: number): void {
    for (const [key, expiresAtMs] of this.expiries) {
      if (expiresAtMs >= nowMs) return;
      this.expiries.delete(key);
    }
  }
}

/** How long an edge thread waits for the main thread's answer before refusing the stream. */
export const LEDGER_ANSWER_TIMEOUT_MS = 2_000;

export interface StreamTokenQuestion {
  requestId: number;
  tokenKey: string;
  expiresAtMs: number;
}

/**
 * An edge thread's view of the process's ledger, which lives in the main thread: each question goes there as a
 * message (`send`), and the thread hands the answers to `onAnswer`. A question not answered in time rejects.
 */
export class RemoteStreamTokenLedger implements StreamTokenLedger {
  private readonly pending = new Map<number, { resolve: (isFirstUse: boolean) => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  private nextRequestId = 1;

  constructor(
    private readonly send: (question: StreamTokenQuestion) => void,
    private readonly answerTimeoutMs = LEDGER_ANSWER_TIMEOUT_MS,
  ) {}

  consume(tokenKey: string, expiresAtMs: number): Promise<boolean> {
    return new Promise((resolve, reject) => {
      const requestId = this.nextRequestId++;
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new Error(`the main thread did not answer a stream-token question within ${this.answerTimeoutMs} ms`));
      }, this.answerTimeoutMs);
      this.pending.set(requestId, { resolve, reject, timer });
      this.send({ requestId, tokenKey, expiresAtMs });
    });
  }

  onAnswer(requestId: number, isFirstUse: boolean): void {
    const entry = this.pending.get(requestId);
    if (entry === undefined) return; // timed out already
    this.pending.delete(requestId);
    clearTimeout(entry.timer);
    entry.resolve(isFirstUse);
  }
}
