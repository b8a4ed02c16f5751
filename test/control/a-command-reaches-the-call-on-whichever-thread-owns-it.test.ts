// The control API through the real server with two edge threads: a command for a call is carried out by the thread
// that owns the call, whichever thread the HTTP request landed on (routed through the main thread's control plane);
// the API's auth, validation and errors answer with stable codes; without CONTROL_API_KEY every /api path is 404.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import { serializeConnected, serializeInboundMedia, serializeStart } from '../../src/twilio/caller-messages.js';
import { connectWs, getJson, startServer, type RunningServer, type WsClient } from '../helpers/server.js';

const API_KEY = 'test-control-api-key-0123456789abcdef';
const SILENCE = new Uint8Array(160).fill(0xff);
const sidOf = (n: number, prefix: 'CA' | 'MZ') => `${prefix}${n.toString(16).padStart(32, '0')}`;

function api(server: RunningServer, path: string, body: unknown, key: string | null = API_KEY): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/json', connection: 'close' };
  if (key !== null) headers['Authorization'] = `Bearer ${key}`;
  return fetch(`${server.baseUrl}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function liveCall(server: RunningServer, n: number): Promise<WsClient> {
  const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, { protocols: 'audio.twilio.com' });
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid: sidOf(n, 'MZ'), accountSid: 'AC' + '0'.repeat(32), callSid: sidOf(n, 'CA'), tracks: ['inbound'],
    mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
  }));
  client.send(serializeInboundMedia(2, sidOf(n, 'MZ'), 1, 0, SILENCE));
  return client;
}

async function waitForCalls(server: RunningServer, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if ((await getJson(`${server.baseUrl}/version`)).body['activeCalls'] === count) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`activeCalls never reached ${count}`);
}

describe('the control API', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { EDGE_THREADS: '2', CONTROL_API_KEY: API_KEY } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('hangs up every call, whichever thread its request lands on', async () => {
    const calls = await Promise.all([1, 2, 3, 4, 5, 6].map((n) => liveCall(server, n)));
    await waitForCalls(server, calls.length);
    // both threads hold calls (the kernel spreads connections), and each request lands on either thread
    const answers = await Promise.all(calls.map((_, i) => api(server, `/api/calls/${sidOf(i + 1, 'CA')}/hangup`, {})));
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      expect(await answer.json()).toMatchObject({ ok: true, command: 'hangup' });
    }
    for (const client of calls) expect((await client.closed).code).toBe(1000);
    await waitForCalls(server, 0);
    const hangUps = server.logs().filter((l) => l['event'] === 'CALL_COMMAND' && l['command'] === 'hang-up');
    expect(hangUps.length).toBeGreaterThanOrEqual(calls.length);
  });

  it('answers an unknown call 404, a command the echo agent cannot do 422, and bad input 400 naming the field', async () => {
    const unknown = await api(server, `/api/calls/${sidOf(99, 'CA')}/hangup`, {});
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown-call' } });

    const call = await liveCall(server, 7);
    await waitForCalls(server, 1);
    const say = await api(server, `/api/calls/${sidOf(7, 'CA')}/say`, { text: 'hello' });
    expect(say.status).toBe(422);
    expect(await say.json()).toMatchObject({ error: { code: 'not-supported' } });

    const badTarget = await api(server, `/api/calls/${sidOf(7, 'CA')}/transfer`, { to: 'my friend' });
    expect(badTarget.status).toBe(400);
    expect(await badTarget.json()).toMatchObject({ error: { code: 'bad-request', field: 'to' } });
    const extra = await api(server, `/api/calls/${sidOf(7, 'CA')}/say`, { text: 'hi', volume: 11 });
    expect(extra.status).toBe(400);
    const badSid = await api(server, '/api/calls/not-a-sid/hangup', {});
    expect(badSid.status).toBe(400);
    expect(await badSid.json()).toMatchObject({ error: { field: 'callSid' } });
    const notJson = await fetch(`${server.baseUrl}/api/calls/${sidOf(7, 'CA')}/hangup`, {
      method: 'POST', headers: { Authorization: `Bearer ${API_KEY}`, connection: 'close' }, body: '{"goodbye":',
    });
    expect(notJson.status).toBe(400);
    // the call is untouched by all of that
    expect((await getJson(`${server.baseUrl}/version`)).body['activeCalls']).toBe(1);
    expect((await api(server, `/api/calls/${sidOf(7, 'CA')}/hangup`, {})).status).toBe(200);
    await call.closed;
  });

  it('refuses a missing or wrong key with 401', async () => {
    expect((await api(server, `/api/calls/${sidOf(1, 'CA')}/hangup`, {}, null)).status).toBe(401);
    const wrong = await api(server, `/api/calls/${sidOf(1, 'CA')}/hangup`, {}, 'x'.repeat(API_KEY.length));
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: { code: 'unauthorized' } });
  });
});

describe('without CONTROL_API_KEY', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { EDGE_THREADS: '1' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers every /api path 404 and says so at start', async () => {
    const answer = await api(server, `/api/calls/${sidOf(1, 'CA')}/hangup`, {});
    expect(answer.status).toBe(404);
    expect(await answer.json()).toMatchObject({ error: { code: 'not-found' } });
    await server.waitForLog((line) => line['controlApi'] === 'off');
  });
});
