// uWebSockets.js's most reported crash is a send on a socket that has already closed, from a timer or a promise.
// In-process, with createEdgeApp and a recording session factory: after the caller disconnects, the transport a
// session still holds reports isClosed, sendText returns false (counted as dropped), cork skips its callback and
// close is a no-op; nothing throws, and the session saw every message and exactly one onTransportClosed.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { CallSessionHandle, CallTransport, SessionFactory } from '../../src/call/types.js';
import { createEdgeApp, type EdgeApp, type EdgeConfig } from '../../src/edge/app.js';
import { serializeConnected, serializeStart } from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import type { InboundMessage } from '../../src/twilio/media-messages.js';
import { connectWs } from '../helpers/server.js';

interface Recorded {
  transport: CallTransport;
  messages: InboundMessage[];
  closedCount: number;
}

const recorded: Recorded[] = [];
const factory: SessionFactory = (transport) => {
  const entry: Recorded = { transport, messages: [], closedCount: 0 };
  recorded.push(entry);
  const session: CallSessionHandle = {
    onMessage: (msg) => {
      entry.messages.push(msg);
      if (msg.event === 'start') transport.sendText(JSON.stringify({ event: 'mark', streamSid: msg.streamSid, mark: { name: 'hi' } }));
    },
    onTransportClosed: () => {
      entry.closedCount++;
    },
  };
  return session;
};

const config: EdgeConfig = {
  publicBaseUrl: 'http://127.0.0.1',
  streamUrl: 'ws://127.0.0.1/ws/twilio-media',
  twilioAuthToken: undefined,
  isSignatureCheckOn: false,
  streamTokenSecret: 'x'.repeat(32),
  streamTokenTtlMs: 60_000,
  ws: { maxPayloadLength: 64 * 1024, idleTimeoutS: 60, maxBackpressureBytes: 64 * 1024, slowClientOverflowMs: 2000, startTimeoutS: 10, maxSocketsAwaitingStart: 256 },
};

let edge: EdgeApp;
let port = 0;

beforeAll(async () => {
  edge = createEdgeApp({ config, sessionFactory: factory });
  port = await edge.listen('127.0.0.1', 0);
});
afterAll(() => {
  edge?.shutdown(); // closes the listen socket: a worker/fork must not exit with one open
});

it('drops sends, corks and closes made after the caller went away, without throwing', async () => {
  const client = await connectWs(`ws://127.0.0.1:${port}/ws/twilio-media`, { protocols: 'audio.twilio.com' });
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid: 'MZrace', accountSid: 'AC' + '0'.repeat(32), callSid: 'CArace', tracks: ['inbound'],
    mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
  }));
  await client.waitForMessage((text) => text.includes('"hi"'));
  const entry = recorded[0];
  expect(entry?.transport.isClosed).toBe(false);

  client.ws.terminate(); // abrupt: no close frame
  const deadline = Date.now() + 5_000;
  while (entry?.closedCount === 0 && Date.now() < deadline) await new Promise((done) => setTimeout(done, 10));
  expect(entry?.closedCount).toBe(1);
  // the session exists from the accepted start on (a socket is not a call before it): it never sees `connected`
  expect(entry?.messages.map((m) => m.event)).toEqual(['start']);

  // What a timer or a resolved promise in the session would do next:
  const droppedBefore = edge.stats.framesDropped;
  const afterCloseBefore = edge.stats.framesDroppedClosed;
  let didCork = false;
  await new Promise<void>((done) => setTimeout(() => {
    expect(entry?.transport.isClosed).toBe(true);
    expect(entry?.transport.sendText('{"event":"clear","streamSid":"MZrace"}')).toBe(false);
    entry?.transport.cork(() => {
      didCork = true;
    });
    entry?.transport.close(1000, 'late');
    done();
  }, 20));
  expect(didCork).toBe(false);
  // counted as a write after close, not as backpressure (no slow reader here)
  expect(edge.stats.framesDroppedClosed).toBe(afterCloseBefore + 1);
  expect(edge.stats.framesDropped).toBe(droppedBefore);
  expect(entry?.closedCount).toBe(1);
  expect(edge.stats.activeCalls).toBe(0);
});
