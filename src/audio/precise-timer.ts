// The frame clock's time source on a precise timer (native/precise-timer.h): performance.now() and one native
// one-shot timer armed to the exact (fractional) deadline. setTimeout rounds a delay to whole milliseconds and
// libuv fires it against loop time cached per iteration, so a 5 ms sub-tick fired up to ~1.5 ms late: at 500 calls
// that quantization was most of the clock's lateness. Where the addon has no PreciseTimer, setTimeout it is.
import type { TimeSource } from './clock.js';
import { realTimeSource } from './clock.js';
import { addon, type NativePreciseTimer } from './native-addon.js';

/** Which timer wakes the frame clocks in this process ('timerfd' on Linux; /version reports it). */
export type ClockTimerKind = 'timerfd' | 'setTimeout';

export const CLOCK_TIMER_KIND: ClockTimerKind = addon.PreciseTimer !== undefined ? 'timerfd' : 'setTimeout';

/**
 * A TimeSource for one FrameClock on the precise timer, or setTimeout's (realTimeSource) where there is none.
 * It holds one timer, as the clock arms one at a time: setTimer while one is pending replaces it. The native timer
 * (one fd) is made on first use and freed by close() (FrameClock.dispose()), or by GC.
 */
export function createClockTimeSource(): TimeSource {
  const PreciseTimer = addon.PreciseTimer;
  if (PreciseTimer === undefined) return realTimeSource;
  let timer: NativePreciseTimer | null = null;
  let isClosed = false;
  let pending: (() => void) | null = null;
  // A fresh token per arming, so that clearing a timer that already fired (or was replaced) does nothing.
  let armedToken: object | null = null;
  const onFire = (): void => {
    const fn = pending;
    pending = null;
    armedToken = null;
    fn?.();
  };
  return {
    // never early (both clocks are CLOCK_MONOTONIC); the margin is for the float sums of the deadlines
    timerEarlyMs: 0.01,
    nowMs: () => performance.now(),
    setTimer: (fn, delayMs) => {
      if (isClosed) throw new Error('clock time source: setTimer() after close()');
      timer ??= new PreciseTimer(onFire);
      pending = fn;
      armedToken = {};
      timer.arm(delayMs > 0 ? delayMs : 0);
      return armedToken;
    },
    clearTimer: (handle) => {
      if (handle === null || handle !== armedToken) return;
      armedToken = null;
      pending = null;
      timer?.disarm();
    },
    close: () => {
      isClosed = true;
      pending = null;
      armedToken = null;
      timer?.close();
      timer = null;
    },
  };
}
