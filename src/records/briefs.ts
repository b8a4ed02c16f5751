// Placed calls' briefs in the records database, for several instances behind one number: the instance that places a
// call may not be the one Twilio's answer webhook and stream reach, so the brief (src/control/outbound-briefs.ts) is
// written here before calls.create and read here by an instance that does not hold it. Rows live as long as the
// in-memory store keeps a brief (BRIEF_TTL_MS) and are swept with the instances' beat. What comes back is checked
// as strictly as what the control API took: a row is data another process wrote.
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { LAUNCH_ID, MAX_BRIEF_GREETING_CHARS, type OutboundBrief } from '../control/outbound-briefs.js';
import type { RecordsSchema } from './schema.js';

type Db = Kysely<RecordsSchema>;

/** The control API takes a body of at most 16 KiB, so a brief it accepted is always under this (escapes included). */
const MAX_STORED_BRIEF_BYTES = 64 * 1024;

const STORED_BRIEF = z.object({
  greeting: z.string().max(MAX_BRIEF_GREETING_CHARS).optional(),
  context: z.record(z.string(), z.unknown()).optional(),
}).strict();

/** Writes (or rewrites) a brief under its launch id. */
export async function storeBrief(db: Db, launchId: string, brief: OutboundBrief, nowMs: number, ttlMs: number, instanceId: string): Promise<void> {
  if (!LAUNCH_ID.test(launchId)) throw new TypeError('a brief is stored under a launch id of 32 hex digits');
  const text = JSON.stringify(brief);
  if (Buffer.byteLength(text) > MAX_STORED_BRIEF_BYTES) throw new RangeError(`a brief is stored only up to ${MAX_STORED_BRIEF_BYTES} bytes of JSON`);
  const row = { brief: text, created_at_ms: nowMs, expires_at_ms: nowMs + ttlMs, instance_id: instanceId };
  await db
    .insertInto('outbound_briefs')
    .values({ launch_id: launchId, ...row })
    .onConflict((oc) => oc.column('launch_id').doUpdateSet(row))
    .execute();
}

/** The brief under `launchId` if it has not expired; undefined when there is none (or the row is not a brief). */
export async function loadBrief(db: Db, launchId: string, nowMs: number): Promise<OutboundBrief | undefined> {
  if (!LAUNCH_ID.test(launchId)) return undefined;
  const row = await db
    .selectFrom('outbound_briefs')
    .select(['brief', 'expires_at_ms'])
    .where('launch_id', '=', launchId)
    .executeTakeFirst();
  if (row === undefined || Number(row.expires_at_ms) <= nowMs) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(row.brief);
  } catch {
    return undefined;
  }
  const checked = STORED_BRIEF.safeParse(parsed);
  if (!checked.success) return undefined;
  const { greeting, context } = checked.data;
  return { ...(greeting !== undefined ? { greeting } : {}), ...(context !== undefined ? { context } : {}) };
}

/** Deletes expired briefs; returns how many. */
export async function forgetExpiredBriefs(db: Db, nowMs: number): Promise<number> {
  const result = await db.deleteFrom('outbound_briefs').where('expires_at_ms', '<=', nowMs).executeTakeFirst();
  return Number(result.numDeletedRows);
}
