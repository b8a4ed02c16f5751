// A caller that stops reading while the server keeps writing: its frames are dropped first (sendText returns false,
// counted as framesDropped) and after SLOW_CLIENT_OVERFLOW_MS of sustained overflow the socket is closed; another call on
// the same server is served before, during and after. The slow caller is a raw TCP socket that does the handshake, sends
// a start asking the test session to flood, then never reads again.
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { serializeConnected, serializeInboundMark, serializeStart } from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import { TEST_SESSION_MODULE, connectWs, getJson, startServer, upgradeRequest, type RunningServer } from '../helpers/server.js';

let server: RunningServer;

beforeAll(async () => {
  server = await startServer({
    env: {
      EDGE_THREADS: '2', EDGE_SESSION_MODULE: TEST_SESSION_MODULE, WS_MAX_BACKPRESSURE_BYTES: String(256 * 1024),
      SLOW_CLIENT_OVERFLOW_MS: '300',
    },
  });
});
afterAll(async () => {
  await server?.stop();
});

/** One masked client text frame (RFC 6455 5.2). */
function clientTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const mask = randomBytes(4);
  const length = payload.length;
  const header = length < 126 ? Buffer.from([0x81, 0x80 | length]) : Buffer.from([0x81, 0x80 | 126, length >> 8, length & 0xff]);
  const masked = Buffer.alloc(length);
  for (let i = 0; i < length; i++) masked[i] = (payload[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([header, mask, masked]);
}

function openNonReadingCaller(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(upgradeRequest('/ws/twilio-media', { 'Sec-WebSocket-Protocol': 'audio.twilio.com' })));
    socket.once('error', reject);
    let head = '';
    const onData = (chunk: Buffer): void => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101')) {
        reject(new Error(head));
        return;
      }
      socket.write(clientTextFrame(serializeConnected()));
      socket.write(clientTextFrame(serializeStart(1, {
        streamSid: 'MZslow', accountSid: 'AC' + '0'.repeat(32), callSid: 'CAslow', tracks: ['inbound'],
        mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: { mode: 'flood' },
      })));
      socket.pause(); // never read again
      resolve(socket);
    };
    socket.on('data', onData);
  });
}

it('drops a stalled reader\'s frames, then closes it, while another call is served throughout', async () => {
  const healthy = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, { protocols: 'audio.twilio.com' });
  healthy.send(serializeConnected());
  healthy.send(serializeStart(1, {
    streamSid: 'MZfine', accountSid: 'AC' + '0'.repeat(32), callSid: 'CAfine', tracks: ['inbound'],
    mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
  }));
  let markIndex = 0;
  const isHealthyServed = async (): Promise<void> => {
    const name = `fine-${markIndex++}`;
    healthy.send(serializeInboundMark(10 + markIndex, 'MZfine', name));
    await healthy.waitForMessage((text) => text.includes(`"${name}"`));
  };
  await isHealthyServed();

  const slow = await openNonReadingCaller(server.port);
  const closeLine = server.waitForLog((line) => line['event'] === 'WS_SLOW_CLIENT_CLOSE' && line['callSid'] === 'CAslow', 20_000);
  let isClosed = false;
  void closeLine.then(() => {
    isClosed = true;
  });
  // Served while the stalled socket overflows.
  while (!isClosed) {
    await isHealthyServed();
    await new Promise((done) => setTimeout(done, 50));
  }
  const line = await closeLine;
  expect(Number(line['framesDropped'])).toBeGreaterThan(0);
  await server.waitForLog((l) => l['event'] === 'WS_STOP' && l['callSid'] === 'CAslow');
  await isHealthyServed();

  const deadline = Date.now() + 5_000;
  let counters: Record<string, number> = {};
  while (Date.now() < deadline) {
    counters = (await getJson(`${server.baseUrl}/version`)).body['counters'] as Record<string, number>;
    if (counters['slowClientsClosed'] === 1 && counters['activeCalls'] === 1) break;
    await new Promise((done) => setTimeout(done, 100));
  }
  expect(counters['slowClientsClosed']).toBe(1);
  expect(counters['activeCalls']).toBe(1);
  expect(counters['framesDropped']).toBeGreaterThan(0);
  slow.destroy();
  healthy.ws.close(1000);
  await healthy.closed;
});
