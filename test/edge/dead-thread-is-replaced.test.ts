// An edge thread that dies (here: an uncaught exception thrown through the env-gated test hook
// POST /__test/crash-thread) closes its listen socket on the way out, so the process does not abort; the supervisor
// restarts it, counts the restart, and the server keeps answering webhooks and taking calls on both threads.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serializeConnected, serializeInboundMark, serializeStart } from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import { TEST_SESSION_MODULE, connectWs, getJson, startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { EDGE_TEST_HOOKS: '1', EDGE_THREADS: '2', EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
});
afterAll(async () => {
  await server?.stop();
});

async function callIsServed(name: string): Promise<void> {
  const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, { protocols: 'audio.twilio.com' });
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid: `MZ${name}`, accountSid: 'AC' + '0'.repeat(32), callSid: `CA${name}`, tracks: ['inbound'],
    mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
  }));
  client.send(serializeInboundMark(2, `MZ${name}`, name));
  await client.waitForMessage((text) => text.includes(`"${name}"`));
  client.ws.close(1000);
  await client.closed;
}

it('restarts a crashed edge thread and keeps serving', async () => {
  await callIsServed('before');
  const crash = await fetch(`${server.baseUrl}/__test/crash-thread`, { method: 'POST', headers: { connection: 'close' } });
  expect(crash.status).toBe(202);
  const exitLine = await server.waitForLog((line) => line['event'] === 'EDGE_THREAD_EXIT' && line['code'] === 1);
  expect(typeof exitLine['threadIndex']).toBe('number');
  await server.waitForLog((line) => line['event'] === 'EDGE_THREAD_RESTART');

  const deadline = Date.now() + 10_000;
  let version: Record<string, unknown> = {};
  while (Date.now() < deadline) {
    version = (await getJson(`${server.baseUrl}/version`)).body;
    if (version['edgeThreadRestarts'] === 1 && version['edgeThreadsReady'] === 2) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  expect(version).toMatchObject({ edgeThreads: 2, edgeThreadsReady: 2, edgeThreadRestarts: 1 });
  expect(server.child.exitCode).toBeNull();

  // Fresh connections land on either thread (the kernel spreads them by source port): several calls, all served.
  for (let i = 0; i < 6; i++) await callIsServed(`after${i}`);
  const webhook = await fetch(`${server.baseUrl}/webhook/incoming_call`, {
    method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', connection: 'close' }, body: 'CallSid=CAafter',
  });
  expect(webhook.status).toBe(200);
  const result = await server.stop();
  expect(result.code).toBe(0);
});
