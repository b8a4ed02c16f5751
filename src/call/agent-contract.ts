// What the call engine gives an agent, and what it asks of one: the contract between src/call/ (which consumes it:
// the session calls the agent and hands it an AgentContext) and src/agent/ (whose echo agent and AI pipeline implement
// it). Interruption is an AbortSignal: each caller turn gets its own, aborted on barge-in, on a newer turn and at the
// end of the call; the agent learns how much of its speech the caller actually heard (HeardInfo) so that the
// conversation can keep only that.
import type { Logger } from 'pino';
import type { CallCommand, CommandResult } from './events.js';

/** The call as the agent sees it (from Twilio's `start` message). */
export interface CallInfo {
  readonly callSid: string;
  readonly streamSid: string;
  readonly accountSid: string;
  /** The <Parameter>s of the TwiML stream (From, To, ...). */
  readonly customParameters: Readonly<Record<string, string>>;
}

/** What the business said about a call it placed through the API (POST /api/calls), for that call's agent. */
export interface CallBrief {
  /** The agent's first line on this call (instead of its usual greeting). */
  greeting?: string;
  /** What the business knows about the call (who is called and why), for the agent's instructions; not read out. */
  context?: Record<string, unknown>;
}

/** One caller turn: the audio between a VAD onset and the end of speech (or the maximum length). */
export interface CallerTurn {
  /** 1, 2, ... within the call. */
  readonly turnId: number;
  /** The turn's audio, 8 kHz mono 16-bit; owned by the agent (a copy, never reused by the engine). */
  readonly pcm8k: Int16Array;
  /** Stream time (ms since the stream started, from Twilio's media timestamps) of the first speech frame. */
  readonly startMs: number;
  /** Stream time of the end of speech (hangover removed). */
  readonly endMs: number;
  /** Length of pcm8k in ms. */
  readonly durationMs: number;
  readonly endReason: 'silence' | 'max-length';
  /** Loudest 20 ms frame of the turn, dBFS. */
  readonly peakDbfs: number;
  /** Energy mean over the turn's frames, dBFS (a quiet turn is a candidate for ASR hallucination). */
  readonly meanDbfs: number;
  /** Whether this turn interrupted the agent (barge-in). */
  readonly wasBargeIn: boolean;
}

/** How much of one agent utterance the caller heard. */
export interface UtteranceProgress {
  readonly utteranceId: string;
  /** Frames (20 ms each) the agent had enqueued for it so far. */
  readonly framesQueued: number;
  /** Frames written to Twilio. */
  readonly framesSent: number;
  /** Frames played to the caller: sent, less those still buffered at Twilio (the lead) when it stopped. */
  readonly framesHeard: number;
  /** The utterance was ended by the agent (no more audio was coming). */
  readonly wasEnded: boolean;
}

/** Given to Agent.onBargeIn: what the caller heard of everything that was playing or queued when it was cleared. */
export interface HeardInfo {
  /** Stream time of the caller's speech onset that interrupted. */
  readonly atMs: number;
  /** Oldest first; utterances never started have framesHeard 0. */
  readonly utterances: readonly UtteranceProgress[];
  /** Sum of framesHeard. */
  readonly framesHeard: number;
}

/**
 * What the caller's words so far say about a pending barge-in (Agent.bargeInWords): 'unknown' (no words known, as
 * with batch ASR: the speech time decides), 'pending' (asked for with Agent.askBargeInWords, not known yet: the
 * barge-in waits for them, at most BARGE_IN_WORDS_WAIT_MS), 'backchannel' (only words like "uh-huh", "ok", "כן": the
 * agent goes on) or 'words' (words that are not a backchannel: barge in now).
 */
export type BargeInWords = 'unknown' | 'pending' | 'backchannel' | 'words';

/** What made a barge-in: the caller's words (BargeInWords 'words'), or enough speech over the agent. */
export type BargeInDecision = 'words' | 'speech';

/** Given to Agent.onUtterancePlayed when Twilio returns the utterance's mark (the caller heard all of it). */
export interface PlayedInfo {
  readonly utteranceId: string;
  readonly frames: number;
}

/** The agent's handle on its call. Every method is a no-op after the call ended. */
export interface AgentContext {
  readonly call: CallInfo;
  /** Carries callSid and streamSid. */
  readonly log: Logger;
  /** Aborted when the call ends. */
  readonly signal: AbortSignal;
  /**
   * A whole utterance: 8 kHz mu-law (any length; the last frame is padded with silence), then its mark. The bytes
   * are copied before it returns (play and enqueue): the caller may reuse its buffer.
   */
  play(mulaw: Uint8Array, utteranceId: string): void;
  /** Streams part of an utterance (e.g. one synthesized sentence); a new id ends the previous utterance. */
  enqueue(mulaw: Uint8Array, utteranceId: string): void;
  /** No more audio for this utterance: its mark follows its last frame. */
  endUtterance(utteranceId: string): void;
  /** Stops whatever is playing (sends `clear`) without a caller barge-in; returns what was heard. */
  stopPlayback(): HeardInfo;
  /** Audio queued or still playing at Twilio. */
  readonly isPlaying: boolean;
  /** Ends the call (closes the stream, and the Twilio call through control/). */
  hangUp(reason?: string): void;
  /** What the engine cannot know by itself, for the call's record: the caller's words, what the agent said. */
  report(report: AgentReport): void;
  /**
   * Acts on the call through the same commands the control API uses (say, clear, hang up after a goodbye, transfer
   * after a line), so that the control plane follows (the REST hang-up, the redirect) as it does for the API.
   */
  command(command: CallCommand): CommandResult;
}

