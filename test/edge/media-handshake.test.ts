// Every handshake case Twilio and the proxies in front of us can produce, against the real server with signature
// checks on: the two accepted paths with and without a query, every other path 404 without an upgrade, the
// subprotocol list (absent, listed, odd case, not offered) with the exact 101 read off a raw socket, and the
// X-Twilio-Signature of the wss:// URL built from PUBLIC_BASE_URL (never the Host header), computed with twilio's helper.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import {
  serializeConnected,
  serializeInboundMark,
  serializeInboundMedia,
  serializeStart,
  serializeStop,
} from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import { TEST_SESSION_MODULE, connectWs, rawRequest, startServer, upgradeRequest, type RunningServer } from '../helpers/server.js';

const AUTH_TOKEN = 'edge-test-auth-token-5f1d2c';
const PUBLIC_BASE_URL = 'https://edge.example.test';
const STREAM_URL = 'wss://edge.example.test/ws/twilio-media';
const goodSignature = getExpectedTwilioSignature(AUTH_TOKEN, STREAM_URL, {});

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL, EDGE_SESSION_MODULE: TEST_SESSION_MODULE },
  });
});
afterAll(async () => {
  await server?.stop();
});

function upgrade(path: string, headers: Record<string, string> = {}) {
  return rawRequest(server.port, upgradeRequest(path, headers));
}

