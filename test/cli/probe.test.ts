// The handshake probe on a raw socket: status line, every header of the 101 (Upgrade/Connection checked), the
// negotiated subprotocol, Sec-WebSocket-Accept verified, and a refusal reported with its status.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { expectedAccept, parseResponseHead, probe } from '../../src/cli/probe.js';
import { MEDIA_SUBPROTOCOL } from '../../src/twilio/media-format.js';

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function startServer(): Promise<{ base: string; seen: http.IncomingHttpHeaders[] }> {
  const seen: http.IncomingHttpHeaders[] = [];
  const httpServer = http.createServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has(MEDIA_SUBPROTOCOL) ? MEDIA_SUBPROTOCOL : false) });
  httpServer.on('upgrade', (req, socket, head) => {
    seen.push(req.headers);
    if (!req.url?.startsWith('/ws/twilio-media')) {
      socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, () => {});
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        httpServer.close(() => resolve());
      }),
  );
  return { base: `ws://127.0.0.1:${(httpServer.address() as AddressInfo).port}`, seen };
}

describe('probe', () => {
  it('reports a 101 with the negotiated subprotocol, a valid accept and the upgrade headers', async () => {
    const { base, seen } = await startServer();
    const result = await probe({ url: `${base}/ws/twilio-media?x=1`, signature: 'abc=' });
    expect(result.statusCode).toBe(101);
    expect(result.httpVersion).toBe('HTTP/1.1');
    expect(result.subprotocol).toBe('audio.twilio.com');
    expect(result.isAcceptValid).toBe(true);
    expect(result.hasUpgradeHeaders).toBe(true);
    expect(result.headers.map(([n]) => n.toLowerCase())).toEqual(expect.arrayContaining(['upgrade', 'connection', 'sec-websocket-accept']));
    expect(result.rawHead.startsWith('HTTP/1.1 101')).toBe(true);
    expect(seen[0]?.['x-twilio-signature']).toBe('abc=');
    expect(seen[0]?.['sec-websocket-protocol']).toBe('audio.twilio.com');
  });

  it('offers no subprotocol when asked and reports none negotiated', async () => {
    const { base, seen } = await startServer();
    const result = await probe({ url: `${base}/ws/twilio-media`, protocol: null });
    expect(result.statusCode).toBe(101);
    expect(result.subprotocol).toBeUndefined();
    expect(seen[0]?.['sec-websocket-protocol']).toBeUndefined();
  });

  it('reports a refusal with its status', async () => {
    const { base } = await startServer();
    const result = await probe({ url: `${base}/elsewhere` });
    expect(result.statusCode).toBe(404);
    expect(result.statusText).toBe('Not Found');
    expect(result.hasUpgradeHeaders).toBe(false);
  });

  it('rejects when nothing listens', async () => {
    const { base } = await startServer();
    const port = Number(new URL(base).port);
    await Promise.all(closers.splice(0).map((c) => c()));
    await expect(probe({ url: `ws://127.0.0.1:${port}/ws/twilio-media`, timeoutMs: 2000 })).rejects.toThrow();
  });
});

describe('response head parsing', () => {
  it('reads status, text and headers in order', () => {
    expect(parseResponseHead('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-A:  b ')).toEqual({
      httpVersion: 'HTTP/1.1',
      statusCode: 101,
      statusText: 'Switching Protocols',
      headers: [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['X-A', 'b'],
      ],
    });
  });

  it('refuses what is not HTTP', () => {
    expect(() => parseResponseHead('SSH-2.0-OpenSSH')).toThrow(/not an HTTP response/);
    expect(() => parseResponseHead('HTTP/1.1 200 OK\r\nno colon here')).toThrow(/malformed header/);
  });

  it('computes the RFC 6455 accept value', () => {
    expect(expectedAccept('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});
