// lookup_caller's read of the records from an edge thread: the records live in the main thread, so the read goes
// there as the control API's reads do (a `records-query` message, answered or timed out by the edge thread), and
// comes back as the tool's list of earlier calls, or as an error the model is told (records off, database down).
import type { RecordsAnswer, RecordsQuery } from '../../control/plane.js';
import type { CallerHistoryEntry, CallerLookup } from './built-ins.js';

export function callerLookupThrough(queryRecords: (query: RecordsQuery) => Promise<RecordsAnswer>): CallerLookup {
  return async (from, limit) => {
    const answer = await queryRecords({ op: 'caller', from, limit });
    if (!answer.ok) throw new Error(answer.code === 'records-off' ? 'call records are off on this server' : answer.message);
    return Array.isArray(answer.body) ? (answer.body as CallerHistoryEntry[]) : [];
  };
}
