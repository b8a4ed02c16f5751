// The databases the records tests run against, so that one test body runs on each: SQLite in a temp folder
// (always), and PostgreSQL when TEST_DATABASE_URL is set (each test gets its own database, created from that URL and
// dropped after). Each can be made unavailable for real: SQLite by another connection holding the write lock,
// PostgreSQL through a TCP relay on 127.0.0.1 that can refuse connections (a closed port) or hold every byte (a
// stalled network) until it is reopened.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { afterEach } from 'vitest';
import { createLogger } from '../../src/observability/log.js';
import { RECORDS_SQLITE_FILE_NAME } from '../../src/records/database.js';
import { startRecords, type Records, type StartRecordsOptions } from '../../src/records/records.js';

export interface RecordsSettings {
  dataDir: string;
  databaseUrl: string | undefined;
}

/** Makes the database unavailable and available again, for real. */
export interface Outage {
  /** Writes fail at once (SQLite: the file is locked by another connection; PostgreSQL: the port is closed). */
  down(): Promise<void>;
  /** Writes hang (SQLite: the same lock, waited on; PostgreSQL: every byte held, connections open). */
  stall(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export interface BackendInstance {
  settings: RecordsSettings;
  /** The same database reached through something that can fail (see Outage). */
  withOutage(): Promise<{ settings: RecordsSettings; outage: Outage }>;
  dispose(): Promise<void>;
}

export interface Backend {
  name: 'sqlite' | 'postgres';
  isAvailable: boolean;
  skipReason?: string;
  create(): Promise<BackendInstance>;
}

const sqliteBackend: Backend = {
  name: 'sqlite',
  isAvailable: true,
  async create() {
    const root = mkdtempSync(join(tmpdir(), 'aicrmd-records-'));
    // a folder that does not exist yet: the records create it on first start
    const dataDir = join(root, 'data', 'nested');
    const settings = { dataDir, databaseUrl: undefined };
    return {
      settings,
      async withOutage() {
        let locker: BetterSqlite3.Database | undefined;
        const lock = async (): Promise<void> => {
          if (locker !== undefined) return;
          mkdirSync(dataDir, { recursive: true });
          locker = new BetterSqlite3(join(dataDir, RECORDS_SQLITE_FILE_NAME));
          locker.exec('BEGIN EXCLUSIVE');
        };
        const outage: Outage = {
          down: lock,
          stall: lock,
          async up() {
            locker?.exec('ROLLBACK');
            locker?.close();
            locker = undefined;
          },
          async close() {
            await outage.up();
          },
        };
        return { settings, outage };
      },
      async dispose() {
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
};

const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL']?.trim() || undefined;

/** A TCP relay from 127.0.0.1 to the PostgreSQL server that can refuse (port closed) or hold everything. */
class Relay {
  private server: Server | undefined;
  private mode: 'up' | 'stalled' = 'up';
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; held: Array<[Socket, Buffer]> }>();
  port = 0;

  constructor(private readonly host: string, private readonly targetPort: number) {}

  async listen(port = 0): Promise<void> {
    const server = createServer((client) => this.accept(client));
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(port, '127.0.0.1', () => done());
    });
    this.server = server;
    this.port = (server.address() as { port: number }).port;
  }

  private accept(client: Socket): void {
    const upstream = connect(this.targetPort, this.host);
    const pair = { client, upstream, held: [] as Array<[Socket, Buffer]> };
    this.pairs.add(pair);
    const forward = (to: Socket) => (data: Buffer) => {
      if (this.mode === 'stalled') pair.held.push([to, data]);
      else to.write(data);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.pairs.delete(pair);
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  /** Closes the port and every connection through it. */
  async down(): Promise<void> {
    for (const pair of this.pairs) {
      pair.client.destroy();
      pair.upstream.destroy();
    }
    this.pairs.clear();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((done) => server.close(() => done()));
  }

  stall(): void {
    this.mode = 'stalled';
  }

  async up(): Promise<void> {
    this.mode = 'up';
    for (const pair of this.pairs) {
      for (const [to, data] of pair.held) to.write(data);
      pair.held = [];
    }
    if (this.server === undefined) await this.listen(this.port);
  }
}

const postgresBackend: Backend = {
  name: 'postgres',
  isAvailable: TEST_DATABASE_URL !== undefined,
  ...(TEST_DATABASE_URL === undefined
    ? { skipReason: 'TEST_DATABASE_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/postgres): the PostgreSQL runs of the records tests are skipped' }
    : {}),
  async create() {
    const adminUrl = TEST_DATABASE_URL!;
    const name = `aicrmd_records_test_${process.pid}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const root = mkdtempSync(join(tmpdir(), 'aicrmd-records-'));
    const relays: Relay[] = [];
    return {
      settings: { dataDir: root, databaseUrl: url.toString() },
      async withOutage() {
        const relay = new Relay(url.hostname, Number(url.port || 5432));
        await relay.listen();
        relays.push(relay);
        const viaRelay = new URL(url);
        viaRelay.hostname = '127.0.0.1';
        viaRelay.port = String(relay.port);
        const outage: Outage = {
          down: () => relay.down(),
          async stall() {
            relay.stall();
          },
          up: () => relay.up(),
          close: () => relay.down(),
        };
        return { settings: { dataDir: root, databaseUrl: viaRelay.toString() }, outage };
      },
      async dispose() {
        for (const relay of relays) await relay.down();
        const cleanup = new pg.Client({ connectionString: adminUrl });
        await cleanup.connect();
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await cleanup.end();
        rmSync(root, { recursive: true, force: true });
      },
    };
  },
};

export const BACKENDS: readonly Backend[] = [sqliteBackend, postgresBackend];

let isSkipReasonPrinted = false;
/** The backends to run, printing once why any is skipped. */
export function backendsToRun(): readonly Backend[] {
  if (!isSkipReasonPrinted) {
    isSkipReasonPrinted = true;
    for (const b of BACKENDS) if (!b.isAvailable) console.log(`[records tests] ${b.name} skipped: ${b.skipReason}`);
  }
  return BACKENDS;
}

/** Polls until check() is true, or fails after timeoutMs saying what was awaited. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((done) => setTimeout(done, 20));
  }
}

/**
 * Records on a fresh database of `backend`, per test: `open(options)` starts records on the test's database (made at
 * its first open; a second open in the same test starts another process's records on the same database, as after a
 * restart) and resolves once they are ready; after each test every records opened is closed and the database dropped.
 */
export function recordsPerTest(backend: Backend): { open(options?: StartRecordsOptions): Promise<Records> } {
  let instance: BackendInstance | undefined;
  let opened: Records[] = [];
  afterEach(async () => {
    for (const records of opened) await records.close(2000);
    await instance?.dispose();
    opened = [];
    instance = undefined;
  });
  return {
    async open(options = {}) {
      instance ??= await backend.create();
      const records = startRecords(instance.settings, { log: createLogger({ level: 'silent' }), ...options });
      opened.push(records);
      await records.ready;
      return records;
    },
  };
}
