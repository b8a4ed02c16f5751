// Turns record messages into rows: each message is one idempotent statement or two (an upsert keyed by what it
// names), applied in order inside the caller's transaction, so that a batch is written whole or not at all and a
// batch written twice (a retry after an unknown outcome) leaves the same rows. A message about a call whose row is
// missing (its call-started was dropped) first makes a bare row for it, so that nothing written is unreachable.
import type { Kysely, Transaction } from 'kysely';
import { clipText, type RecordMessage } from './messages.js';
import type { RecordsSchema } from './schema.js';

/** A message as the writer queued it: the event id and data JSON were fixed when it was accepted. */
export interface QueuedRecord {
  record: RecordMessage;
  /** call-event only: the row's id, the same on every attempt. */
  eventId?: string;
  /** call-event only: the data as JSON text. */
  dataJson?: string;
}

/** Twilio statuses after which the call is over. */
const FINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'busy', 'failed', 'no-answer', 'canceled']);

type Db = Kysely<RecordsSchema> | Transaction<RecordsSchema>;

/** Writes the records in order in one transaction. */
/**
 * Writes the records in order in one transaction. `instanceId` (instances.ts) marks the calls this process has the
 * stream of, and those it made the row of.
 */
export async function writeRecords(db: Kysely<RecordsSchema>, entries: readonly QueuedRecord[], instanceId: string | null = null): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const latencyTouched = new Set<string>();
    for (const entry of entries) {
      await applyRecord(trx, entry, instanceId);
      const kind = entry.record.kind;
      if (kind === 'agent-said' || kind === 'call-ended') latencyTouched.add(entry.record.callSid);
    }
    for (const callSid of latencyTouched) await refreshLatencySummary(trx, callSid);
    for (const entry of entries) if (entry.record.kind === 'call-ended') await refreshCallCounts(trx, entry.record.callSid);
  });
}

/**
 * A call's turn and barge-in counts, counted from its transcript and events rather than taken from the stream that
 * ended: a call that came back from a transfer had two streams, each counting only its own, and a retried batch
 * counts nothing twice (the rows are keyed).
 */
export async function refreshCallCounts(db: Db, callSid: string): Promise<void> {
  const turns = await db
    .selectFrom('call_turns')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('call_sid', '=', callSid)
    .where('role', '=', 'caller')
    .executeTakeFirst();
  const bargeIns = await db
    .selectFrom('call_events')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('call_sid', '=', callSid)
    .where('kind', '=', 'barge-in')
    .executeTakeFirst();
  await db
    .updateTable('calls')
    .set({ turns: Number(turns?.n ?? 0), barge_ins: Number(bargeIns?.n ?? 0) })
    .where('call_sid', '=', callSid)
    .execute();
}

async function ensureCall(db: Db, callSid: string, startedAtMs: number, instanceId: string | null): Promise<void> {
  await db
    .insertInto('calls')
    .values({ call_sid: callSid, started_at_ms: startedAtMs, instance_id: instanceId })
    .onConflict((oc) => oc.column('call_sid').doNothing())
    .execute();
}

