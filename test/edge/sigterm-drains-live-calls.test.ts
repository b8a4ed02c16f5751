// SIGTERM with a live call: the server stops taking new calls (upgrades 503, /version says draining) while the live
// call is still served; when the call ends the process closes its listen sockets and exits 0. If the call outlives
// DRAIN_TIMEOUT_S, it is closed with 1001 (going away) and the process still exits 0. While draining, the voice
// webhook tells Twilio at once (503 with Retry-After, after the signature check: unsigned still gets 403) instead of
// answering TwiML for a stream this instance would refuse; status callbacks still get 204.
import { describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { serializeConnected, serializeInboundMark, serializeStart } from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import {
  TEST_SESSION_MODULE,
  connectWs,
  getJson,
  rawRequest,
  startServer,
  upgradeRequest,
  type RunningServer,
  type WsClient,
} from '../helpers/server.js';

async function liveCall(server: RunningServer, name: string): Promise<WsClient> {
  const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, { protocols: 'audio.twilio.com' });
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid: `MZ${name}`, accountSid: 'AC' + '0'.repeat(32), callSid: `CA${name}`, tracks: ['inbound'],
    mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
  }));
  await isServed(client, name, 'hello');
  return client;
}

async function isServed(client: WsClient, name: string, mark: string): Promise<void> {
  client.send(serializeInboundMark(2, `MZ${name}`, `${name}-${mark}`));
  await client.waitForMessage((text) => text.includes(`"${name}-${mark}"`));
}

const AUTH_TOKEN = 'drain-test-auth-token-3c2b1a';
const PUBLIC_BASE_URL = 'https://drain.example.test';

function signedPost(server: RunningServer, path: string, params: Record<string, string>, isSigned = true): Promise<Response> {
  const headers: Record<string, string> = { 'Content-Type': 'application/x-www-form-urlencoded', connection: 'close' };
  if (isSigned) headers['X-Twilio-Signature'] = getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}${path}`, params);
  return fetch(`${server.baseUrl}${path}`, { method: 'POST', headers, body: new URLSearchParams(params).toString() });
}

/** A call the way Twilio places it with signatures on: the signed webhook's TwiML token, a signed upgrade, start. */
async function signedLiveCall(server: RunningServer, name: string): Promise<WsClient> {
  const twiml = await (await signedPost(server, '/webhook/incoming_call', { CallSid: `CA${name}` })).text();
  const token = /<Parameter name="StreamToken" value="([^"]+)"\/>/.exec(twiml)?.[1] ?? '';
  const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, {
    protocols: 'audio.twilio.com',
    headers: { 'X-Twilio-Signature': getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL.replace('https', 'wss')}/ws/twilio-media`, {}) },
  });
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid: `MZ${name}`, accountSid: 'AC' + '0'.repeat(32), callSid: `CA${name}`, tracks: ['inbound'],
    mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: { StreamToken: token },
  }));
  await isServed(client, name, 'hello');
  return client;
}

async function waitForActiveCalls(server: RunningServer, count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if ((await getJson(`${server.baseUrl}/version`)).body['activeCalls'] === count) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`activeCalls never reached ${count}`);
}

