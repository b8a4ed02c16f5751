// The records of one process put together: the database (SQLite in DATA_DIR or PostgreSQL at DATABASE_URL), the
// migrations and the closing of calls a crash left open (both before the first write), the one writer and the
// reader. The main thread calls startRecords once and feeds writer.enqueue with what edge threads post.
import { log as processLog, type Logger } from '../observability/log.js';
import { RecordsDatabase, describeRecordsTarget, recordsTargetFor, type RecordsDatabaseOptions, type RecordsTarget } from './database.js';
import { closeLostCalls } from './lost-calls.js';
import { beat, deadInstances, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_STALE_AFTER_MS, forgetOldInstances, markStopped, newInstanceId, registerInstance } from './instances.js';
import { migrateRecords } from './migrations.js';
import { forgetExpiredBriefs, loadBrief, storeBrief } from './briefs.js';
import type { SharedBriefStore } from '../control/outbound-briefs.js';
import { RecordsReader } from './queries.js';
import { RecordWriter, type RecordWriterOptions } from './writer.js';

export interface Records {
  readonly target: RecordsTarget;
  readonly database: RecordsDatabase;
  readonly writer: RecordWriter;
  readonly reader: RecordsReader;
  /** This process in the records (instances.ts). */
  readonly instanceId: string;
  /** Resolves once migrations and closeLostCalls have run (they are retried until they do). */
  readonly ready: Promise<{ lostCalls: string[] }>;
  /** The other instances known dead at the last sweep (whose unsummarized calls this one may take over). */
  deadInstances(): readonly string[];
  /** Placed calls' briefs, shared by the instances on this database (briefs.ts). */
  readonly briefs: SharedBriefStore;
  /** One sweep now (the beat, dead instances' calls closed as lost); normally run every heartbeatIntervalMs. */
  sweep(): Promise<{ lostCalls: string[] }>;
  /** Flushes the writer (at most timeoutMs) and closes the database. */
  close(timeoutMs?: number): Promise<{ left: number }>;
}

export interface StartRecordsOptions {
  log?: Logger;
  writer?: Omit<RecordWriterOptions, 'prepare' | 'log'>;
  database?: RecordsDatabaseOptions;
  /** Calls from before instances were recorded that started before this and have no end are lost (default: now). */
  processStartedAtMs?: number;
  /** This process in the records, and how it tells the others it is alive (instances.ts). */
  instance?: { id?: string; heartbeatIntervalMs?: number; staleAfterMs?: number; now?: () => number };
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
  const instanceId = options.instance?.id ?? newInstanceId();
  const now = options.instance?.now ?? Date.now;
  const heartbeatIntervalMs = options.instance?.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS;
  const staleAfterMs = options.instance?.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  let dead: readonly string[] = [];
  let isReady = false;
  let inFlight: Promise<{ lostCalls: string[] }> | undefined;
  let isClosed = false;
  const sweep = (): Promise<{ lostCalls: string[] }> => {
    if (!isReady || isClosed) return Promise.resolve({ lostCalls: [] });
    inFlight ??= sweepOnce().finally(() => (inFlight = undefined));
    return inFlight;
  };
  const sweepOnce = async (): Promise<{ lostCalls: string[] }> => {
    try {
      const nowMs = now();
      await beat(database.db, instanceId, nowMs);
      dead = await deadInstances(database.db, instanceId, nowMs, staleAfterMs);
      const { closed } = await closeLostCalls(database, { deadInstances: dead });
      if (closed.length > 0) log.warn({ event: 'RECORDS_LOST_CALLS', lostCalls: closed.length, deadInstances: dead.length }, 'calls of a dead instance closed as lost');
      await forgetOldInstances(database.db, nowMs);
      await forgetExpiredBriefs(database.db, nowMs);
      return { lostCalls: closed };
    } catch (error) {
      // the database is down or slow: the next sweep tries again (the writer reports the outage)
      log.warn({ event: 'RECORDS_SWEEP', err: error }, 'records sweep failed');
      return { lostCalls: [] };
    }
  };
  const sweepTimer = setInterval(() => void sweep(), heartbeatIntervalMs);
  sweepTimer.unref();
  let markReady: (value: { lostCalls: string[] }) => void = () => undefined;
  const ready = new Promise<{ lostCalls: string[] }>((done) => {
    markReady = done;
  });
  const prepare = async (): Promise<void> => {
    const { applied } = await migrateRecords(database.db);
    const nowMs = now();
    await registerInstance(database.db, instanceId, nowMs);
    dead = await deadInstances(database.db, instanceId, nowMs, staleAfterMs);
    const { closed } = await closeLostCalls(database, { unownedStartedBeforeMs: processStartedAtMs, deadInstances: dead });
    isReady = true;
    log.info(
      { event: 'RECORDS_READY', target: describeRecordsTarget(target), migrationsApplied: applied, lostCalls: closed.length },
      `records ready (${describeRecordsTarget(target)})`,
    );
    markReady({ lostCalls: closed });
  };
  const writer = new RecordWriter(database, { ...options.writer, prepare, log, instanceId });
  // prepare now rather than at the first record: the API's reads need the schema, and a bad DATA_DIR should be
  // reported at start
  writer.prepareNow();
  return {
    target,
    database,
    writer,
    reader: new RecordsReader(database),
    instanceId,
    ready,
    deadInstances: () => dead,
    briefs: {
      // before the first write the schema may not be there yet: wait for it as the writer does
      put: async (launchId, brief, ttlMs) => { await ready; await storeBrief(database.db, launchId, brief, now(), ttlMs, instanceId); },
      get: async (launchId) => { await ready; return loadBrief(database.db, launchId, now()); },
    },
    sweep,
    async close(timeoutMs = 5000) {
      clearInterval(sweepTimer);
      const wasClosed = isClosed;
      isClosed = true;
      const result = await writer.close(timeoutMs);
      await inFlight;
      // a clean stop: the others need not wait for the beat to go stale (this process's calls were ended by the drain)
      if (isReady && !wasClosed) await withTimeout(markStopped(database.db, instanceId, now()), timeoutMs).catch(() => undefined);
      await database.close().catch(() => undefined);
      return result;
    },
  };
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, fail) => {
      timer = setTimeout(() => fail(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
