// Security is on unless switched off on purpose: the built server without TWILIO_AUTH_TOKEN refuses to start (exit 1,
// one message naming the token and the INSECURE_DEV_MODE opt-in) rather than silently checking nothing; the loopback
// dev mode (INSECURE_DEV_MODE=1) refuses a non-loopback HOST and an https:// PUBLIC_BASE_URL; INSECURE_DEV_MODE=public
// allows them on purpose; and /version says which mode runs. Refusals exit before listening, so the HOST=0.0.0.0 case
// never binds; the servers that do start listen on 127.0.0.1 only (public mode with HOST=0.0.0.0 is a config test).
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, getJson, runServerToExit, startServer, type RunningServer } from '../helpers/server.js';

const AUTH = 'f'.repeat(32);
let server: RunningServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

function configErrorLine(stdout: string): Record<string, unknown> | undefined {
  return stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l['event'] === 'CONFIG_ERROR');
}

describe('without TWILIO_AUTH_TOKEN the server refuses to start unless told otherwise', () => {
  it('a blank TWILIO_AUTH_TOKEN exits 1 with one message naming TWILIO_AUTH_TOKEN and INSECURE_DEV_MODE', async () => {
    const run = await runServerToExit({ PORT: String(await freePort()), HOST: '127.0.0.1', TWILIO_AUTH_TOKEN: '', EDGE_THREADS: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Invalid configuration \(1 problem\):\n {2}- TWILIO_AUTH_TOKEN is required \(it is blank\).*INSECURE_DEV_MODE=1/);
    expect(run.stderr).toContain('INSECURE_DEV_MODE=public');
    expect(configErrorLine(run.stdout)?.['problems']).toHaveLength(1);
    expect(run.stdout).not.toContain('SERVER_LISTEN');
  });

  it('a misspelled token variable is named in the refusal, its value never shown', async () => {
    const run = await runServerToExit({ PORT: String(await freePort()), HOST: '127.0.0.1', TWILLIO_AUTH_TOKEN: 'the-real-token-value', EDGE_THREADS: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('TWILLIO_AUTH_TOKEN is set: a misspelling of TWILIO_AUTH_TOKEN?');
    expect(run.stderr + run.stdout).not.toContain('the-real-token-value');
  });

  it('INSECURE_DEV_MODE=1 with HOST=0.0.0.0 refuses to start', async () => {
    // a short timeout: should this ever regress, an unchecked server would be listening on every interface meanwhile
    const run = await runServerToExit({ PORT: String(await freePort()), HOST: '0.0.0.0', INSECURE_DEV_MODE: '1', EDGE_THREADS: '1' }, 5_000);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Invalid configuration \(1 problem\):\n {2}- HOST must be a loopback address .*\(got "0\.0\.0\.0"\).*INSECURE_DEV_MODE=public/);
    expect(run.stdout).not.toContain('SERVER_LISTEN');
  });

  it('INSECURE_DEV_MODE=1 with an https:// PUBLIC_BASE_URL refuses to start', async () => {
    const run = await runServerToExit({
      PORT: String(await freePort()), HOST: '127.0.0.1', INSECURE_DEV_MODE: '1', PUBLIC_BASE_URL: 'https://abc.ngrok.app', EDGE_THREADS: '1',
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Invalid configuration \(1 problem\):\n {2}- PUBLIC_BASE_URL must not be https:\/\/ with INSECURE_DEV_MODE=1/);
  });

  it('a bad INSECURE_DEV_MODE exits 1 listing 1, public and 0', async () => {
    const run = await runServerToExit({ PORT: String(await freePort()), HOST: '127.0.0.1', INSECURE_DEV_MODE: 'yes', EDGE_THREADS: '1' });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^Invalid configuration \(1 problem\):\n {2}- INSECURE_DEV_MODE must be 1 \(.*\), public \(.*\) or 0 \(off\) \(got "yes"\)/);
  });
});

describe('/version says which mode runs', () => {
  it('INSECURE_DEV_MODE=public starts with an https:// PUBLIC_BASE_URL and /version says public', async () => {
    server = await startServer({ env: { INSECURE_DEV_MODE: 'public', PUBLIC_BASE_URL: 'https://abc.ngrok.app', EDGE_THREADS: '1' } });
    const { body } = await getJson(`${server.baseUrl}/version`);
    expect(body).toMatchObject({ insecureDevMode: 'public', isInsecureDevMode: true, isSignatureCheckOn: false });
    const warning = await server.waitForLog((l) => l['event'] === 'INSECURE_DEV_MODE');
    expect(warning).toMatchObject({ insecureDevMode: 'public', level: 'warn' });
  });

  it('INSECURE_DEV_MODE=1 on loopback starts and /version says loopback', async () => {
    server = await startServer({ env: { INSECURE_DEV_MODE: '1', EDGE_THREADS: '1' } });
    const { body } = await getJson(`${server.baseUrl}/version`);
    expect(body).toMatchObject({ insecureDevMode: 'loopback', isInsecureDevMode: true, isSignatureCheckOn: false });
  });

  it('with TWILIO_AUTH_TOKEN (and INSECURE_DEV_MODE left over) signatures are checked and /version says off', async () => {
    server = await startServer({
      env: { TWILIO_AUTH_TOKEN: AUTH, PUBLIC_BASE_URL: 'https://voice.example.com', INSECURE_DEV_MODE: 'public', EDGE_THREADS: '1' },
    });
    const { body } = await getJson(`${server.baseUrl}/version`);
    expect(body).toMatchObject({ insecureDevMode: 'off', isInsecureDevMode: false, isSignatureCheckOn: true });
    expect(server.logs().some((l) => l['event'] === 'INSECURE_DEV_MODE')).toBe(false);
  });
});
