// One 20 ms clock per thread, for every call's playout. Tick n is due at t0 + n x 20 ms on a monotonic clock, and
// each wake-up re-arms the timer to the next *absolute* deadline: a late wake-up never pushes later ticks back, so
// lateness never accumulates and a call's playback length stays exact (a late pass tells each handler how many ticks
// it covers, and the handler catches up in that pass). There is never a timer per call.
//
// A pass over hundreds of playing calls takes milliseconds (one socket write each), so the period is cut into
// `phases` sub-ticks (default 4 x 5 ms) and each subscriber is placed in one phase bucket (the emptiest): a sub-tick
// serves only its bucket, so no single pass grows with the number of calls and the calls are not all late at once.
// Pass hooks (the batched inbound DSP) run at the end of every pass, after the buckets that fell due: the sends go
// first, so that no frame waits on inbound work (a barge-in found by the batch clears from the next pass on).
// The clock runs only while it has at least one subscriber: with none, no timer is left behind.

import { FRAME_MS } from '../twilio/media-format.js';

export const DEFAULT_PHASES = 4;

/** Where the clock reads time and arms its timer. Injected in tests (a manual clock) for deterministic runs. */
export interface TimeSource {
  /** Monotonic milliseconds (fractional). */
  nowMs(): number;
  /** Arms a one-shot timer `delayMs` (fractional, >= 0) from now; the clock keeps at most one armed. */
  setTimer(fn: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
  /** Frees what the source holds (FrameClock.dispose()); optional. */
  close?(): void;
  /** How early, by nowMs(), its timer may fire; the clock's default early tolerance (absent: 1 ms). */
  readonly timerEarlyMs?: number;
}

/**
 * performance.now() (monotonic, sub-millisecond) and setTimeout, whose delays are whole milliseconds: rounded up,
 * so that a timer never fires before its deadline. The threads' clocks use the precise timer where the platform
 * has one (src/audio/precise-timer.ts).
 */
export const realTimeSource: TimeSource = {
  nowMs: () => performance.now(),
  setTimer: (fn, delayMs) => setTimeout(fn, Math.ceil(delayMs)),
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
  // libuv fires against its loop time, whole milliseconds behind performance.now()
  timerEarlyMs: 1,
};

/**
 * Called once per pass of the subscriber's phase. `tickIndex` is the latest tick due for this phase, `dueMs` its
 * deadline, `ticksCovered` how many ticks this call stands for (1 on time, more when the clock was late).
 * Positional arguments, so that a tick allocates nothing.
 */
export type TickHandler = (tickIndex: number, dueMs: number, nowMs: number, ticksCovered: number) => void;

/** Runs at the end of every pass (every sub-tick that fired), whatever the phase; `nowMs` is when the hooks began. */
export type PassHook = (nowMs: number) => void;

export interface ClockSubscription {
  /** The phase bucket: this subscriber's ticks are due at t0 + n x frameMs + phase x frameMs / phases. */
  readonly phase: number;
  unsubscribe(): void;
}

export interface FrameClockOptions {
  /** Tick period; default 20. */
  frameMs?: number;
  /** Sub-ticks per period (phase buckets); default 4. */
  phases?: number;
  time?: TimeSource;
  /** A timer that fires this early (timer granularity) still serves its sub-tick; default the source's timerEarlyMs. */
  earlyToleranceMs?: number;
  /** Handler exceptions are caught (a timer must never throw) and reported here. */
  onHandlerError?: (error: unknown) => void;
}

export interface ClockStats {
  /** Timer wake-ups that served at least one sub-tick. */
  passes: number;
  /** Sub-ticks that were already overdue when a later one fired: served in the same pass (catch-up). */
  subTicksMerged: number;
  /** Lateness of the latest due sub-tick at the start of its pass. */
  lateMsMax: number;
  lateMsSum: number;
  /** When the last pass started (its first send); a pass hook's time minus this is how long its sends took. */
  lastPassStartMs: number;
  handlerErrors: number;
}

class Subscriber implements ClockSubscription {
  isActive = true;
  /** Index in its bucket's array. */
  slot = -1;
  lastTick = -1;
  constructor(
    readonly phase: number,
    readonly handler: TickHandler,
    private readonly clock: FrameClock,
  ) {}

