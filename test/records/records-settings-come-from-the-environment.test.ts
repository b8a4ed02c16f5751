// RECORDS, DATA_DIR and DATABASE_URL: SQLite in ./data by default, PostgreSQL with a postgres:// URL, a clear
// message (never echoing the URL, which may hold a password) for anything else, and off on request.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { describeRecordsTarget, recordsTargetFor } from '../../src/records/database.js';

const DEV = { INSECURE_DEV_MODE: '1' };

describe('records settings', () => {
  it('default to SQLite in ./data, on', () => {
    const { records } = loadConfig({ ...DEV });
    expect(records).toEqual({ enabled: true, dataDir: './data', databaseUrl: undefined });
    expect(recordsTargetFor(records)).toEqual({ dialect: 'sqlite', file: `${process.cwd()}/data/records.sqlite` });
  });

  it('take PostgreSQL from DATABASE_URL, DATA_DIR and RECORDS=off', () => {
    const { records } = loadConfig({ ...DEV, DATABASE_URL: 'postgresql://app:s3cret@db.internal:5433/calls', DATA_DIR: '/var/lib/ai-crmd', RECORDS: 'off' });
    expect(records).toEqual({ enabled: false, dataDir: '/var/lib/ai-crmd', databaseUrl: 'postgresql://app:s3cret@db.internal:5433/calls' });
    const target = recordsTargetFor(records);
    expect(target.dialect).toBe('postgres');
    expect(describeRecordsTarget(target)).toBe('postgresql://app:***@db.internal:5433/calls');
  });

  it('refuse another kind of URL, naming the variable without echoing it', () => {
    let error: unknown;
    try {
      loadConfig({ ...DEV, DATABASE_URL: 'mysql://root:hunter2@127.0.0.1/calls', RECORDS: 'maybe' });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toContainEqual(expect.stringMatching(/^DATABASE_URL must be a PostgreSQL URL like postgres:\/\//));
    expect(problems).toContainEqual(expect.stringMatching(/^RECORDS must be on or off/));
    expect((error as Error).message).not.toContain('hunter2');
  });
});
