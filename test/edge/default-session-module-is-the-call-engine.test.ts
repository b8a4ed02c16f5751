// Without EDGE_SESSION_MODULE the edge threads load the call engine (src/thread-root.ts): a call streamed through the
// real server reaches it, and /version carries the engine's counters summed across threads next to the edge's.
// (What the engine does with the audio is tested in test/call.)
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  serializeConnected,
  serializeInboundMedia,
  serializeStart,
  serializeStop,
} from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import { connectWs, getJson, startServer, type RunningServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { EDGE_THREADS: '2' } });
});
afterAll(async () => {
  await server?.stop();
});

it('hands calls to the call engine and reports its counters in /version', async () => {
  const before = (await getJson(`${server.baseUrl}/version`)).body;
  expect(before['call']).toMatchObject({ liveSessions: 0 });

  const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, { protocols: 'audio.twilio.com' });
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid: 'MZengine', accountSid: 'AC' + '0'.repeat(32), callSid: 'CAengine', tracks: ['inbound'],
    mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
  }));
  const silence = new Uint8Array(160).fill(0xff);
  for (let i = 0; i < 25; i++) {
    client.send(serializeInboundMedia(2 + i, 'MZengine', 1 + i, i * 20, silence));
    if (i % 5 === 4) await new Promise((done) => setTimeout(done, 100));
  }

  const deadline = Date.now() + 5_000;
  let call: Record<string, number> = {};
  while (Date.now() < deadline) {
    call = (await getJson(`${server.baseUrl}/version`)).body['call'] as Record<string, number>;
    if ((call['framesIn'] ?? 0) > 0 && call['liveSessions'] === 1) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  expect(call['liveSessions']).toBe(1);
  expect(call['framesIn']).toBeGreaterThan(0);
  client.send(serializeStop(200, 'MZengine', 'AC' + '0'.repeat(32), 'CAengine'));
  client.ws.close(1000);
  await client.closed;
});