  unsubscribe(): void {
    this.clock.remove(this);
  }
}

export class FrameClock {
  readonly frameMs: number;
  readonly phases: number;
  readonly subTickMs: number;
  readonly stats: ClockStats = { passes: 0, subTicksMerged: 0, lateMsMax: 0, lateMsSum: 0, lastPassStartMs: 0, handlerErrors: 0 };

  private readonly time: TimeSource;
  private readonly earlyToleranceMs: number;
  private readonly onHandlerError: ((error: unknown) => void) | undefined;
  private readonly buckets: Subscriber[][];
  private readonly hooks: PassHook[] = [];
  private subscriberCount = 0;
  private t0 = 0;
  /** Global index of the next sub-tick to serve (sub-tick j is due at t0 + j x subTickMs). */
  private nextSubTick = 0;
  private timer: unknown = null;
  /** When the armed sub-tick is due (serveIfDue's one comparison). */
  private armedDueMs = Infinity;
  private isRunningFlag = false;
  private isInPass = false;
  private readonly removedInPass: Subscriber[] = [];
  private readonly onTimerBound = (): void => this.onTimer();

  constructor(options: FrameClockOptions = {}) {
    const frameMs = options.frameMs ?? FRAME_MS;
    const phases = options.phases ?? DEFAULT_PHASES;
    if (!(frameMs > 0)) throw new RangeError(`options.frameMs must be a positive number (got ${frameMs})`);
    if (!Number.isInteger(phases) || phases < 1 || phases > 64) {
      throw new RangeError(`options.phases must be an integer from 1 to 64 (got ${phases})`);
    }
    this.frameMs = frameMs;
    this.phases = phases;
    this.subTickMs = frameMs / phases;
    this.time = options.time ?? realTimeSource;
    this.earlyToleranceMs = options.earlyToleranceMs ?? this.time.timerEarlyMs ?? 1;
    this.onHandlerError = options.onHandlerError;
    this.buckets = Array.from({ length: phases }, () => []);
  }

  get isRunning(): boolean {
    return this.isRunningFlag;
  }

  get subscribers(): number {
    return this.subscriberCount;
  }

  nowMs(): number {
    return this.time.nowMs();
  }

  /** Subscribers per phase bucket (for tests and metrics). */
  bucketSizes(): number[] {
    return this.buckets.map((b) => b.length);
  }

  /** Adds a subscriber to the emptiest phase bucket (or the given one); starts the clock if it was stopped. */
  subscribe(handler: TickHandler, phase?: number): ClockSubscription {
    let chosen = 0;
    if (phase !== undefined) {
      if (!Number.isInteger(phase) || phase < 0 || phase >= this.phases) {
        throw new RangeError(`phase must be an integer from 0 to ${this.phases - 1} (got ${phase})`);
      }
      chosen = phase;
    } else {
      for (let k = 1; k < this.phases; k++) {
        if (this.buckets[k]!.length < this.buckets[chosen]!.length) chosen = k;
      }
    }
    const sub = new Subscriber(chosen, handler, this);
    const bucket = this.buckets[chosen]!;
    sub.slot = bucket.length;
    bucket.push(sub);
    this.subscriberCount++;
    if (this.isRunningFlag) {
      // The last tick this bucket was served at, so that the first call covers exactly one tick.
      const lastServed = this.nextSubTick - 1 - chosen;
      sub.lastTick = lastServed >= 0 ? Math.floor(lastServed / this.phases) : -1;
    } else {
      this.start();
    }
    return sub;
  }

  /** Adds a hook run at the end of every pass. Hooks do not keep the clock running. Returns its remover. */
  addPassHook(hook: PassHook): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  /** @internal Called by ClockSubscription.unsubscribe(); idempotent. */
  remove(sub: Subscriber): void {
    if (!sub.isActive) return;
    sub.isActive = false;
    this.subscriberCount--;
    if (this.isInPass) this.removedInPass.push(sub);
    else this.detach(sub);
    if (this.subscriberCount === 0) this.stop();
  }

  /** Stops the clock, drops every subscriber and closes its time source (thread shutdown); the clock is not reused. */
  dispose(): void {
    for (const bucket of this.buckets) {
      for (const sub of bucket) sub.isActive = false;
      bucket.length = 0;
    }
    this.subscriberCount = 0;
    this.hooks.length = 0;
    this.stop();
    this.time.close?.();
  }

  private detach(sub: Subscriber): void {
    const bucket = this.buckets[sub.phase]!;
    const last = bucket.pop()!;
    if (last !== sub) {
      bucket[sub.slot] = last;
      last.slot = sub.slot;
    }
    sub.slot = -1;
  }