/** What an agent tells the engine about the conversation (published as call events: records, the console). */
export type AgentReport =
  | { kind: 'caller-text'; turnId: number; text: string; latencyMs?: number }
  /** An utterance is over: all of `text` was heard, or (`isCut`) only `heardText`. */
  | { kind: 'agent-said'; utteranceId: string; text: string; heardText: string; isCut: boolean; latencyMs?: number }
  | { kind: 'note'; note: string; data?: Record<string, unknown> }
  /** A message the caller left (the take_message tool), kept in the call's record. */
  | { kind: 'message'; message: string; name?: string; callbackNumber?: string };

/** One conversation. Callbacks may throw or reject: the engine catches, counts and logs, and the call goes on. */
export interface Agent {
  /** Once, at the stream's `start` (a greeting goes here). */
  onCallStart(ctx: AgentContext): void | Promise<void>;
  /**
   * A finished caller turn. `signal` is aborted on barge-in, when a newer turn arrives, and at the end of the call:
   * pass it down to every provider request made for this turn (the AI agent keeps a reply that is already speaking
   * past it until it knows whether the interruption was real: src/agent/barge-in-hold.ts).
   */
  onTurn(turn: CallerTurn, signal: AbortSignal): void | Promise<void>;
  /**
   * Optional, together with onTurnAudio and onTurnAbandoned: an agent that has onTurnAudio hears each turn while it
   * is spoken (streaming ASR). A turn began at stream time `startMs`; its CallerTurn will carry the same turnId.
   * `mayAskWords`: it began over the agent with words-asking on, so askBargeInWords may come for it; a turn that did
   * not never gets one (an agent need keep nothing for it).
   */
  onTurnStarted?(turnId: number, startMs: number, mayAskWords: boolean): void;
  /**
   * The turn's audio so far, in batches of about TURN_AUDIO_BATCH_MS (the lead-in first), 8 kHz mono 16-bit: a view
   * of the engine's buffer, valid only until this returns (consume or copy it). The batches of a kept turn, in
   * order, are exactly its CallerTurn's pcm8k, the last one handed over just before onTurn. Per batch, never per
   * frame: it must not block.
   */
  onTurnAudio?(turnId: number, pcm8k: Int16Array): void;
  /** The turn begun with this id was too short and is dropped (no onTurn follows); the next onset reuses the id. */
  onTurnAbandoned?(turnId: number): void;
  /**
   * With onTurnAudio, for an agent that answers early: the caller has been quiet for turnPauseMs inside a turn (since
   * stream time `quietSinceMs`; the turn may still go on), and all of its audio so far was handed over. Once per
   * quiet stretch; onTurnResumed when the caller speaks again, onTurn when the pause became the turn's end.
   */
  onTurnPaused?(turnId: number, quietSinceMs: number): void;
  onTurnResumed?(turnId: number): void;
  /** How long a quiet stretch inside a turn must be for onTurnPaused (a multiple of 20 ms; 0 or unset: none). */
  readonly turnPauseMs?: number;
  onDtmf(digit: string): void;
  /** The caller spoke over the agent: playback was cleared and the current turn's signal aborted. */
  onBargeIn(heard: HeardInfo): void;
  /**
   * The turn that barged in was dropped by the turn detector as too short (a cough, a click): nothing was said, so an
   * agent that held its cut reply may resume it (see src/agent/barge-in-hold.ts). Never for a turn that reached onTurn.
   */
  onBargeInDropped?(): void;
  /**
   * Per-frame path, while the caller speaks over the agent and a barge-in is pending: what the words heard so far
   * say (an agent with streaming ASR). Must be cheap and must not allocate; absent: 'unknown'.
   */
  bargeInWords?(): BargeInWords;
  /**
   * With onTurnAudio: the caller has spoken over the agent for BARGE_IN_WORDS_AFTER_MS while a barge-in is pending,
   * and all of turn `turnId`'s audio so far was handed over: find out its words (streaming ASR commits it early).
   * True when they were asked for: bargeInWords then says 'pending' until they are known. At most once per pending
   * barge-in; never per frame otherwise.
   */
  askBargeInWords?(turnId: number): boolean;
  /**
   * The utterance's first frame was written to Twilio; `sentAtMs` is performance.now() of that write. Once per
   * utterance that has audio; never for one cleared before its first frame went out.
   */
  onUtteranceStarted?(utteranceId: string, sentAtMs: number): void;
  /** Twilio confirmed (mark) that an utterance was played to its end. */
  onUtterancePlayed?(played: PlayedInfo): void;
  /** Once, last; the context's signal is aborted just before. */
  onCallEnd(reason: CallEndReason): void;
  /**
   * Says `text` as utterance `utteranceId` (a command: the API's say, a goodbye before a hang-up, the line before a
   * transfer). Resolves true once it is queued, false when the agent cannot speak (the echo agent has no voice).
   */
  say?(text: string, utteranceId: string): Promise<boolean>;
}

export type CallEndReason = 'stop' | 'closed' | 'idle' | 'hang-up' | 'shutdown';

/** How much caller audio an agent with onTurnAudio is handed at a time. */
export const TURN_AUDIO_BATCH_MS = 100;

/** Makes the agent for a new call (at `start`). */
export type AgentFactory = (call: CallInfo) => Agent;
