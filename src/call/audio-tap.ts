// What a call's audio recording needs from the call engine, as an interface: the engine hands each started stream's
// audio to a tap, which only copies (the files, threads and formats live behind it, in src/recording/). The caller's
// frames go in at their place on the stream's clock (the session's stream time, gap fill included), the agent's at
// the tick the playout says Twilio plays them; a clear takes back what was sent but not yet played. Every method is
// on the per-frame path: it must not log, await or throw, and allocates nothing per frame but a short-lived view.

/** Opens the tap of one stream (the registry is handed one when RECORD_AUDIO is on; null otherwise). */
export interface CallAudioTaps {
  /** `startedAtClockMs`: the thread clock's time (FrameClock.nowMs) of the accepted start, stream time 0. */
  open(callSid: string, streamSid: string, startedAtClockMs: number): StreamAudioTap;
}

export interface StreamAudioTap {
  /** One inbound 160-byte mu-law frame placed at `streamMs` on the stream's clock (read before it returns). */
  onCallerFrame(payload: Uint8Array, streamMs: number): void;
  /** One outbound frame (160 bytes of `ring` from `offset`) that Twilio plays at clock tick `playTick`. */
  onAgentFrame(ring: Uint8Array, offset: number, playTick: number): void;
  /** Playback was cleared at `positionTick` (fractional): frames sent for later ticks are never played. */
  onAgentClear(positionTick: number): void;
  /** This call's clock tick (after the playout's): what now plays is final. */
  onTick(tickIndex: number, dueMs: number): void;
  /** The stream ended: the partial blocks go out and the recording of this stream is over. Idempotent. */
  close(): void;
}
