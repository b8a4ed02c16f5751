// How fast one stream may send media: real time, plus a burst. Twilio sends a 20 ms frame every 20 ms, and after a
// network hiccup it may deliver the frames it held back all at once, so a stream gets a bucket of BURST_FRAMES
// (3 s of audio) that refills a little faster than real time (REFILL_PER_FRAME_TIME frames per 20 ms), so an honest
// stream that has spent its burst earns it back. A frame that finds the bucket empty is dropped and counted; a
// stream that stays over the rate for SUSTAINED_MS (its bucket never climbs back over half) is to be closed.
// The clock is read once per frame (Date.now(), a few tens of nanoseconds; the figure is in bench/RESULTS.md).
import { FRAME_MS } from '../twilio/media-format.js';

/** Frames a stream may send ahead of real time (3 s of audio). */
export const BURST_FRAMES = 150;
/** Frames the bucket regains per 20 ms of wall time: 10% over real time. */
export const REFILL_PER_FRAME_TIME = 1.1;
/** Over the rate this long (wall time) without recovering: the stream is closed. */
export const SUSTAINED_MS = 5_000;

export type RateVerdict = 'accept' | 'drop' | 'close';

export class InboundRateLimit {
  private tokens = BURST_FRAMES;
  private lastMs: number;
  /** When the stream first found the bucket empty in its current run over the rate; -1 when it is not over. */
  private overSinceMs = -1;

  constructor(nowMs: number) {
    this.lastMs = nowMs;
  }

  /** Per-frame path: may a frame arriving at `nowMs` (wall time, ms) go through? No allocation. */
  take(nowMs: number): RateVerdict {
    const elapsedMs = nowMs - this.lastMs;
    if (elapsedMs > 0) {
      this.lastMs = nowMs;
      const tokens = this.tokens + (elapsedMs / FRAME_MS) * REFILL_PER_FRAME_TIME;
      this.tokens = tokens < BURST_FRAMES ? tokens : BURST_FRAMES;
      if (this.overSinceMs >= 0 && this.tokens > BURST_FRAMES / 2) this.overSinceMs = -1;
    }
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 'accept';
    }
    if (this.overSinceMs < 0) this.overSinceMs = nowMs;
    return nowMs - this.overSinceMs >= SUSTAINED_MS ? 'close' : 'drop';
  }
}
