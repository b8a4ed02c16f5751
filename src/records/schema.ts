// The call records' tables as Kysely sees them: one row per call, its transcript (caller turns and agent lines) and
// its events. The same schema serves SQLite and PostgreSQL, so it keeps to what both store alike: text, integers,
// and times as integer milliseconds since the Unix epoch (`*_at_ms`, BIGINT), which both sort correctly and which
// the queries turn into ISO 8601 for the API. Event data is JSON in a text column (not jsonb) for the same reason.
import type { Generated } from 'kysely';

export type CallDirection = 'inbound' | 'outbound' | 'browser';
export const CALL_DIRECTIONS: readonly CallDirection[] = ['inbound', 'outbound', 'browser'];
export type TurnRole = 'caller' | 'agent';

export interface CallsTable {
  call_sid: string;
  stream_sid: string | null;
  direction: Generated<CallDirection>;
  from_address: string | null;
  to_address: string | null;
  /** The latest of Twilio's status callbacks (queued, ringing, in-progress, completed, busy, ...). */
  status: string | null;
  /** When that status was reported: an older callback arriving late does not overwrite a newer one. */
  status_at_ms: number | null;
  started_at_ms: number;
  answered_at_ms: number | null;
  ended_at_ms: number | null;
  duration_ms: number | null;
  end_reason: string | null;
  agent: string | null;
  turns: Generated<number>;
  barge_ins: Generated<number>;
  /** Per-turn latency summary over the agent lines that carry a latency (end of the caller's speech to first audio). */
  latency_turns: Generated<number>;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  latency_max_ms: number | null;
  /** The end-of-call summary (src/crm/), its disposition and the agent file's fields (JSON text). */
  summary: string | null;
  disposition: string | null;
  summary_fields: string | null;
  summarized_at_ms: number | null;
  /** The instance that had the call's stream (or, for a call that never had one, took its first status callback). */
  instance_id: string | null;
  /** The instance that took over the summary of a call whose own instance died. */
  summary_claimed_by: string | null;
}

/** One process writing to the records: its heartbeat tells the others it is alive (src/records/instances.ts). */
export interface InstancesTable {
  instance_id: string;
  host: string | null;
  pid: number | null;
  started_at_ms: number;
  heartbeat_at_ms: number;
  stopped_at_ms: number | null;
}

export interface CallTurnsTable {
  call_sid: string;
  role: TurnRole;
  /** The turn's id within its call and role (the engine's turnId or utteranceId): a repeated record updates it. */
  turn_key: string;
  text: string | null;
  /** What of an agent line the caller heard (less than `text` when a barge-in cut it); null for caller turns. */
  heard_text: string | null;
  started_at_ms: number;
  ended_at_ms: number | null;
  latency_ms: number | null;
}

export interface CallEventsTable {
  /** Given by the writer when the record is queued, so that a retried batch cannot write an event twice. */
  id: string;
  call_sid: string;
  at_ms: number;
  kind: string;
  /** JSON text. */
  data: string;
}

/** A summary's delivery to the business's webhook, kept until it was accepted. */
export interface SummaryDeliveriesTable {
  call_sid: string;
  url: string;
  /** The exact JSON sent (its signature covers these bytes). */
  body: string;
  attempts: Generated<number>;
  next_attempt_at_ms: number;
  delivered_at_ms: number | null;
  last_error: string | null;
}

/** A placed call's brief (src/control/outbound-briefs.ts), shared so that whichever instance answers finds it. */
export interface OutboundBriefsTable {
  launch_id: string;
  /** The brief as JSON text ({ greeting?, context? }). */
  brief: string;
  created_at_ms: number;
  expires_at_ms: number;
  /** The instance that placed the call. */
  instance_id: string | null;
}

export interface RecordsSchema {
  calls: CallsTable;
  call_turns: CallTurnsTable;
  call_events: CallEventsTable;
  summary_deliveries: SummaryDeliveriesTable;
  instances: InstancesTable;
  outbound_briefs: OutboundBriefsTable;
}