async function applyRecord(db: Db, entry: QueuedRecord, instanceId: string | null): Promise<void> {
  const r = entry.record;
  switch (r.kind) {
    case 'call-started':
      await db
        .insertInto('calls')
        .values({
          call_sid: r.callSid,
          stream_sid: r.streamSid ?? null,
          direction: r.direction,
          from_address: clipText(r.from) ?? null,
          to_address: clipText(r.to) ?? null,
          agent: r.agent ?? null,
          started_at_ms: r.startedAtMs,
          answered_at_ms: r.answeredAtMs ?? null,
          instance_id: instanceId,
        })
        .onConflict((oc) =>
          oc.column('call_sid').doUpdateSet((eb) => ({
            stream_sid: eb.fn.coalesce('excluded.stream_sid', 'calls.stream_sid'),
            direction: eb.ref('excluded.direction'),
            from_address: eb.fn.coalesce('excluded.from_address', 'calls.from_address'),
            to_address: eb.fn.coalesce('excluded.to_address', 'calls.to_address'),
            agent: eb.fn.coalesce('excluded.agent', 'calls.agent'),
            // a status callback may have made the row first, at the call's first ring: keep the earliest start
            started_at_ms: eb
              .case()
              .when('calls.started_at_ms', '<=', eb.ref('excluded.started_at_ms'))
              .then(eb.ref('calls.started_at_ms'))
              .else(eb.ref('excluded.started_at_ms'))
              .end(),
            answered_at_ms: eb.fn.coalesce('calls.answered_at_ms', 'excluded.answered_at_ms'),
            // a stream for a call that had ended (a transfer nobody answered came back to the agent): the same record,
            // live again until its next end
            ended_at_ms: null,
            end_reason: null,
            // the stream's instance owns the call (a status callback may have reached another one first)
            instance_id: eb.ref('excluded.instance_id'),
          })),
        )
        .execute();
      return;
    case 'call-status': {
      const isFinal = FINAL_STATUSES.has(r.status);
      await db
        .insertInto('calls')
        .values({
          call_sid: r.callSid,
          started_at_ms: r.atMs,
          status: clipText(r.status),
          status_at_ms: r.atMs,
          ...(r.direction !== undefined ? { direction: r.direction } : {}),
          from_address: clipText(r.from) ?? null,
          to_address: clipText(r.to) ?? null,
          answered_at_ms: r.status === 'in-progress' ? r.atMs : null,
          ended_at_ms: isFinal ? r.atMs : null,
          end_reason: isFinal ? r.status : null,
          duration_ms: isFinal ? (r.durationMs ?? null) : null,
          instance_id: instanceId,
        })
        .onConflict((oc) =>
          oc.column('call_sid').doUpdateSet((eb) => {
            // callbacks can arrive out of order: an older status never overwrites a newer one
            const isNewer = eb.or([eb('calls.status_at_ms', 'is', null), eb('calls.status_at_ms', '<=', eb.ref('excluded.status_at_ms'))]);
            return {
              status: eb.case().when(isNewer).then(eb.ref('excluded.status')).else(eb.ref('calls.status')).end(),
              status_at_ms: eb.case().when(isNewer).then(eb.ref('excluded.status_at_ms')).else(eb.ref('calls.status_at_ms')).end(),
              from_address: eb.fn.coalesce('calls.from_address', 'excluded.from_address'),
              to_address: eb.fn.coalesce('calls.to_address', 'excluded.to_address'),
              answered_at_ms: eb.fn.coalesce('calls.answered_at_ms', 'excluded.answered_at_ms'),
              // the engine's call-ended says more (its reason, the stream's end): a final status only fills gaps
              ended_at_ms: eb.fn.coalesce('calls.ended_at_ms', 'excluded.ended_at_ms'),
              end_reason: eb.fn.coalesce('calls.end_reason', 'excluded.end_reason'),
              duration_ms: eb.fn.coalesce('calls.duration_ms', 'excluded.duration_ms'),
            };
          }),
        )
        .execute();
      return;
    }
    case 'caller-turn':
      await ensureCall(db, r.callSid, r.startedAtMs, instanceId);
      await db
        .insertInto('call_turns')
        .values({
          call_sid: r.callSid,
          role: 'caller',
          turn_key: String(r.turnId),
          text: clipText(r.text) ?? null,
          heard_text: null,
          started_at_ms: r.startedAtMs,
          ended_at_ms: r.endedAtMs ?? null,
          latency_ms: r.latencyMs ?? null,
        })
        .onConflict((oc) =>
          oc.columns(['call_sid', 'role', 'turn_key']).doUpdateSet((eb) => ({
            text: eb.fn.coalesce('excluded.text', 'call_turns.text'),
            started_at_ms: eb.ref('excluded.started_at_ms'),
            ended_at_ms: eb.fn.coalesce('excluded.ended_at_ms', 'call_turns.ended_at_ms'),
            latency_ms: eb.fn.coalesce('excluded.latency_ms', 'call_turns.latency_ms'),
          })),
        )
        .execute();
      return;
    case 'agent-said':
      await ensureCall(db, r.callSid, r.startedAtMs, instanceId);
      await db
        .insertInto('call_turns')
        .values({
          call_sid: r.callSid,
          role: 'agent',
          turn_key: r.utteranceId,
          text: clipText(r.text),
          heard_text: clipText(r.heardText),
          started_at_ms: r.startedAtMs,
          ended_at_ms: r.endedAtMs ?? null,
          latency_ms: r.latencyMs ?? null,
        })
        .onConflict((oc) =>
          oc.columns(['call_sid', 'role', 'turn_key']).doUpdateSet((eb) => ({
            text: eb.ref('excluded.text'),
            heard_text: eb.ref('excluded.heard_text'),
            started_at_ms: eb.ref('excluded.started_at_ms'),
            ended_at_ms: eb.fn.coalesce('excluded.ended_at_ms', 'call_turns.ended_at_ms'),
            latency_ms: eb.fn.coalesce('excluded.latency_ms', 'call_turns.latency_ms'),
          })),
        )
        .execute();
      return;
    case 'call-event':
      if (entry.eventId === undefined || entry.dataJson === undefined) throw new TypeError('call-event queued without its id and data');
      await ensureCall(db, r.callSid, r.atMs, instanceId);
      await db
        .insertInto('call_events')
        .values({ id: entry.eventId, call_sid: r.callSid, at_ms: r.atMs, kind: r.event, data: entry.dataJson })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      return;
    case 'call-ended':
      await ensureCall(db, r.callSid, r.endedAtMs - (r.durationMs ?? 0), instanceId);
      await db
        .updateTable('calls')
        .set((eb) => ({
          ended_at_ms: r.endedAtMs,
          end_reason: clipText(r.reason),
          duration_ms:
            r.durationMs !== undefined
              ? r.durationMs
              : eb(eb.val(r.endedAtMs), '-', eb.fn.coalesce('answered_at_ms', 'started_at_ms')),
        }))
        .where('call_sid', '=', r.callSid)
        .execute();
      return;
  }
}

/** Nearest-rank percentile of ascending values. */
function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** Recomputes a call's latency summary from its agent lines (per call, at its end or when a line is added). */
export async function refreshLatencySummary(db: Db, callSid: string): Promise<void> {
  const rows = await db
    .selectFrom('call_turns')
    .select('latency_ms')
    .where('call_sid', '=', callSid)
    .where('role', '=', 'agent')
    .where('latency_ms', 'is not', null)
    .execute();
  const sorted = rows.map((r) => Number(r.latency_ms)).sort((a, b) => a - b);
  await db
    .updateTable('calls')
    .set({
      latency_turns: sorted.length,
      latency_p50_ms: sorted.length > 0 ? percentile(sorted, 0.5) : null,
      latency_p95_ms: sorted.length > 0 ? percentile(sorted, 0.95) : null,
      latency_max_ms: sorted.length > 0 ? sorted[sorted.length - 1]! : null,
    })
    .where('call_sid', '=', callSid)
    .execute();
}
