// Several instances on one records database (PostgreSQL behind one number). Each process registers itself at start
// under a new id and beats every heartbeatIntervalMs; a call's row carries the instance that had its stream. An
// instance that stopped cleanly, or whose last beat is older than staleAfterMs, is dead: a live instance then closes
// its open calls as lost (lost-calls.ts) and takes over the summaries it left (claimSummaries), so that a crash of
// one instance is cleaned up by another without a restart, and no instance ever closes or summarizes another's live
// calls. With one instance it is the old rule, a little later: a restart sooner than staleAfterMs after a crash
// closes the crashed process's calls at the first sweep after its beat went stale.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kysely } from 'kysely';
import type { RecordsSchema } from './schema.js';

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;
export const DEFAULT_STALE_AFTER_MS = 45_000;
/** Dead instances without open calls are forgotten after this long. */
const FORGET_DEAD_AFTER_MS = 7 * 24 * 3_600_000;
/** An id kept in the database is cut to this length (a hostname can be long). */
const MAX_INSTANCE_ID_CHARS = 128;

type Db = Kysely<RecordsSchema>;

/** host-pid-random: readable in the records, and new for every process (a restart is a new instance). */
export function newInstanceId(): string {
  return `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`.slice(0, MAX_INSTANCE_ID_CHARS);
}

export async function registerInstance(db: Db, instanceId: string, nowMs: number): Promise<void> {
  await db
    .insertInto('instances')
    .values({ instance_id: instanceId, host: hostname().slice(0, MAX_INSTANCE_ID_CHARS), pid: process.pid, started_at_ms: nowMs, heartbeat_at_ms: nowMs })
    .onConflict((oc) => oc.column('instance_id').doUpdateSet({ heartbeat_at_ms: nowMs, stopped_at_ms: null }))
    .execute();
}

/** The beat; also brings back a row a survivor forgot (an instance that was stalled past FORGET_DEAD_AFTER_MS). */
export async function beat(db: Db, instanceId: string, nowMs: number): Promise<void> {
  const result = await db.updateTable('instances').set({ heartbeat_at_ms: nowMs, stopped_at_ms: null }).where('instance_id', '=', instanceId).executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) await registerInstance(db, instanceId, nowMs);
}

export async function markStopped(db: Db, instanceId: string, nowMs: number): Promise<void> {
  await db.updateTable('instances').set({ stopped_at_ms: nowMs }).where('instance_id', '=', instanceId).execute();
}

/** Every other instance that stopped, or has not beaten for staleAfterMs. */
export async function deadInstances(db: Db, selfId: string, nowMs: number, staleAfterMs: number): Promise<string[]> {
  const rows = await db
    .selectFrom('instances')
    .select('instance_id')
    .where('instance_id', '!=', selfId)
    .where((eb) => eb.or([eb('stopped_at_ms', 'is not', null), eb('heartbeat_at_ms', '<', nowMs - staleAfterMs)]))
    .execute();
  return rows.map((r) => r.instance_id);
}

/** Forgets instances dead for a week that have no open call left (the table stays small). */
export async function forgetOldInstances(db: Db, nowMs: number): Promise<number> {
  const result = await db
    .deleteFrom('instances')
    .where('heartbeat_at_ms', '<', nowMs - FORGET_DEAD_AFTER_MS)
    .where((eb) => eb.not(eb.exists(eb.selectFrom('calls').select('call_sid').whereRef('calls.instance_id', '=', 'instances.instance_id').where('calls.ended_at_ms', 'is', null))))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * Takes over the summaries that dead instances (or a process from before instances were recorded) left: calls that
 * ended since `sinceMs` without a summary, not yet claimed by a live instance. One statement per call decides, so two
 * survivors never both take one. Returns the calls this instance now owns the summary of (its own claims included).
 */
export async function claimSummaries(db: Db, selfId: string, dead: readonly string[], sinceMs: number, limit: number): Promise<string[]> {
  const candidates = await db
    .selectFrom('calls')
    .select(['call_sid'])
    .where('ended_at_ms', 'is not', null)
    .where('ended_at_ms', '>=', sinceMs)
    .where('summarized_at_ms', 'is', null)
    .where((eb) => eb.or([eb('instance_id', 'is', null), ...(dead.length > 0 ? [eb('instance_id', 'in', dead)] : [])]))
    .where((eb) => eb.or([eb('summary_claimed_by', 'is', null), eb('summary_claimed_by', '=', selfId), ...(dead.length > 0 ? [eb('summary_claimed_by', 'in', dead)] : [])]))
    .limit(limit)
    .execute();
  const claimed: string[] = [];
  for (const { call_sid } of candidates) {
    const result = await db
      .updateTable('calls')
      .set({ summary_claimed_by: selfId })
      .where('call_sid', '=', call_sid)
      .where('summarized_at_ms', 'is', null)
      .where((eb) => eb.or([eb('summary_claimed_by', 'is', null), eb('summary_claimed_by', '=', selfId), ...(dead.length > 0 ? [eb('summary_claimed_by', 'in', dead)] : [])]))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) claimed.push(call_sid);
  }
  return claimed;
}
