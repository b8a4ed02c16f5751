// Sockets that are not calls, through the real server with signatures on (two edge threads, the call engine):
// signed sockets that never send a valid `start` are closed at WS_START_TIMEOUT_S and never count as calls (whatever
// `connected` they send meanwhile); past WS_MAX_SOCKETS_AWAITING_START a thread answers new upgrades 503; a stream
// token is good for one stream (a second stream with it is refused as a replay, on whichever thread it lands, while
// the first is live and after it ended); and a stream that sends media faster than real time loses the excess and,
// kept up, is closed, while an honest catch-up burst passes whole.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import {
  serializeConnected,
  serializeInboundMedia,
  serializeStart,
  serializeStop,
} from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import { connectWs, getJson, rawRequest, startServer, upgradeRequest, type RunningServer, type WsClient } from '../helpers/server.js';

const AUTH_TOKEN = 'not-a-call-test-auth-token-7a1e';
const PUBLIC_BASE_URL = 'https://calls.example.test';
const STREAM_URL = 'wss://calls.example.test/ws/twilio-media';
const STREAM_SIGNATURE = getExpectedTwilioSignature(AUTH_TOKEN, STREAM_URL, {});
const ACCOUNT_SID = 'AC' + '0'.repeat(32);
const SILENCE = new Uint8Array(160).fill(0xff);
const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

function openSigned(server: RunningServer): Promise<WsClient> {
  return connectWs(`${server.wsBaseUrl}/ws/twilio-media`, { protocols: 'audio.twilio.com', headers: { 'X-Twilio-Signature': STREAM_SIGNATURE } });
}

