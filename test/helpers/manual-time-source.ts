// A manual time source for the clock (src/audio/clock.ts's TimeSource) in deterministic tests and benchmarks: time
// moves only when advanced, and a timer fires when its time comes (its delay rounded up to whole milliseconds, as
// setTimeout's). Test-only: production runs on real time.
import type { TimeSource } from '../../src/audio/clock.js';

/** A manual time source for deterministic tests: time moves only when advanced; a timer fires when its time comes. */
export class ManualTimeSource implements TimeSource {
  private now: number;
  private nextId = 1;
  private readonly timers = new Map<number, { atMs: number; fn: () => void }>();
  /** Extra lateness added to each timer as it is armed (to simulate a busy event loop). */
  latenessMs: (armedAtMs: number) => number = () => 0;

  constructor(startMs = 1000) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  setTimer(fn: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.timers.set(id, { atMs: this.now + Math.max(1, Math.ceil(delayMs)) + this.latenessMs(this.now), fn });
    return id;
  }

  clearTimer(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pendingTimers(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that comes due, in order. */
  advance(ms: number): void {
    const target = this.now + ms;
    for (;;) {
      let nextId = -1;
      let nextAt = Infinity;
      for (const [id, t] of this.timers) {
        if (t.atMs < nextAt) {
          nextAt = t.atMs;
          nextId = id;
        }
      }
      if (nextId < 0 || nextAt > target) break;
      const timer = this.timers.get(nextId)!;
      this.timers.delete(nextId);
      if (nextAt > this.now) this.now = nextAt;
      timer.fn();
    }
    this.now = target;
  }
}
