/** Messages between the load coordinator and its generator worker threads. */
import type { HistogramData } from './histogram.js';

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