describe('SIGTERM drain', () => {
  it('refuses new calls, serves the live one to its end, then exits 0', async () => {
    const server = await startServer({ env: { EDGE_THREADS: '2', DRAIN_TIMEOUT_S: '20', EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
    try {
      const call = await liveCall(server, 'live');
      await waitForActiveCalls(server, 1);
      server.signal('SIGTERM');
      await server.waitForLog((line) => line['event'] === 'DRAIN_START');

      // Every thread drains: ask several times over fresh connections (they spread across threads).
      for (let i = 0; i < 6; i++) {
        const deadline = Date.now() + 3_000;
        let version = (await getJson(`${server.baseUrl}/version`)).body;
        while (version['draining'] !== true && Date.now() < deadline) {
          await new Promise((done) => setTimeout(done, 50));
          version = (await getJson(`${server.baseUrl}/version`)).body;
        }
        expect(version).toMatchObject({ draining: true, activeCalls: 1 });
        const refused = await rawRequest(server.port, upgradeRequest('/ws/twilio-media', { 'Sec-WebSocket-Protocol': 'audio.twilio.com' }));
        expect(refused.status).toBe(503);
        expect(refused.headers['upgrade']).toBeUndefined();
      }

      await isServed(call, 'live', 'during-drain');
      expect(server.child.exitCode).toBeNull();
      call.ws.close(1000);
      const exit = await server.exited;
      expect(exit).toEqual({ code: 0, signal: null });
      const done = await server.waitForLog((line) => line['event'] === 'DRAIN_DONE');
      expect(done['isTimedOut']).toBe(false);
    } finally {
      await server.stop();
    }
  });

  it('answers the voice webhook 503 with Retry-After on every thread, after the signature check; status callbacks 204', async () => {
    const server = await startServer({
      env: { EDGE_THREADS: '2', DRAIN_TIMEOUT_S: '20', EDGE_SESSION_MODULE: TEST_SESSION_MODULE, TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL },
    });
    try {
      const call = await signedLiveCall(server, 'drainhook');
      await waitForActiveCalls(server, 1);
      server.signal('SIGTERM');
      await server.waitForLog((line) => line['event'] === 'DRAIN_START');
      const callParams = { CallSid: 'CAnewcall', From: '+15550001111', To: '+15550002222' };
      // Fresh connections spread across both threads; each thread learns of the drain from the supervisor.
      for (let i = 0; i < 6; i++) {
        const deadline = Date.now() + 3_000;
        let refused = await signedPost(server, '/webhook/incoming_call', callParams);
        while (refused.status === 200 && Date.now() < deadline) {
          await new Promise((done) => setTimeout(done, 50));
          refused = await signedPost(server, '/webhook/incoming_call', callParams);
        }
        expect(refused.status).toBe(503);
        expect(refused.headers.get('retry-after')).toBe('1');
        expect(await refused.text()).not.toContain('<Stream');
        // an unsigned request learns nothing of the drain
        const unsigned = await signedPost(server, '/webhook/incoming_call', callParams, false);
        expect(unsigned.status).toBe(403);
        expect(unsigned.headers.get('retry-after')).toBeNull();
        const status = await signedPost(server, '/webhook/status', { ...callParams, CallStatus: 'completed' });
        expect(status.status).toBe(204);
      }
      // ...and closes the connection, so that a retry through a proxy can reach another instance
      const body = new URLSearchParams(callParams).toString();
      const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}/webhook/incoming_call`, callParams);
      const raw = await rawRequest(server.port, 'POST /webhook/incoming_call HTTP/1.1\r\nHost: x\r\n' +
        `Content-Type: application/x-www-form-urlencoded\r\nX-Twilio-Signature: ${signature}\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      expect(raw.status).toBe(503);
      expect(raw.headers['connection']).toBe('close');
      const refusedLine = await server.waitForLog((line) => line['event'] === 'WEBHOOK_REJECT' && line['reason'] === 'draining');
      expect(refusedLine['callSid']).toBe('CAnewcall');

      await isServed(call, 'drainhook', 'during-drain');
      call.ws.close(1000);
      expect(await server.exited).toEqual({ code: 0, signal: null });
    } finally {
      await server.stop();
    }
  });

  it('closes calls that outlive DRAIN_TIMEOUT_S with 1001 and still exits 0', async () => {
    const server = await startServer({ env: { EDGE_THREADS: '2', DRAIN_TIMEOUT_S: '1', EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
    try {
      const call = await liveCall(server, 'long');
      await waitForActiveCalls(server, 1);
      server.signal('SIGTERM');
      const closed = await call.closed;
      expect(closed.code).toBe(1001);
      expect(await server.exited).toEqual({ code: 0, signal: null });
      const done = await server.waitForLog((line) => line['event'] === 'DRAIN_DONE');
      expect(done).toMatchObject({ isTimedOut: true, remainingCalls: 1 });
    } finally {
      await server.stop();
    }
  });

  it('also drains in the main-thread mode (EDGE_THREADS=0) on SIGINT', async () => {
    const server = await startServer({ env: { EDGE_THREADS: '0', DRAIN_TIMEOUT_S: '20', EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
    try {
      const call = await liveCall(server, 'solo');
      server.signal('SIGINT');
      await server.waitForLog((line) => line['event'] === 'DRAIN_START');
      expect((await getJson(`${server.baseUrl}/version`)).body).toMatchObject({ draining: true, activeCalls: 1 });
      expect((await rawRequest(server.port, upgradeRequest('/ws/twilio-media'))).status).toBe(503);
      await isServed(call, 'solo', 'during-drain');
      call.ws.close(1000);
      expect(await server.exited).toEqual({ code: 0, signal: null });
    } finally {
      await server.stop();
    }
  });
});
