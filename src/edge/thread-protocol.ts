// The messages between the supervisor (the main thread) and its edge threads, and what a thread is started with. One
// edge thread pushes its counters (on every call start/end and once a second) and asks for totals (/version,
// /metrics) and for stream-token answers; the supervisor answers, and tells threads to drain and to shut down.
import type { CallCommand, CallEvent, CommandResult } from '../call/events.js';
import type { Config } from '../config.js';
import type { CallStatusUpdate } from '../control/call-recorder.js';
import type { OutboundBrief } from '../control/outbound-briefs.js';
import type { RecordsAnswer, RecordsQuery } from '../control/plane.js';
import type { MetricsSnapshot } from '../observability/metrics.js';
import type { RecordingMessage } from '../recording/messages.js';
import type { CallStats, EdgeThreadStats, EdgeTotals } from './app.js';

export const EDGE_THREAD_KIND = 'ai-crmd-edge-thread';
/** How often a thread pushes its counters to the supervisor (it also pushes on every call start/end). */
export const STATS_PUSH_INTERVAL_MS = 1_000;
/** How long a thread waits for the supervisor's totals before answering with the last totals it was given. */
export const COLLECT_TIMEOUT_MS = 1_000;

export interface EdgeWorkerData {
  kind: typeof EDGE_THREAD_KIND;
  threadIndex: number;
  config: Config;
  sessionModuleUrl: string;
  isDraining: boolean;
  areTestHooksOn: boolean;
}

/** Messages from an edge thread to the supervisor. */
export type ThreadToMainMessage =
  | { type: 'ready'; threadIndex: number; port: number }
  | { type: 'listen-failed'; threadIndex: number; reason: string }
  | { type: 'stats'; threadIndex: number; takenAtMs: number; stats: EdgeThreadStats; callStats: CallStats; metrics?: MetricsSnapshot }
  | {
    type: 'collect'; threadIndex: number; requestId: number; takenAtMs: number; stats: EdgeThreadStats; callStats: CallStats;
    metrics?: MetricsSnapshot;
  }
  | { type: 'closed'; threadIndex: number }
  /** A read of the records for the control API (the reader lives in the main thread). */
  | { type: 'records-query'; threadIndex: number; requestId: number; query: RecordsQuery }
  /** A call status callback this thread answered (for the records). */
  | { type: 'call-status'; threadIndex: number; update: CallStatusUpdate }
  /** One of this thread's call events (per turn and per call), for the control plane and the records. */
  | { type: 'call-event'; threadIndex: number; event: CallEvent }
  /** Streams' audio for the recording writer, a pass's worth (every block's ArrayBuffer is transferred). */
  | { type: 'recording'; threadIndex: number; messages: RecordingMessage[] }
  /** A command for a call this thread does not own: the control plane routes it to the owner. */
  | { type: 'route-command'; threadIndex: number; requestId: number; callSid: string; command: CallCommand }
  /** The answer to a call-command the supervisor sent. */
  | { type: 'call-command-result'; threadIndex: number; requestId: number; result: CommandResult }
  /** Has this stream token been used by any stream of this process? (one stream per token) */
  | { type: 'consume-stream-token'; threadIndex: number; requestId: number; tokenKey: string; expiresAtMs: number }
  /** A call this thread is placing through the API: its brief, kept by the control plane for its agent. */
  | { type: 'outbound-brief'; threadIndex: number; requestId: number; launchId: string; brief: OutboundBrief }
  /** An agent of this thread asks for its placed call's brief. */
  | { type: 'brief-query'; threadIndex: number; requestId: number; launchId: string }
  /** Test hook (EDGE_TEST_HOOKS=1): block the supervisor's event loop for `ms`. */
  | { type: 'test-stall'; threadIndex: number; ms: number };

/** Messages from the supervisor to an edge thread. */
export type MainToThreadMessage =
  | { type: 'totals'; requestId: number; totals: EdgeTotals }
  /** Totals served to another thread's /metrics (or, to a new thread, the last ones served): the fallback to show. */
  | { type: 'served-totals'; totals: EdgeTotals }
  | { type: 'test-stall-started' }
  | { type: 'stream-token-consumed'; requestId: number; isFirstUse: boolean }
  /** Carry out a command on a call this thread owns; answer with call-command-result. */
  | { type: 'call-command'; requestId: number; callSid: string; command: CallCommand }
  /** The answer to this thread's route-command. */
  | { type: 'route-command-result'; requestId: number; result: CommandResult }
  | { type: 'records-answer'; requestId: number; answer: RecordsAnswer }
  | { type: 'brief-answer'; requestId: number; brief: OutboundBrief | null }
  /** The brief of this thread's outbound-brief is kept (and in the records, when they are on): place the call. */
  | { type: 'brief-stored'; requestId: number }
  | { type: 'drain' }
  | { type: 'shutdown' };
