// The records of one process put together: the database (SQLite in DATA_DIR or PostgreSQL at DATABASE_URL), the
// migrations and the closing of calls a crash left open (both before the first write), the one writer and the
// reader. The main thread calls startRecords once and feeds writer.enqueue with what edge threads post.
import { log as processLog, type Logger } from '../observability/log.js';
import { RecordsDatabase, describeRecordsTarget, recordsTargetFor, type RecordsDatabaseOptions, type RecordsTarget } from './database.js';
import { closeLostCalls } from './lost-calls.js';
import { migrateRecords } from './migrations.js';
import { RecordsReader } from './queries.js';
import { RecordWriter, type RecordWriterOptions } from './writer.js';

export interface Records {
  readonly target: RecordsTarget;
  readonly database: RecordsDatabase;
  readonly writer: RecordWriter;
  readonly reader: RecordsReader;
  /** Resolves once migrations and closeLostCalls have run (they are retried until they do). */
  readonly ready: Promise<{ lostCalls: string[] }>;
  /** Flushes the writer (at most timeoutMs) and closes the database. */
  close(timeoutMs?: number): Promise<{ left: number }>;
}

export interface StartRecordsOptions {
  log?: Logger;
  writer?: Omit<RecordWriterOptions, 'prepare' | 'log'>;
  database?: RecordsDatabaseOptions;
  /** Calls that started before this and have no end are closed as lost (default: now). */
  processStartedAtMs?: number;
}

/**
 * Opens the records and starts preparing them. Never fails for a database that is down: the writer queues (up to
 * its bound) and retries the preparation with its writes. `ready` says when that happened.
 */
export function startRecords(settings: { dataDir: string; databaseUrl: string | undefined }, options: StartRecordsOptions = {}): Records {
  const log = options.log ?? processLog;
  const target = recordsTargetFor(settings);
  const database = new RecordsDatabase(target, options.database);
  const processStartedAtMs = options.processStartedAtMs ?? Date.now();
  let markReady: (value: { lostCalls: string[] }) => void = () => undefined;
  const ready = new Promise<{ lostCalls: string[] }>((done) => {
    markReady = done;
  });
  const prepare = async (): Promise<void> => {
    const { applied } = await migrateRecords(database.db);
    const { closed } = await closeLostCalls(database, { startedBeforeMs: processStartedAtMs });
    log.info(
      { event: 'RECORDS_READY', target: describeRecordsTarget(target), migrationsApplied: applied, lostCalls: closed.length },
      `records ready (${describeRecordsTarget(target)})`,
    );
    markReady({ lostCalls: closed });
  };
  const writer = new RecordWriter(database, { ...options.writer, prepare, log });
  // prepare now rather than at the first record: the API's reads need the schema, and a bad DATA_DIR should be
  // reported at start
  writer.prepareNow();
  return {
    target,
    database,
    writer,
    reader: new RecordsReader(database),
    ready,
    async close(timeoutMs = 5000) {
      const result = await writer.close(timeoutMs);
      await database.close().catch(() => undefined);
      return result;
    },
  };
}
