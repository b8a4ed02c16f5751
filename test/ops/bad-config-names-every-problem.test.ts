// A bad configuration stops the built server at start, before it listens: one message on stderr names every bad
// variable with what it should be (not just the first), the JSON log carries the same list, and the exit code is
// non-zero, which is what a deploy's health check and a process supervisor need to see.
import { describe, expect, it } from 'vitest';
import { freePort, runServerToExit as runServer } from '../helpers/server.js';

describe('a bad configuration', () => {
  it('fails at start with every problem in one message and a non-zero exit', async () => {
    const port = await freePort();
    const run = await runServer({
      PORT: String(port),
      HOST: '127.0.0.1',
      EDGE_THREADS: 'lots',
      DRAIN_TIMEOUT_S: '-3',
      LOG_LEVEL: 'loud',
      WS_IDLE_TIMEOUT_S: '5',
      PLAYOUT_LEAD_FRAMES: '999',
      BARGE_IN: 'maybe',
      TWILIO_ACCOUNT_SID: 'not-a-sid',
      TWILIO_AUTH_TOKEN: 'secret-token-value', // without PUBLIC_BASE_URL: a cross-check
      AGENT: 'openai', // without OPENAI_API_KEY: another
      OPENAI_BASE_URL: 'ftp://example.com',
    });
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    expect(run.stderr).toMatch(/Invalid configuration \(\d+ problems\)/);
    const named = ['EDGE_THREADS', 'DRAIN_TIMEOUT_S', 'LOG_LEVEL', 'WS_IDLE_TIMEOUT_S', 'PLAYOUT_LEAD_FRAMES', 'BARGE_IN',
      'TWILIO_ACCOUNT_SID', 'PUBLIC_BASE_URL', 'OPENAI_API_KEY', 'OPENAI_BASE_URL'];
    for (const name of named) expect(run.stderr, name).toContain(name);
    // each problem says what the value should be
    expect(run.stderr).toMatch(/EDGE_THREADS must be an integer from 0 to 256/);
    expect(run.stderr).toMatch(/WS_IDLE_TIMEOUT_S must be 0 \(off\) or from 8 to 960 seconds/);
    expect(run.stderr).toMatch(/LOG_LEVEL must be one of fatal, error, warn, info/);
    // a secret is never echoed back
    expect(run.stderr + run.stdout).not.toContain('secret-token-value');
    // the JSON log line carries the same list, for log searches
    const fatal = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['event'] === 'CONFIG_ERROR');
    expect(fatal).toBeDefined();
    expect((fatal!['problems'] as string[]).length).toBeGreaterThanOrEqual(named.length);
    // it never got as far as listening
    expect(run.stdout).not.toContain('SERVER_LISTEN');
  });

  it('one bad value alone is named, with the value it got', async () => {
    const run = await runServer({ PORT: '99999', INSECURE_DEV_MODE: '1' }); // the opt-in, so that PORT is the only problem
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Invalid configuration \(1 problem\):\n {2}- PORT must be an integer from 0 to 65535 \(got "99999"\)/);
  });
});
