// The caller against a tiny local `ws` server on 127.0.0.1 that plays Twilio's counterpart: it sees the messages
// Twilio sends (connected, start, paced media with chunk/timestamp, stop), its marks come back once the audio before
// them has played (or at once on clear), what it sends is recorded, and its signature and stream token are the ones
// our edge accepts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { Caller } from '../../src/cli/caller.js';
import { MEDIA_SUBPROTOCOL, MULAW_SILENCE_BYTE } from '../../src/twilio/media-format.js';
import { pacingStats } from '../../src/cli/pacing-stats.js';
import { parseInbound } from '../../src/twilio/inbound-parser.js';
import type { InboundMessage } from '../../src/twilio/media-messages.js';
import { serializeClear, serializeMark, serializeMedia } from '../../src/twilio/outbound-serializers.js';
import { STREAM_TOKEN_PARAM, deriveStreamTokenSecret, validateStreamSignature, verifyStreamToken } from '../../src/twilio/signature.js';

interface Server {
  url: string;
  received: InboundMessage[];
  /** performance.now() of each received message, same index as `received`. */
  receivedAtMs: number[];
  headers: http.IncomingHttpHeaders[];
  protocols: string[];
  close(): Promise<void>;
}

type Behaviour = (ws: WebSocket, msg: InboundMessage, server: Server) => void;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function startServer(behaviour: Behaviour, refuseWith?: number): Promise<Server> {
  const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (offered) => (offered.has(MEDIA_SUBPROTOCOL) ? MEDIA_SUBPROTOCOL : false),
  });
  const server: Server = {
    url: '',
    received: [],
    receivedAtMs: [],
    headers: [],
    protocols: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        httpServer.close(() => resolve());
      }),
  };
  httpServer.on('upgrade', (req, socket, head) => {
    server.headers.push(req.headers);
    if (refuseWith) {
      socket.end(`HTTP/1.1 ${refuseWith} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      server.protocols.push(ws.protocol);
      ws.on('message', (data) => {
        const parsed = parseInbound(data.toString());
        if (!parsed.ok) throw new Error(`caller sent an invalid message: ${parsed.reason} ${parsed.detail}`);
        server.received.push(parsed.message);
        server.receivedAtMs.push(performance.now());
        behaviour(ws, parsed.message, server);
        if (parsed.message.event === 'stop') ws.close(1000, 'bye');
      });
    });
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  server.url = `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}/ws/twilio-media`;
  servers.push(server);
  return server;
}

function tone(frames: number): Uint8Array {
  const audio = new Uint8Array(frames * 160);
  for (let i = 0; i < audio.length; i++) audio[i] = (i * 13 + (i >> 7)) & 0xff;
  return audio;
}

describe('Caller speaks Twilio to the server', () => {
  it('sends connected, start, paced media with chunk and timestamp, then stop; echoes media and the mark', async () => {
    const server = await startServer((ws, msg) => {
      if (msg.event === 'media') {
        ws.send(serializeMedia(msg.streamSid, msg.payload));
        if (msg.chunk === 25) ws.send(serializeMark(msg.streamSid, 'half'));
      }
    });
    const audio = tone(50);
    const caller = new Caller({ url: server.url, audio, tailMs: 200, customParameters: { tenant: 'x' } });
    const result = await caller.run();

    expect(server.protocols).toEqual(['audio.twilio.com']);
    expect(result.protocol).toBe('audio.twilio.com');
    const kinds = server.received.map((m) => m.event);
    expect(kinds[0]).toBe('connected');
    expect(kinds[1]).toBe('start');
    expect(kinds.at(-1)).toBe('stop');
    expect(kinds.filter((k) => k === 'media')).toHaveLength(50);

    const start = server.received[1] as Extract<InboundMessage, { event: 'start' }>;
    expect(start.sequenceNumber).toBe(1);
    expect(start.streamSid).toBe(result.streamSid);
    expect(start.start.callSid).toBe(result.callSid);
    expect(start.start.mediaFormat).toEqual({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });
    expect(start.start.customParameters).toMatchObject({ CallSid: result.callSid, tenant: 'x' });
    expect(start.start.customParameters[STREAM_TOKEN_PARAM]).toBeUndefined(); // no secret known

    const media = server.received.filter((m): m is Extract<InboundMessage, { event: 'media' }> => m.event === 'media');
    expect(media.map((m) => m.chunk)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(media.map((m) => m.timestampMs)).toEqual(Array.from({ length: 50 }, (_, i) => i * 20));
    const seqs = server.received.filter((m) => m.event !== 'connected').map((m) => (m as { sequenceNumber: number }).sequenceNumber);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    // paced, not dumped: 50 frames on a 20 ms schedule span about a second; dumped, they would span a few ms. The bound
    // is half of it: on a busy machine the first frame can arrive tens of ms late while the last is on schedule.
    const mediaTimes = server.receivedAtMs.filter((_, i) => server.received[i]?.event === 'media');
    expect((mediaTimes.at(-1) as number) - (mediaTimes[0] as number)).toBeGreaterThanOrEqual((49 * 20) / 2);

    expect(result.framesSent).toBe(50);
    expect(result.framesReceived).toBe(50);
    expect(result.receivedMulaw).toEqual(audio);
    expect(result.marksReceived).toEqual(['half']);
    expect(result.marksEchoed).toEqual(['half']);
    expect(server.received.filter((m) => m.event === 'mark').map((m) => (m as { name: string }).name)).toEqual(['half']);
    expect(result.invalidMessages + result.wrongStreamSid + result.badFrameSize).toBe(0);
    expect(result.closeCode).toBe(1000);
    expect(result.pacing.frames).toBe(50);
    expect(result.playbacks.length).toBeGreaterThanOrEqual(2); // the mark splits the echo into two playbacks
    expect(result.events.map((e) => e.type)).toEqual(expect.arrayContaining(['open', 'start-sent', 'first-media-in', 'mark-in', 'mark-echoed', 'audio-done', 'stop-sent', 'close']));
  });

  it('returns a mark only after the audio queued before it has played', async () => {
    let markSentAt = 0;
    const server = await startServer((ws, msg) => {
      if (msg.event === 'start') {
        for (let i = 0; i < 15; i++) ws.send(serializeMedia(msg.streamSid, new Uint8Array(160).fill(i)));
        ws.send(serializeMark(msg.streamSid, 'after-300ms'));
        markSentAt = performance.now();
      }
    });
    const result = await new Caller({ url: server.url, audio: tone(30), tailMs: 100 }).run();
    const echoIndex = server.received.findIndex((m) => m.event === 'mark');
    expect(result.marksEchoed).toEqual(['after-300ms']);
    // 15 frames = 300 ms of playout: the echo cannot come sooner
    expect((server.receivedAtMs[echoIndex] as number) - markSentAt).toBeGreaterThanOrEqual(300 - 25);
    // what the caller heard: the 15 frames back to back
    const heard = result.heardMulaw;
    const firstNonSilent = heard.findIndex((b) => b !== MULAW_SILENCE_BYTE);
    expect(heard.subarray(firstNonSilent, firstNonSilent + 160).every((b) => b === 0)).toBe(true);
  });

  it('on clear, drops the queued audio and returns every pending mark at once', async () => {
    const server = await startServer((ws, msg) => {
      if (msg.event === 'start') {
        for (let i = 0; i < 250; i++) ws.send(serializeMedia(msg.streamSid, new Uint8Array(160).fill(1))); // 5 s queued
        ws.send(serializeMark(msg.streamSid, 'long-reply'));
        setTimeout(() => ws.send(serializeClear(msg.streamSid)), 150);
      }
    });
    const result = await new Caller({ url: server.url, audio: tone(40), tailMs: 100 }).run();
    expect(result.clears).toBe(1);
    expect(result.marksEchoed).toEqual(['long-reply']);
    expect(result.framesReceived).toBe(250);
    // the caller heard only what played before the clear, far less than the 5 s that were queued
    const heardFrames = result.heardMulaw.filter((b) => b === 1).length / 160;
    expect(heardFrames).toBeGreaterThan(0);
    expect(heardFrames).toBeLessThan(250);
    const markEcho = server.received.find((m) => m.event === 'mark');
    expect(markEcho).toBeDefined();
  });

  it('signs the URL like Twilio and sends a stream token our edge accepts', async () => {
    const authToken = 'a'.repeat(32);
    const server = await startServer(() => {});
    const result = await new Caller({ url: server.url + '?ignored=1', audio: tone(3), authToken, tailMs: 0 }).run();
    const signature = server.headers[0]?.['x-twilio-signature'];
    expect(typeof signature).toBe('string');
    expect(validateStreamSignature(authToken, server.url, signature as string)).toBe(true);
    const start = server.received.find((m) => m.event === 'start') as Extract<InboundMessage, { event: 'start' }>;
    const token = start.start.customParameters[STREAM_TOKEN_PARAM] as string;
    expect(verifyStreamToken(deriveStreamTokenSecret(authToken), token, result.callSid, Date.now())).toBe(true);
  });

  it('offers no subprotocol when asked, and sends a given signature as is', async () => {
    const server = await startServer(() => {});
    const result = await new Caller({ url: server.url, audio: tone(2), protocol: null, signature: 'sig=', tailMs: 0 }).run();
    expect(server.headers[0]?.['sec-websocket-protocol']).toBeUndefined();
    expect(server.headers[0]?.['x-twilio-signature']).toBe('sig=');
    expect(result.protocol).toBe('');
  });

  it('sends DTMF, and can hang up without stop', async () => {
    const server = await startServer(() => {});
    const result = await new Caller({ url: server.url, audio: tone(10), dtmf: [{ atMs: 40, digit: '5' }], sendStop: false, tailMs: 0 }).run();
    expect(server.received.filter((m) => m.event === 'dtmf').map((m) => (m as { digit: string }).digit)).toEqual(['5']);
    expect(server.received.some((m) => m.event === 'stop')).toBe(false);
    expect(result.closeCode).toBe(1006);
  });

  it('rejects when the handshake is refused', async () => {
    const server = await startServer(() => {}, 403);
    await expect(new Caller({ url: server.url, audio: tone(1) }).run()).rejects.toThrow(/HTTP 403/);
  });

  it('counts what is not valid outbound media', async () => {
    const server = await startServer((ws, msg) => {
      if (msg.event === 'start') {
        ws.send('{"event":"media"}');
        ws.send(Buffer.from([1, 2, 3]));
        ws.send(serializeMedia('MZother', new Uint8Array(160)));
        ws.send(serializeMedia(msg.streamSid, new Uint8Array(80)));
      }
    });
    const result = await new Caller({ url: server.url, audio: tone(5), tailMs: 50 }).run();
    expect(result.invalidMessages).toBe(2);
    expect(result.wrongStreamSid).toBe(1);
    expect(result.badFrameSize).toBe(1);
  });
});

describe('pacingStats', () => {
  it('measures inter-arrival within playbacks only, with the error against 20 ms and audible gaps', () => {
    const stats = pacingStats([
      [0, 20, 40, 61, 80, 150], // one gap of 70 ms
      [1000, 1020], // the 850 ms between playbacks is not an interval
      [5000],
    ]);
    expect(stats.frames).toBe(9);
    expect(stats.intervals).toBe(6);
    expect(stats.p50Ms).toBe(20);
    expect(stats.maxMs).toBe(70);
    expect(stats.maxErrorMs).toBe(50);
    expect(stats.gapsOver60Ms).toBe(1);
  });

  it('is all zeros without frames', () => {
    expect(pacingStats([])).toMatchObject({ frames: 0, intervals: 0, p50Ms: 0, p99Ms: 0, maxMs: 0, gapsOver60Ms: 0 });
  });
});