  private start(): void {
    this.isRunningFlag = true;
    this.t0 = this.time.nowMs();
    this.nextSubTick = 0;
    this.arm();
  }

  private stop(): void {
    this.isRunningFlag = false;
    if (this.timer !== null) {
      this.time.clearTimer(this.timer);
      this.timer = null;
    }
  }

  /** Arms the timer for the next sub-tick's absolute deadline (skipping phases nobody is in: fewer wake-ups). */
  private arm(): void {
    for (let skipped = 1; skipped < this.phases && this.buckets[this.nextSubTick % this.phases]!.length === 0; skipped++) {
      this.nextSubTick++;
    }
    const dueMs = this.t0 + this.nextSubTick * this.subTickMs;
    this.armedDueMs = dueMs;
    const delayMs = Math.max(0, dueMs - this.time.nowMs());
    this.timer = this.time.setTimer(this.onTimerBound, delayMs);
  }

  /**
   * Serves the armed sub-tick now if it is due, rather than when the timer's turn comes: called between inbound
   * messages, so that a pass does not wait for the loop to finish a batch of socket reads (one batch after a stall
   * held hundreds, each 5-10 us). When nothing is due this is one clock read and one comparison.
   */
  serveIfDue(): void {
    if (this.timer === null || this.isInPass) return;
    if (this.time.nowMs() + this.earlyToleranceMs < this.armedDueMs) return;
    this.time.clearTimer(this.timer);
    this.onTimer();
  }

  private onTimer(): void {
    this.timer = null;
    if (!this.isRunningFlag) return;
    const nowMs = this.time.nowMs();
    // The latest sub-tick that is due now (a timer may fire slightly early: tolerate that much).
    const latest = Math.floor((nowMs + this.earlyToleranceMs - this.t0) / this.subTickMs);
    if (latest >= this.nextSubTick) this.pass(latest, nowMs);
    if (this.isRunningFlag && this.timer === null) this.arm();
  }

  /** Per-frame path (each sub-tick): serves each phase that fell due since the last pass, once, oldest first. */
  private pass(latest: number, nowMs: number): void {
    const phases = this.phases;
    const stats = this.stats;
    stats.passes++;
    stats.lastPassStartMs = nowMs;
    stats.subTicksMerged += latest - this.nextSubTick;
    const lateMs = nowMs - (this.t0 + latest * this.subTickMs);
    if (lateMs > 0) {
      stats.lateMsSum += lateMs;
      if (lateMs > stats.lateMsMax) stats.lateMsMax = lateMs;
    }
    this.isInPass = true;
    try {
      // A bucket is served once per pass, at the latest tick due for it (older ones are covered by ticksCovered).
      const first = Math.max(this.nextSubTick, latest - phases + 1);
      for (let j = first; j <= latest; j++) {
        const phase = j % phases;
        const tickIndex = (j - phase) / phases;
        const dueMs = this.t0 + j * this.subTickMs;
        const bucket = this.buckets[phase]!;
        const count = bucket.length; // subscribers added during the pass wait for their next sub-tick
        for (let s = 0; s < count; s++) {
          const sub = bucket[s]!;
          if (!sub.isActive) continue;
          const covered = sub.lastTick < 0 ? 1 : tickIndex - sub.lastTick;
          if (covered <= 0) continue;
          sub.lastTick = tickIndex;
          try {
            sub.handler(tickIndex, dueMs, nowMs, covered);
          } catch (error) {
            this.reportError(error);
          }
        }
      }
      // The hooks after the sends: a frame's send time must not wait on the inbound batch (on a busy thread that
      // was ~0.5 ms of every frame's lateness, and its variation was the pacing error).
      const hooksAtMs = this.hooks.length > 0 ? this.time.nowMs() : nowMs;
      for (let h = 0; h < this.hooks.length; h++) {
        try {
          this.hooks[h]!(hooksAtMs);
        } catch (error) {
          this.reportError(error);
        }
      }
    } finally {
      this.isInPass = false;
      this.nextSubTick = latest + 1;
      if (this.removedInPass.length > 0) {
        for (const sub of this.removedInPass) this.detach(sub);
        this.removedInPass.length = 0;
      }
    }
  }

  private reportError(error: unknown): void {
    this.stats.handlerErrors++;
    this.onHandlerError?.(error);
  }
}