describe('paths', () => {
  it.each(['/ws/twilio-media', '/ws/twilio-media/', '/ws/twilio-media?foo=bar', '/ws/twilio-media/?a=1&b=2'])(
    '%s upgrades with Upgrade: websocket and Connection: Upgrade',
    async (path) => {
      const res = await upgrade(path, { 'X-Twilio-Signature': goodSignature });
      expect(res.statusLine).toBe('HTTP/1.1 101 Switching Protocols');
      expect(res.headers['upgrade']?.toLowerCase()).toBe('websocket');
      expect(res.headers['connection']?.toLowerCase()).toBe('upgrade');
      expect(res.headers['sec-websocket-accept']).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    },
  );

  it.each(['/', '/ws', '/ws/twilio-media/extra', '/ws/twilio-mediax', '/ws/other', '/webhook/status'])(
    '%s answers 404 without upgrading',
    async (path) => {
      const res = await upgrade(path, { 'X-Twilio-Signature': goodSignature });
      expect(res.status).toBe(404);
      expect(res.headers['upgrade']).toBeUndefined();
      expect(res.headers['sec-websocket-accept']).toBeUndefined();
    },
  );

  it('a plain GET on the media path is told to upgrade (426)', async () => {
    const res = await rawRequest(server.port, 'GET /ws/twilio-media HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    expect(res.status).toBe(426);
  });
});

describe('subprotocol', () => {
  it.each([
    ['audio.twilio.com', 'audio.twilio.com'],
    ['Audio.Twilio.COM', 'audio.twilio.com'],
    ['chat, audio.twilio.com', 'audio.twilio.com'],
    [' superchat ,AUDIO.TWILIO.COM , x', 'audio.twilio.com'],
  ])('offered %j -> answered exactly %j', async (offered, answered) => {
    const res = await upgrade('/ws/twilio-media', { 'X-Twilio-Signature': goodSignature, 'Sec-WebSocket-Protocol': offered });
    expect(res.status).toBe(101);
    expect(res.headers['sec-websocket-protocol']).toBe(answered);
  });

  it.each([['none offered', undefined], ['others offered', 'chat, superchat'], ['empty header', '']])(
    '%s -> 101 without the header',
    async (_label, offered) => {
      const headers: Record<string, string> = { 'X-Twilio-Signature': goodSignature };
      if (offered !== undefined) headers['Sec-WebSocket-Protocol'] = offered;
      const res = await upgrade('/ws/twilio-media', headers);
      expect(res.status).toBe(101);
      expect(res.headers['sec-websocket-protocol']).toBeUndefined();
    },
  );
});

describe('handshake signature', () => {
  it('refuses a missing signature with 403', async () => {
    const res = await upgrade('/ws/twilio-media');
    expect(res.status).toBe(403);
    expect(res.headers['upgrade']).toBeUndefined();
  });

  it('refuses a tampered signature with 403', async () => {
    const tampered = goodSignature.slice(0, -2) + (goodSignature.endsWith('A=') ? 'B=' : 'A=');
    expect((await upgrade('/ws/twilio-media', { 'X-Twilio-Signature': tampered })).status).toBe(403);
  });

  it('refuses a signature of the URL rebuilt from the Host header', async () => {
    const hostUrl = `ws://127.0.0.1:${server.port}/ws/twilio-media`;
    const signature = getExpectedTwilioSignature(AUTH_TOKEN, hostUrl, {});
    expect((await upgrade('/ws/twilio-media', { 'X-Twilio-Signature': signature })).status).toBe(403);
  });

  it('refuses a signature made with another auth token', async () => {
    const signature = getExpectedTwilioSignature('another-token', STREAM_URL, {});
    expect((await upgrade('/ws/twilio-media', { 'X-Twilio-Signature': signature })).status).toBe(403);
  });

  it('accepts the signature of the URL with a trailing slash, and a lower-case header name', async () => {
    const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${STREAM_URL}/`, {});
    expect((await upgrade('/ws/twilio-media/', { 'x-twilio-signature': signature })).status).toBe(101);
  });
});

describe('a real client', () => {
  it('negotiates audio.twilio.com, streams, gets text frames back, and is closed on a bad stream token', async () => {
    const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media?x=1`, {
      protocols: ['audio.twilio.com'],
      headers: { 'X-Twilio-Signature': goodSignature },
    });
    expect(client.protocol).toBe('audio.twilio.com');
    client.send(serializeConnected());
    client.send(serializeStart(1, {
      streamSid: 'MZhandshake', accountSid: 'AC' + '0'.repeat(32), callSid: 'CAhandshake', tracks: ['inbound'],
      mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: { StreamToken: 'not-a-token' },
    }));
    const closed = await client.closed;
    expect(closed.code).toBe(1008);
    await server.waitForLog((line) => line['event'] === 'WS_TOKEN_FAIL' && line['callSid'] === 'CAhandshake');
  });

  it('with a valid stream token from the incoming-call webhook, the call is served', async () => {
    const params = { CallSid: 'CAgoodtoken', From: '+15550001111', To: '+15550002222' };
    const webhookSignature = getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}/webhook/incoming_call`, params);
    const response = await fetch(`${server.baseUrl}/webhook/incoming_call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'X-Twilio-Signature': webhookSignature },
      body: new URLSearchParams(params).toString(),
    });
    expect(response.status).toBe(200);
    const twiml = await response.text();
    const token = /<Parameter name="StreamToken" value="([^"]+)"\/>/.exec(twiml)?.[1];
    expect(token).toBeDefined();

    const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, {
      protocols: 'audio.twilio.com',
      headers: { 'X-Twilio-Signature': goodSignature },
    });
    client.send(serializeConnected());
    client.send(serializeStart(1, {
      streamSid: 'MZgoodtoken', accountSid: 'AC' + '0'.repeat(32), callSid: 'CAgoodtoken', tracks: ['inbound'],
      mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: { StreamToken: token ?? '' },
    }));
    client.send(serializeInboundMedia(2, 'MZgoodtoken', 1, 0, new Uint8Array(160).fill(0xff)));
    client.send(serializeInboundMark(3, 'MZgoodtoken', 'ping-1'));
    const echoed = await client.waitForMessage((text) => text.includes('ping-1'));
    expect(JSON.parse(echoed)).toMatchObject({ event: 'mark', streamSid: 'MZgoodtoken', mark: { name: 'ping-1' } });
    client.send(serializeStop(4, 'MZgoodtoken', 'AC' + '0'.repeat(32), 'CAgoodtoken'));
    client.ws.close(1000);
    await client.closed;
    const start = await server.waitForLog((line) => line['event'] === 'WS_START' && line['callSid'] === 'CAgoodtoken');
    expect(start['streamSid']).toBe('MZgoodtoken');
    await server.waitForLog((line) => line['event'] === 'WS_MEDIA' && line['callSid'] === 'CAgoodtoken');
    await server.waitForLog((line) => line['event'] === 'WS_STOP' && line['callSid'] === 'CAgoodtoken');
  });
});
