// A caller turn's provider budget: one deadline shared by every stage of the turn (the DSP jobs, transcription, the
// reply's first tokens, the first sentence's synthesis), counted from the end of the caller's speech, the same origin
// as the turn's latency figures (TurnLatency.originMs). Each stage keeps its own limit as well, so a stage's
// effective limit is min(its own, what is left of the turn's budget): without the shared one, the limits add up
// (ASR 1.8 s, then chat 1.8 s) and a hung chat left the caller in silence for well over 2 s.
// The budget is only for the reply's first audio: once that is handed to the playout the caller is hearing the
// reply, and later sentences are bound by their stages' own limits alone (release()).
import { DeadlineExceeded } from './provider-call.js';

export class TurnBudget {
  /** performance.now() by which the turn's first audio must be ready. */
  readonly deadlineAtMs: number;
  readonly totalMs: number;
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;

  /** `originMs`: performance.now() of the end of speech; `totalMs`: TURN_DEADLINE_MS. */
  constructor(originMs: number, totalMs: number, nowMs = performance.now()) {
    this.totalMs = totalMs;
    this.deadlineAtMs = originMs + totalMs;
    const leftMs = this.deadlineAtMs - nowMs;
    if (leftMs <= 0) this.expire();
    else this.timer = setTimeout(() => this.expire(), leftMs);
  }

  /** Aborted with a DeadlineExceeded (scope 'turn') when the budget runs out; never after release(). */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isExpired(): boolean {
    return this.controller.signal.aborted;
  }

  /** Milliseconds left (0 once expired; Infinity once released). */
  remainingMs(nowMs = performance.now()): number {
    if (this.isExpired) return 0;
    if (this.timer === undefined) return Infinity;
    return Math.max(0, this.deadlineAtMs - nowMs);
  }

  /** The first audio is ready (or the turn is over): the budget no longer binds anything. */
  release(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private expire(): void {
    this.timer = undefined;
    this.controller.abort(new DeadlineExceeded(this.totalMs, 'turn'));
  }
}
