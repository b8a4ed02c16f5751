// After a crash, calls the process had open were never ended in the records. At start, before the new process
// takes calls, every call without an end is closed with reason `lost`, its end set to the last thing known of it
// (its latest turn or event, else its start), not to the restart's time, so that its duration stays true.
// With several instances sharing one PostgreSQL this would close the other instances' live calls too: until
// records know their instance, run it only where one instance writes (see the README).
import type { RecordsDatabase } from './database.js';
import { refreshLatencySummary } from './apply-records.js';

export const LOST_CALL_REASON = 'lost';

/** Closes every call that started before `startedBeforeMs` and has no end. Returns the calls it closed. */
export async function closeLostCalls(database: RecordsDatabase, options: { startedBeforeMs?: number } = {}): Promise<{ closed: string[] }> {
  const before = options.startedBeforeMs ?? Date.now();
  const db = database.db;
  const open = await db
    .selectFrom('calls')
    .select(['call_sid', 'started_at_ms', 'answered_at_ms', 'status_at_ms'])
    .where('ended_at_ms', 'is', null)
    .where('started_at_ms', '<', before)
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
