// The records' migrations, in code (no migration folder to ship or find at run time), written with Kysely's schema
// builder so that one migration serves both dialects. Kysely's Migrator runs them at start in name order, each once,
// under its own lock table (safe when several processes start against one PostgreSQL). Never edit a migration that
// has shipped: add the next one.
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

const MIGRATIONS: Record<string, Migration> = {
  '0001_calls_turns_events': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('calls')
        .addColumn('call_sid', 'text', (c) => c.primaryKey())
        .addColumn('stream_sid', 'text')
        .addColumn('direction', 'text', (c) => c.notNull().defaultTo('inbound'))
        .addColumn('from_address', 'text')
        .addColumn('to_address', 'text')
        .addColumn('status', 'text')
        .addColumn('status_at_ms', 'bigint')
        .addColumn('started_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('answered_at_ms', 'bigint')
        .addColumn('ended_at_ms', 'bigint')
        .addColumn('duration_ms', 'bigint')
        .addColumn('end_reason', 'text')
        .addColumn('agent', 'text')
        .addColumn('turns', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('barge_ins', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('latency_turns', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('latency_p50_ms', 'integer')
        .addColumn('latency_p95_ms', 'integer')
        .addColumn('latency_max_ms', 'integer')
        .execute();
      // recent first, paged by start time (call_sid breaks ties)
      await db.schema.createIndex('calls_by_start').on('calls').columns(['started_at_ms', 'call_sid']).execute();
      // closeLostCalls looks for calls without an end
      await db.schema.createIndex('calls_by_end').on('calls').column('ended_at_ms').execute();

      await db.schema
        .createTable('call_turns')
        .addColumn('call_sid', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('turn_key', 'text', (c) => c.notNull())
        .addColumn('text', 'text')
        .addColumn('heard_text', 'text')
        .addColumn('started_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('ended_at_ms', 'bigint')
        .addColumn('latency_ms', 'integer')
        .addPrimaryKeyConstraint('call_turns_pk', ['call_sid', 'role', 'turn_key'])
        .execute();
      await db.schema.createIndex('call_turns_by_time').on('call_turns').columns(['call_sid', 'started_at_ms']).execute();

      await db.schema
        .createTable('call_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('call_sid', 'text', (c) => c.notNull())
        .addColumn('at_ms', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull().defaultTo(sql`'{}'`))
        .execute();
      await db.schema.createIndex('call_events_by_time').on('call_events').columns(['call_sid', 'at_ms']).execute();
    },
  },
  '0002_summaries': {
    async up(db: Kysely<unknown>): Promise<void> {
      // the end-of-call summary (src/crm/): what the model wrote, and when
      await db.schema.alterTable('calls').addColumn('summary', 'text').execute();
      await db.schema.alterTable('calls').addColumn('disposition', 'text').execute();
      await db.schema.alterTable('calls').addColumn('summary_fields', 'text').execute();
      await db.schema.alterTable('calls').addColumn('summarized_at_ms', 'bigint').execute();
      // the summary's delivery to the business's webhook: kept until it was accepted (an outbox)
      await db.schema
        .createTable('summary_deliveries')
        .addColumn('call_sid', 'text', (c) => c.primaryKey())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('next_attempt_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('delivered_at_ms', 'bigint')
        .addColumn('last_error', 'text')
        .execute();
      await db.schema.createIndex('summary_deliveries_due').on('summary_deliveries').columns(['delivered_at_ms', 'next_attempt_at_ms']).execute();
    },
  },
  // lookup_caller reads a number's latest calls, GET /api/messages the latest messages: without these each scans a
  // whole table
  '0003_calls_by_from_and_events_by_kind': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema.createIndex('calls_by_from').on('calls').columns(['from_address', 'started_at_ms']).execute();
      await db.schema.createIndex('call_events_by_kind').on('call_events').columns(['kind', 'at_ms']).execute();
    },
  },
  // several instances on one database (instances.ts): each call knows the instance that had its stream, each live
  // instance beats, and a survivor closes a dead instance's calls and takes over its unsummarized ones
  '0004_instances': {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('instances')
        .addColumn('instance_id', 'text', (c) => c.primaryKey())
        .addColumn('host', 'text')
        .addColumn('pid', 'integer')
        .addColumn('started_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('heartbeat_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('stopped_at_ms', 'bigint')
        .execute();
      await db.schema.alterTable('calls').addColumn('instance_id', 'text').execute();
      // which instance resumes a dead one's summary (one claim per call)
      await db.schema.alterTable('calls').addColumn('summary_claimed_by', 'text').execute();
      await db.schema.createIndex('calls_open_by_instance').on('calls').columns(['instance_id', 'ended_at_ms']).execute();
    },
  },
  '0005_outbound_briefs': {
    async up(db: Kysely<unknown>): Promise<void> {
      // a placed call's brief, for whichever instance Twilio's answer and stream reach (src/records/briefs.ts)
      await db.schema
        .createTable('outbound_briefs')
        .addColumn('launch_id', 'text', (c) => c.primaryKey())
        .addColumn('brief', 'text', (c) => c.notNull())
        .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
        .addColumn('instance_id', 'text')
        .execute();
      await db.schema.createIndex('outbound_briefs_by_expiry').on('outbound_briefs').column('expires_at_ms').execute();
    },
  },
};

class InCodeMigrations implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    return MIGRATIONS;
  }
}

/** Names of every migration this build carries, in the order they run. */
export const MIGRATION_NAMES: readonly string[] = Object.keys(MIGRATIONS).sort();

/** Brings the schema up to this build's latest. Throws (naming the migration) if one fails. */
export async function migrateRecords(db: Kysely<any>): Promise<{ applied: string[] }> {
  const migrator = new Migrator({ db, provider: new InCodeMigrations() });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error !== undefined) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`records: migration ${failed?.migrationName ?? '(none)'} failed: ${message}`, { cause: error });
  }
  return { applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName) };
}
