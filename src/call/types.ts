// What the call engine and the edge agree on. The edge owns sockets and hands each one to a session through a
// SessionFactory; the session writes only through CallTransport (which checks the socket's closed flag), so the
// engine never touches uWebSockets.js and can be driven in tests by a fake transport that records strings.
import type { CallCommand, CallEvent, CommandResult } from './events.js';
import type { InboundMessage } from '../twilio/media-messages.js';
import type { RecordingMessage } from '../recording/messages.js';
import type { BargeInOptions } from './turns.js';

/** The WebSocket close codes the server sends (RFC 6455, 7.4.1), in one place for the engine and the edge. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001, // drain timed out, thread shutdown
  POLICY_VIOLATION: 1008, // bad, replayed or missing stream token; no start in time; media over the rate
  INTERNAL_ERROR: 1011,
  TRY_AGAIN_LATER: 1013, // the thread's call engine is full
} as const;

/** One socket as the call engine sees it. Implemented by the edge over a uWS socket (and by fakes in tests). */
export interface CallTransport {
  /** Writes one text frame; false when it was dropped (closed socket or backpressure). Never throws. */
  sendText(text: string): boolean;
  /** The same for a text frame given as UTF-8 bytes, read before it returns (so the caller may reuse the buffer). */
  sendUtf8(utf8: Uint8Array): boolean;
  /** Runs `fn` with the socket's writes corked (one syscall for all of them). */
  cork(fn: () => void): void;
  close(code?: number, reason?: string): void;
  readonly isClosed: boolean;
}

/** What the edge holds per socket: every parsed inbound message goes in, and the close handler calls onTransportClosed. */
export interface CallSessionHandle {
  onMessage(msg: InboundMessage): void;
  onTransportClosed(): void;
}

/** Creates the session for a stream whose start was accepted (one per stream, owned by this thread). */
export type SessionFactory = (transport: CallTransport) => CallSessionHandle;

/** What one edge thread's call engine offers the edge: sessions, its counters, its shutdown. Nothing else is reached. */
export interface CallEngine {
  readonly sessionFactory: SessionFactory;
  /** This thread's engine counters, plain numbers (the supervisor sums them across threads). */
  readStats(): Record<string, number>;
  /** Every call event of this thread (src/call/events.ts); returns the unsubscriber. Optional: test engines have none. */
  subscribe?(listener: (event: CallEvent) => void): () => void;
  /**
   * The calls' audio blocks for the process's recording writer (RECORD_AUDIO=on), in batches (what one pass of the
   * thread's work produced: one post to the main thread instead of one per block); returns the unsubscriber.
   */
  subscribeRecording?(listener: (messages: RecordingMessage[]) => void): () => void;
  /** Carries out a command on a live call of this thread (unknown-call when it is not here). */
  command?(callSid: string, command: CallCommand): CommandResult;
  /** Ends every call and releases what the engine holds (the AI agent's DSP pool, the clock's hooks). */
  shutdown(): Promise<void>;
}

/** Counters of one edge thread's call engine; plain numbers so the supervisor can sum them across threads. */
export interface ThreadCallStats {
  liveSessions: number;         // sessions alive on this thread (read from the registry; a leak check: the edge counts calls)
  framesIn: number;             // inbound media frames taken into calls (after the edge's guards)
  gapFramesFilled: number;      // silence frames inserted where Twilio's timestamps skipped
  gapFramesSkipped: number;     // frames of a timestamp jump left unfilled (beyond the per-jump cap or the fill budget)
  timestampsCorrected: number;  // media frames whose timestamp stood still or ran back (placed at the stream's time)
  inboundStalePushes: number;   // frames the batch could not take: slot already freed, or batch full mid-dispatch
  inboundSinkErrors: number;    // exceptions from a call while its inbound frames were dispatched (caught)
  framesOut: number;            // outbound media frames written (the transport took them)
  dropped: number;              // outbound writes the transport dropped (closed or backpressure)
  marksSent: number;
  marksHeard: number;           // marks Twilio returned because the audio was played
  marksFlushed: number;         // marks Twilio returned because of a clear (not heard)
  turns: number;                // caller turns handed to agents
  turnsTooShort: number;        // VAD turns dropped under the minimum length
  turnsForcedEnd: number;       // turns ended by the maximum length
  bargeIns: number;
  bargeInsByWords: number;      // of bargeIns, those the caller's words made (streaming ASR), not the speech time
  dspBatches: number;           // batched DSP crossings (one per clock pass with inbound frames)
  dspFrames: number;            // frames through those crossings
  agentErrors: number;          // exceptions / rejections from agent callbacks (caught)
  idleTimeouts: number;         // sessions ended because nothing arrived for too long
  clockPasses: number;          // clock wake-ups that served calls
  clockSubTicksMerged: number;  // sub-ticks served late, in a later pass (catch-up)
  clockHandlerErrors: number;   // exceptions in tick handlers (a bug)
}

export function createThreadCallStats(): ThreadCallStats {
  return {
    liveSessions: 0, framesIn: 0, gapFramesFilled: 0, gapFramesSkipped: 0, timestampsCorrected: 0,
    inboundStalePushes: 0, inboundSinkErrors: 0, framesOut: 0, dropped: 0, marksSent: 0,
    marksHeard: 0, marksFlushed: 0, turns: 0, turnsTooShort: 0, turnsForcedEnd: 0, bargeIns: 0, bargeInsByWords: 0, dspBatches: 0,
    dspFrames: 0, agentErrors: 0, idleTimeouts: 0, clockPasses: 0, clockSubTicksMerged: 0, clockHandlerErrors: 0,
  };
}

/** The parts of Config the call engine reads (src/config.ts's Config satisfies it). */
export interface CallEngineConfig {
  playout: { leadFrames: number };
  vad: { onsetMs?: number; hangoverMs?: number; marginDb?: number; minSpeechDbfs?: number };
  turns: { minTurnMs: number; maxTurnMs: number };
  /** The turn detector's own options (src/call/turns.ts; defaults there); backchannelMaxMs is not a setting. */
  bargeIn: Omit<BargeInOptions, 'backchannelMaxMs'>;
}
