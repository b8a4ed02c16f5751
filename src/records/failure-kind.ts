// Tells a database failure that is about the data (this record can never be written: retrying it would block every
// record behind it) from one that is about the database (down, locked, slow, full: retry later, the same records).
// When in doubt it is the database's: a record is then kept and retried, never thrown away for a passing outage.
export type WriteFailureKind = 'data' | 'database';

/** SQLite result codes that a record itself causes. */
const SQLITE_DATA_CODES = ['SQLITE_CONSTRAINT', 'SQLITE_MISMATCH', 'SQLITE_TOOBIG', 'SQLITE_RANGE'];

export function classifyWriteFailure(err: unknown): WriteFailureKind {
  // a value the driver cannot bind (better-sqlite3 throws TypeError/RangeError), or JSON it cannot hold
  if (err instanceof TypeError || err instanceof RangeError) return 'data';
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return 'database';
  if (code.startsWith('SQLITE_')) return SQLITE_DATA_CODES.some((c) => code === c || code.startsWith(c + '_')) ? 'data' : 'database';
  // PostgreSQL SQLSTATE: class 22 data exception, 23 integrity constraint violation
  if (/^[0-9A-Z]{5}$/.test(code) && (code.startsWith('22') || code.startsWith('23'))) return 'data';
  return 'database';
}
