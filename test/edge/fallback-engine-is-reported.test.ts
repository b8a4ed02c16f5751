// uWebSockets.js silently falls back to a slow JS implementation when its binary cannot load. Forced here with the
// trufflesuite package's own UWS_USE_FALLBACK=1 (our loader then tries no other build): the server must say so loudly
// at start-up, report engine "fallback" and the build in /version, keep its webhooks working, and refuse media upgrades
// (the fallback cannot run our checked upgrade handler) without crashing.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TEST_SESSION_MODULE, getJson, rawRequest, startServer, upgradeRequest, type RunningServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { UWS_USE_FALLBACK: '1', EDGE_THREADS: '0', EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
});
afterAll(async () => {
  await server?.stop();
});

it('warns at start-up, reports engine "fallback", serves webhooks and refuses upgrades without dying', async () => {
  const warning = await server.waitForLog((line) => line['event'] === 'ENGINE_FALLBACK' && line['level'] === 'warn');
  expect(String(warning['reason'])).toContain('fallback');
  expect(warning['engineBuild']).toMatch(/^@trufflesuite\/uws-js-unofficial@/); // the only build with a JS fallback
  const { body } = await getJson(`${server.baseUrl}/version`);
  expect(body).toMatchObject({ engine: 'fallback', engineBuild: warning['engineBuild'], isMediaSocketOn: false });

  const status = await fetch(`${server.baseUrl}/webhook/status`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', connection: 'close' }, body: 'CallSid=CA1',
  });
  expect(status.status).toBe(204);

  const refused = await rawRequest(server.port, upgradeRequest('/ws/twilio-media', { 'Sec-WebSocket-Protocol': 'audio.twilio.com' }));
  expect(refused.statusLine).not.toContain('101');
  expect((await getJson(`${server.baseUrl}/version`)).status).toBe(200);
  expect(server.child.exitCode).toBeNull();
});
