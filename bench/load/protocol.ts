/** Messages between the load coordinator and its generator worker threads. */
import type { HistogramData } from './histogram.js';
import type { ConversationKind } from './conversation.js';

export interface StepCall {
  /** Global index of the call in this step (0..N-1). */
  index: number;
  /** Send phase inside the 20 ms period, whole ms (callers are not in step). */
  phaseMs: number;
  /** Loop frame the call's stream starts at. */
  startFrame: number;
  /** Absolute time (ms since epoch, performance.timeOrigin + now) at which to open the TCP connection. */
  connectAtAbs: number;
}

export interface StepPlan {
  /** Which load conversation the callers speak (bench/load/conversation.ts). */
  conversation: ConversationKind;
  host: string;
  port: number;
  path: string;
  protocol: string;
  calls: StepCall[];
  /** Absolute ms: the 20 ms send grid is aligned to this instant. */
  gridBaseAbs: number;
  windowStartAbs: number;
  windowEndAbs: number;
  /** Inter-arrivals among the first `pacingSkipFrames` frames of a playback are not counted (a server's lead burst). */
  pacingSkipFrames: number;
  handshakeTimeoutMs: number;
}

export type ToWorker =
  | { type: 'run'; plan: StepPlan }
  | { type: 'exit' };

export interface UtteranceTally {
  /** frames per completed playback -> how many playbacks had that many */
  frameCounts: Record<string, number>;
  completed: number;
}

/**
 * Every frame of the playbacks that began in the window, against the turn the engine makes of the caller's audio
 * (bench/load/turn-rule.ts) and against the plain energy rule (each utterance's voiced frames).
 */
export interface FrameAccount {
  playbacks: number;
  /** Playbacks whose payloads did not map back to the caller's audio (not an echo of it). */
  playbacksUnmapped: number;
  /** Playbacks that start where no turn of the engine's rule starts. */
  playbacksOffRule: number;
  /** Ended by their mark: they must carry the whole turn. */
  playbacksWhole: number;
  wholeFramesExpected: number;
  wholeFramesReceived: number;
  /** Ended by a clear (barge-in): a prefix of the turn arrived, the rest was dropped by the clear. */
  playbacksCut: number;
  cutFramesReceived: number;
  cutFramesDropped: number;
  /** Frames beyond the turn's length (a playback longer than its turn). */
  framesBeyondTurn: number;
  /** The utterances' voiced frames (energy rule) in these playbacks: played, cut by a clear, left out by the turn rule. */
  voicedFrames: number;
  voicedPlayed: number;
  voicedCut: number;
  voicedLeftOutByRule: number;
}

export function newFrameAccount(): FrameAccount {
  return {
    playbacks: 0, playbacksUnmapped: 0, playbacksOffRule: 0, playbacksWhole: 0, wholeFramesExpected: 0, wholeFramesReceived: 0,
    playbacksCut: 0, cutFramesReceived: 0, cutFramesDropped: 0, framesBeyondTurn: 0,
    voicedFrames: 0, voicedPlayed: 0, voicedCut: 0, voicedLeftOutByRule: 0,
  };
}

export function addFrameAccounts(into: FrameAccount, from: FrameAccount): FrameAccount {
  for (const key of Object.keys(into) as (keyof FrameAccount)[]) into[key] += from[key];
  return into;
}

export interface WorkerResult {
  worker: number;
  callsPlanned: number;
  callsOpened: number;
  handshakeFailed: number;
  handshakeFailReasons: Record<string, number>;
  subprotocolMissing: number;
  callsDropped: number;
  protocolErrors: number;
  mediaSent: number;
  mediaReceived: number;
  marksReceived: number;
  marksEchoed: number;
  clearsReceived: number;
  badPayloads: number;
  pacing: HistogramData;
  audibleGaps: number;
  echoDelay: HistogramData;
  sendLag: HistogramData;
  perUtterance: UtteranceTally[];
  frames: FrameAccount;
  unexpectedPlaybacks: number;
  interruptedPlaybacks: number;
  /** content continuity inside completed playbacks (exact when the server echoes the caller's bytes) */
  contentLost: number;
  contentDuplicated: number;
  contentUnmatchedFrames: number;
  contentCheckedPlaybacks: number;
  /** generator thread cost over the measurement window */
  windowMs: number;
  threadCpuMs: number;
  eventLoopUtilization: number;
  maxWritableBytes: number;
}

export type FromWorker =
  | { type: 'ready'; worker: number }
  | { type: 'result'; result: WorkerResult }
  | { type: 'error'; message: string };
