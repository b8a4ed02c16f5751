// A one-shot timer with sub-millisecond resolution for the thread's frame clock (src/audio/precise-timer.ts).
// setTimeout's delays are whole milliseconds and libuv's loop time is cached per iteration, so a 5 ms sub-tick armed
// with it fires anywhere from on time to ~1.5 ms late. This timer is a Linux timerfd watched by a uv_poll_t on the
// environment's own loop: the kernel wakes the loop at the exact deadline, and the callback runs on the JS thread
// like any timer's (MakeCallback: microtasks and nextTicks run after it). Elsewhere the addon does not export it.
#ifndef AI_CRMD_PRECISE_TIMER_H_
#define AI_CRMD_PRECISE_TIMER_H_

#include <napi.h>

namespace timing {

#if defined(__linux__)
// The PreciseTimer class: new PreciseTimer(callback); arm(delayMs), disarm(), close(), isArmed, isClosed.
Napi::Function DefinePreciseTimer(Napi::Env env);
#endif

}  // namespace timing

#endif  // AI_CRMD_PRECISE_TIMER_H_
