// After a crash, calls the process had open were never ended in the records. They are closed with reason `lost`,
// their end set to the last thing known of them (the latest turn or event, else the start), not to the time they
// were found, so that their duration stays true. Which calls are lost: those of dead instances (instances.ts: stopped,
// or silent past their beat's bound), and, at start, calls from before instances were recorded (no instance) that
// started before this process. A live instance's calls are never touched, so several instances can share a database.
import type { RecordsDatabase } from './database.js';
import { refreshLatencySummary } from './apply-records.js';

export const LOST_CALL_REASON = 'lost';

export interface LostCallsOptions {
  /** Calls without an instance that started before this are lost (this process's start); none when undefined. */
  unownedStartedBeforeMs?: number;
  /** Instances known dead: their open calls are lost. */
  deadInstances?: readonly string[];
}

/** Closes the open calls of dead instances (and old unowned ones). Returns the calls it closed. */
export async function closeLostCalls(database: RecordsDatabase, options: LostCallsOptions): Promise<{ closed: string[] }> {
  const dead = options.deadInstances ?? [];
  const before = options.unownedStartedBeforeMs;
  if (dead.length === 0 && before === undefined) return { closed: [] };
  const db = database.db;
  const open = await db
    .selectFrom('calls')
    .select(['call_sid', 'started_at_ms', 'answered_at_ms', 'status_at_ms'])
    .where('ended_at_ms', 'is', null)
    .where((eb) => eb.or([
      ...(before !== undefined ? [eb.and([eb('instance_id', 'is', null), eb('started_at_ms', '<', before)])] : []),
      ...(dead.length > 0 ? [eb('instance_id', 'in', dead)] : []),
    ]))
    .execute();
  const closed: string[] = [];
  for (const call of open) {
    await db.transaction().execute(async (trx) => {
      const turns = await trx
        .selectFrom('call_turns')
        .select((eb) => [eb.fn.max('started_at_ms').as('lastStart'), eb.fn.max('ended_at_ms').as('lastEnd')])
        .where('call_sid', '=', call.call_sid)
        .executeTakeFirst();
      const events = await trx
        .selectFrom('call_events')
        .select((eb) => eb.fn.max('at_ms').as('lastAt'))
        .where('call_sid', '=', call.call_sid)
        .executeTakeFirst();
      const known = [call.started_at_ms, call.answered_at_ms, call.status_at_ms, turns?.lastStart, turns?.lastEnd, events?.lastAt]
        .filter((v): v is number => v !== null && v !== undefined)
        .map(Number);
      const endedAtMs = Math.max(...known);
      const from = Number(call.answered_at_ms ?? call.started_at_ms);
      await trx
        .updateTable('calls')
        .set({ ended_at_ms: endedAtMs, end_reason: LOST_CALL_REASON, duration_ms: Math.max(0, endedAtMs - from) })
        .where('call_sid', '=', call.call_sid)
        .where('ended_at_ms', 'is', null)
        .execute();
      await refreshLatencySummary(trx, call.call_sid);
    });
    closed.push(call.call_sid);
  }
  return { closed };
}
