// Opens the records database: SQLite in DATA_DIR (the default: a file created on first start, nothing to install)
// or PostgreSQL when DATABASE_URL is set. Everything above this file is the same for both: Kysely compiles one typed
// query for either dialect.
//
// Why Kysely: a typed query builder, not an ORM. The queries stay plain SQL we can read (upserts with ON CONFLICT,
// CASE, correlated updates), checked against the schema's types by tsc, with first-party dialects for better-sqlite3
// and pg and a Migrator that takes migrations from code. Prisma and TypeORM bring a schema language or decorators,
// a generated client or a query engine binary (Prisma's download fails here), and hide the SQL; Drizzle's schemas are
// written per dialect (sqliteTable vs pgTable), so the same code above the dialect would need two schemas; Knex is
// untyped. Kysely adds one small dependency with no install script.
//
// The handle can be reconnected: the writer does so when an attempt stalls (a half-open TCP connection to
// PostgreSQL never answers), so `db` is read through the handle each time, never kept.
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import type { RecordsSchema } from './schema.js';

export type RecordsTarget =
  | { dialect: 'sqlite'; file: string }
  | { dialect: 'postgres'; url: string };

export interface RecordsDatabaseOptions {
  /** SQLite: how long a write waits for another connection's lock before it fails and is retried later (ms). */
  sqliteBusyTimeoutMs?: number;
  /** PostgreSQL: pool size. The writer uses one connection at a time; the rest serve the API's reads. */
  pgPoolMax?: number;
  /** PostgreSQL: opening a connection gives up after this long (ms). */
  pgConnectTimeoutMs?: number;
  /** PostgreSQL: the server cancels a statement running longer than this (ms). */
  pgStatementTimeoutMs?: number;
}

/** SQLite runs on the writer's thread (better-sqlite3 is synchronous), so a lock must cost milliseconds, not seconds. */
const DEFAULT_SQLITE_BUSY_TIMEOUT_MS = 50;

export const RECORDS_SQLITE_FILE_NAME = 'records.sqlite';

/** DATABASE_URL when set, else SQLite in DATA_DIR. */
export function recordsTargetFor(settings: { dataDir: string; databaseUrl: string | undefined }): RecordsTarget {
  if (settings.databaseUrl !== undefined) return { dialect: 'postgres', url: settings.databaseUrl };
  return { dialect: 'sqlite', file: join(resolve(settings.dataDir), RECORDS_SQLITE_FILE_NAME) };
}

/** Where the records are, for logs: the SQLite file, or the PostgreSQL URL without its password. */
export function describeRecordsTarget(target: RecordsTarget): string {
  if (target.dialect === 'sqlite') return `sqlite:${target.file}`;
  try {
    const url = new URL(target.url);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return 'postgres:(unparsable url)';
  }
}

export class RecordsDatabase {
  readonly dialect: RecordsTarget['dialect'];
  readonly target: RecordsTarget;
  private readonly options: RecordsDatabaseOptions;
  private current: Kysely<RecordsSchema>;
  private isClosed = false;

  constructor(target: RecordsTarget, options: RecordsDatabaseOptions = {}) {
    this.target = target;
    this.dialect = target.dialect;
    this.options = options;
    this.current = this.connect();
  }

  /** The query builder of the current connection. Read it for each unit of work: reconnect() replaces it. */
  get db(): Kysely<RecordsSchema> {
    return this.current;
  }

  /** Answers within timeoutMs whether the database answers a trivial query. */
  async ping(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>((done) => {
      timer = setTimeout(() => done(false), timeoutMs);
    });
    const probe = sql`select 1 as one`.execute(this.current).then(() => true, () => false);
    try {
      return await Promise.race([probe, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Drops the current connections and opens new ones. The old ones are closed in the background, never awaited:
   * a stalled connection may never answer its close.
   */
  reconnect(): void {
    if (this.isClosed) return;
    const old = this.current;
    this.current = this.connect();
    void old.destroy().catch(() => undefined);
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    await this.current.destroy();
  }

  private connect(): Kysely<RecordsSchema> {
    const target = this.target;
    if (target.dialect === 'sqlite') {
      const busyTimeoutMs = this.options.sqliteBusyTimeoutMs ?? DEFAULT_SQLITE_BUSY_TIMEOUT_MS;
      return new Kysely<RecordsSchema>({
        dialect: new SqliteDialect({
          // opened lazily, on the first query: a folder that cannot be created fails that query (and is retried)
          database: async () => {
            mkdirSync(dirname(target.file), { recursive: true });
            const db = new BetterSqlite3(target.file, { timeout: busyTimeoutMs });
            // WAL: the API's reads do not wait for the writer, nor the writer for them; NORMAL: a commit does not
            // wait for fsync (a power cut may lose the last batch, never corrupt the file)
            db.pragma('journal_mode = WAL');
            db.pragma('synchronous = NORMAL');
            return db;
          },
        }),
      });
    }
    const pool = new pg.Pool({
      connectionString: target.url,
      max: this.options.pgPoolMax ?? 4,
      connectionTimeoutMillis: this.options.pgConnectTimeoutMs ?? 5000,
      statement_timeout: this.options.pgStatementTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      // BIGINT (oid 20) as a number: our times and durations are milliseconds, far below 2^53. Per pool, not pg's
      // global parser, so nothing else in the process is changed.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === 20 && format !== 'binary' ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
      },
    });
    // An idle connection that the server drops (a restart, a network cut) is reported here; without a listener it
    // would be an uncaught error. The next query simply opens a new connection.
    pool.on('error', () => undefined);
    return new Kysely<RecordsSchema>({ dialect: new PostgresDialect({ pool }) });
  }
}