/** The stream token the signed voice webhook hands out for `callSid`. */
async function tokenFor(server: RunningServer, callSid: string): Promise<string> {
  const params = { CallSid: callSid, From: '+15550001111', To: '+15550002222' };
  const response = await fetch(`${server.baseUrl}/webhook/incoming_call`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded', connection: 'close',
      'X-Twilio-Signature': getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}/webhook/incoming_call`, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  const token = /<Parameter name="StreamToken" value="([^"]+)"\/>/.exec(await response.text())?.[1];
  if (token === undefined) throw new Error('no stream token in the TwiML');
  return token;
}

function sendStart(client: WsClient, callSid: string, streamSid: string, token: string): void {
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid, accountSid: ACCOUNT_SID, callSid, tracks: ['inbound'], mediaFormat: { ...MULAW_MEDIA_FORMAT },
    customParameters: { StreamToken: token },
  }));
}

async function version(server: RunningServer): Promise<{ activeCalls: number; counters: Record<string, number>; call: Record<string, number> }> {
  const { body } = await getJson(`${server.baseUrl}/version`);
  return { activeCalls: Number(body['activeCalls']), counters: body['counters'] as Record<string, number>, call: body['call'] as Record<string, number> };
}

/** Polls /version (its other-thread figures are up to a second old) until `isDone`, or gives up and returns the last. */
async function versionWhen(server: RunningServer, isDone: (v: Awaited<ReturnType<typeof version>>) => boolean, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await version(server);
    if (isDone(v) || Date.now() > deadline) return v;
    await sleep(100);
  }
}

describe('sockets awaiting their start', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: {
        TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL, EDGE_THREADS: '2', LOG_LEVEL: 'info',
        WS_START_TIMEOUT_S: '3', WS_MAX_SOCKETS_AWAITING_START: '400',
      },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('closes 300 idle signed sockets at the start deadline and never counts them as calls', async () => {
    const openedAtMs = Date.now();
    const sockets = await Promise.all(Array.from({ length: 300 }, () => openSigned(server)));
    // a third of them keep saying `connected`, which must not buy them time
    const chatter = setInterval(() => {
      for (let i = 0; i < sockets.length; i += 3) if (sockets[i]!.ws.readyState === 1) sockets[i]!.send(serializeConnected());
    }, 500);
    try {
      const waiting = await versionWhen(server, (v) => v.counters['socketsAwaitingStart'] === 300);
      expect(waiting.counters['socketsAwaitingStart']).toBe(300);
      expect(waiting.activeCalls).toBe(0);
      expect(waiting.counters['callsTotal']).toBe(0);
      expect(waiting.call['liveSessions']).toBe(0);

      const closes = await Promise.all(sockets.map((s) => s.closed));
      const closedAfterMs = Date.now() - openedAtMs;
      expect(closes.every((c) => c.code === 1008)).toBe(true);
      expect(closedAfterMs).toBeGreaterThanOrEqual(3_000);
      expect(closedAfterMs).toBeLessThan(3_000 + 4_000); // one sweep a second, and a loaded machine
    } finally {
      clearInterval(chatter);
    }
    const after = await versionWhen(server, (v) => v.counters['startTimeouts'] === 300 && v.counters['socketsAwaitingStart'] === 0);
    expect(after.counters['startTimeouts']).toBe(300);
    expect(after.counters['socketsAwaitingStart']).toBe(0);
    expect(after.counters['callsTotal']).toBe(0);
    expect(after.call['liveSessions']).toBe(0);
    await server.waitForLog((line) => line['event'] === 'WS_START_TIMEOUT');
  });

  it('refuses a second stream with a used token, while the first is live and after it ended', async () => {
    const token = await tokenFor(server, 'CAonce');
    const first = await openSigned(server);
    sendStart(first, 'CAonce', 'MZfirst', token);
    await versionWhen(server, (v) => v.activeCalls === 1);
    // replays while the first is live: several, so that both threads are tried
    const replays = await Promise.all(Array.from({ length: 6 }, () => openSigned(server)));
    replays.forEach((client, i) => sendStart(client, 'CAonce', `MZreplay${i}`, token));
    for (const client of replays) expect((await client.closed).code).toBe(1008);
    const live = await version(server);
    expect(live.activeCalls).toBe(1);
    // the first stream is still served
    first.send(serializeInboundMedia(2, 'MZfirst', 1, 0, SILENCE));
    first.send(serializeStop(3, 'MZfirst', ACCOUNT_SID, 'CAonce'));
    expect((await first.closed).code).toBe(1000);
    // and after it ended
    const late = await openSigned(server);
    sendStart(late, 'CAonce', 'MZlate', token);
    expect((await late.closed).code).toBe(1008);
    const replayLog = await server.waitForLog((line) => line['event'] === 'WS_TOKEN_FAIL' && line['reason'] === 'replayed');
    expect(replayLog['callSid']).toBe('CAonce');
    const after = await versionWhen(server, (v) => v.counters['streamTokenReplays'] === 7);
    expect(after.counters['streamTokenReplays']).toBe(7);
    expect(after.counters['callsTotal']).toBe(1);
  });

  it('counts a sequence-number jump of about 10^15 as one gap, not 10^15 lost frames', async () => {
    const token = await tokenFor(server, 'CAjump');
    const client = await openSigned(server);
    sendStart(client, 'CAjump', 'MZjump', token);
    const before = (await versionWhen(server, (v) => v.activeCalls === 1)).counters['sequenceGaps'] ?? 0;
    client.send(serializeInboundMedia(2, 'MZjump', 1, 0, SILENCE));
    // the largest sequence number the parser takes has 15 digits
    client.send(serializeInboundMedia(9e14, 'MZjump', 2, 20, SILENCE));
    client.send(serializeInboundMedia(9e14 + 1, 'MZjump', 3, 40, SILENCE));
    client.send(serializeStop(9e14 + 2, 'MZjump', ACCOUNT_SID, 'CAjump'));
    await client.closed;
    const stop = await server.waitForLog((line) => line['event'] === 'WS_STOP' && line['callSid'] === 'CAjump');
    expect(stop['sequenceGaps']).toBe(1);
    const after = await versionWhen(server, (v) => v.activeCalls === 0 && v.counters['sequenceGaps'] !== before);
    expect(after.counters['sequenceGaps']).toBe(before + 1);
  });

  it('drops media beyond real time plus a burst and closes a stream that keeps it up; an honest catch-up passes', async () => {
    // honest: Twilio delivers 2 s it held back at once, then goes on in real time
    const honestToken = await tokenFor(server, 'CAhonest');
    const honest = await openSigned(server);
    sendStart(honest, 'CAhonest', 'MZhonest', honestToken);
    let seq = 2;
    for (let i = 0; i < 100; i++) honest.send(serializeInboundMedia(seq++, 'MZhonest', i + 1, i * 20, SILENCE));
    for (let i = 100; i < 150; i++) {
      await sleep(20);
      honest.send(serializeInboundMedia(seq++, 'MZhonest', i + 1, i * 20, SILENCE));
    }
    // flood: 5x real time (five frames every 20 ms) until the server closes it
    const floodToken = await tokenFor(server, 'CAflood');
    const flood = await openSigned(server);
    sendStart(flood, 'CAflood', 'MZflood', floodToken);
    let floodSeq = 2;
    let isClosed = false;
    void flood.closed.then(() => (isClosed = true));
    const floodStartMs = Date.now();
    while (!isClosed && Date.now() - floodStartMs < 12_000) {
      for (let k = 0; k < 5; k++) flood.send(serializeInboundMedia(floodSeq, 'MZflood', floodSeq, floodSeq * 20, SILENCE)), floodSeq++;
      await sleep(20);
    }
    const floodClose = await flood.closed;
    expect(floodClose.code).toBe(1008);
    const floodLastedMs = Date.now() - floodStartMs;
    expect(floodLastedMs).toBeGreaterThanOrEqual(5_000); // the burst, then 5 s over the rate
    expect(server.logs().filter((line) => line['event'] === 'WS_RATE_CLOSE' && line['callSid'] === 'CAflood').length).toBe(1);

    honest.send(serializeStop(seq, 'MZhonest', ACCOUNT_SID, 'CAhonest'));
    await honest.closed;
    const stop = await server.waitForLog((line) => line['event'] === 'WS_STOP' && line['callSid'] === 'CAhonest');
    expect(stop['framesIn']).toBe(150); // nothing of the honest burst was dropped
    expect(stop['framesDroppedRate']).toBe(0);
    const floodStop = await server.waitForLog((line) => line['event'] === 'WS_STOP' && line['callSid'] === 'CAflood');
    expect(Number(floodStop['framesDroppedRate'])).toBeGreaterThan(0);
    const after = await versionWhen(server, (v) => v.counters['streamsClosedRate'] === 1);
    expect(after.counters['streamsClosedRate']).toBe(1);
    expect(after.counters['droppedRate']).toBe(Number(floodStop['framesDroppedRate']));
  });
});

describe('the cap on sockets awaiting their start', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL, EDGE_THREADS: '1', LOG_LEVEL: 'warn', WS_MAX_SOCKETS_AWAITING_START: '3' },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers 503 with Retry-After past the cap, and takes a socket again once one has gone', async () => {
    const held = await Promise.all([openSigned(server), openSigned(server), openSigned(server)]);
    const refused = await rawRequest(server.port, upgradeRequest('/ws/twilio-media', { 'X-Twilio-Signature': STREAM_SIGNATURE }));
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    // an unsigned upgrade is still 403: a flood without the signature cannot learn or take anything
    expect((await rawRequest(server.port, upgradeRequest('/ws/twilio-media'))).status).toBe(403);
    held[0]!.ws.close(1000);
    await held[0]!.closed;
    await sleep(50);
    const again = await openSigned(server);
    expect(again.protocol).toBe('audio.twilio.com');
    for (const client of [again, ...held.slice(1)]) client.ws.close(1000);
    const v = await versionWhen(server, (x) => x.counters['upgradesRefusedBusy'] === 1);
    expect(v.counters['upgradesRefusedBusy']).toBe(1);
  });
});
