// Junk on one media socket (malformed JSON, unknown events, bad base64, binary frames, media before start, a frame
// over maxPayloadLength) is dropped and counted, never thrown past the handler: the socket stays up until the oversized
// frame closes it, a second call on the same server keeps being served throughout, and /version keeps answering.
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  serializeConnected,
  serializeInboundMark,
  serializeInboundMedia,
  serializeStart,
} from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import type { StartInfo } from '../../src/twilio/media-messages.js';
import { TEST_SESSION_MODULE, connectWs, getJson, startServer, type RunningServer, type WsClient } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({ env: { EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
});
afterAll(async () => {
  await server?.stop();
});

const silence = new Uint8Array(160).fill(0xff);

function startInfo(callSid: string, streamSid: string): StartInfo {
  return {
    streamSid, accountSid: 'AC' + '0'.repeat(32), callSid, tracks: ['inbound'], mediaFormat: { ...MULAW_MEDIA_FORMAT },
    customParameters: {},
  };
}

async function isServed(client: WsClient, streamSid: string, name: string): Promise<void> {
  client.send(serializeInboundMark(99, streamSid, name));
  await client.waitForMessage((text) => text.includes(`"${name}"`));
}

async function counters(): Promise<Record<string, number>> {
  const { status, body } = await getJson(`${server.baseUrl}/version`);
  expect(status).toBe(200);
  return body['counters'] as Record<string, number>;
}

async function waitForCounters(check: (c: Record<string, number>) => boolean): Promise<Record<string, number>> {
  const deadline = Date.now() + 5_000;
  let last = await counters();
  while (!check(last) && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 100));
    last = await counters();
  }
  return last;
}

it('drops and counts junk, keeps both calls up, and closes only the socket that sent an oversized frame', async () => {
  const url = `${server.wsBaseUrl}/ws/twilio-media`;
  const junky = await connectWs(url, { protocols: 'audio.twilio.com' });
  const healthy = await connectWs(url, { protocols: 'audio.twilio.com' });
  healthy.send(serializeConnected());
  healthy.send(serializeStart(1, startInfo('CAhealthy', 'MZhealthy')));
  await isServed(healthy, 'MZhealthy', 'healthy-1');

  junky.send(serializeConnected());
  for (let i = 0; i < 3; i++) junky.send(serializeInboundMedia(2 + i, 'MZjunky', 1 + i, 20 * i, silence)); // before start
  junky.send(serializeStart(5, startInfo('CAjunky', 'MZjunky')));
  junky.send('{"event":"media", "sequenceNumber":'); // malformed JSON
  junky.send('not json at all');
  junky.send(JSON.stringify({ event: 'party', streamSid: 'MZjunky' })); // unknown event
  junky.send(JSON.stringify({
    event: 'media', sequenceNumber: '6', streamSid: 'MZjunky',
    media: { track: 'inbound', chunk: '1', timestamp: '0', payload: '!!!not base64!!!' },
  }));
  junky.send(JSON.stringify({
    event: 'media', sequenceNumber: '7', streamSid: 'MZjunky',
    media: { track: 'inbound', chunk: '2', timestamp: '20', payload: Buffer.alloc(100).toString('base64') },
  })); // base64, wrong size
  junky.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  junky.send(serializeInboundMedia(8, 'MZjunky', 3, 40, silence)); // a good frame still goes through

  await isServed(junky, 'MZjunky', 'junky-still-alive');
  await isServed(healthy, 'MZhealthy', 'healthy-2');

  const seen = await waitForCounters((c) => (c['parseFailures'] ?? 0) >= 6 && (c['droppedMediaBeforeStart'] ?? 0) >= 3);
  expect(seen['droppedMediaBeforeStart']).toBe(3);
  expect(seen['droppedMalformedJson']).toBe(2);
  expect(seen['droppedUnknownEvent']).toBe(1);
  expect(seen['droppedBadPayload'] ?? 0).toBeGreaterThanOrEqual(1);
  expect((seen['droppedBadPayload'] ?? 0) + (seen['droppedInvalidField'] ?? 0)).toBe(2);
  expect(seen['droppedBinaryFrame']).toBe(1);
  expect(seen['parseFailures']).toBe(6);
  expect(seen['activeCalls']).toBe(2);

  // One warning per socket, not one per frame. A worker thread's log lines reach stdout asynchronously: wait for them.
  await server.waitForLog((l) => l['event'] === 'WS_PARSE_FAIL');
  await server.waitForLog((l) => l['event'] === 'WS_DROP' && l['reason'] === 'media-before-start');
  const junkWarnings = server.logs().filter((l) => l['event'] === 'WS_PARSE_FAIL');
  expect(junkWarnings).toHaveLength(1);
  expect(server.logs().filter((l) => l['event'] === 'WS_DROP' && l['reason'] === 'media-before-start')).toHaveLength(1);

  // A frame over maxPayloadLength (64 KiB by default) closes that socket only.
  junky.send(JSON.stringify({ event: 'mark', sequenceNumber: '9', streamSid: 'MZjunky', mark: { name: 'x'.repeat(70 * 1024) } }));
  const closed = await junky.closed;
  expect([1006, 1009]).toContain(closed.code);
  await isServed(healthy, 'MZhealthy', 'healthy-3');
  const after = await waitForCounters((c) => c['activeCalls'] === 1);
  expect(after['activeCalls']).toBe(1);

  healthy.ws.close(1000);
  await healthy.closed;
  expect((await waitForCounters((c) => c['activeCalls'] === 0))['activeCalls']).toBe(0);
});
