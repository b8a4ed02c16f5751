// The handshake alone, on a raw TCP/TLS socket (no WebSocket library in between): send the upgrade request Twilio
// sends and report exactly what came back: status line, every header of the response, the negotiated subprotocol,
// whether Sec-WebSocket-Accept is right and whether Upgrade/Connection are present. This is how a 101 that a proxy
// mangled (or a missing subprotocol answer, which Twilio reports as 31920/31921) shows up before a real call does.
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { MEDIA_SUBPROTOCOL } from '../twilio/media-format.js';

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEAD_BYTES = 64 * 1024;

export interface ProbeOptions {
  url: string;
  /** Subprotocol to offer (default audio.twilio.com); null or '' offers none. */
  protocol?: string | null;
  signature?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface ProbeResult {
  statusCode: number;
  statusText: string;
  httpVersion: string;
  /** Every response header, in order, as sent. */
  headers: Array<[string, string]>;
  /** Sec-WebSocket-Protocol of the response (undefined when absent). */
  subprotocol: string | undefined;
  /** Sec-WebSocket-Accept matches our key. */
  isAcceptValid: boolean;
  /** Upgrade: websocket and Connection: Upgrade are both present. */
  hasUpgradeHeaders: boolean;
  /** The response head as received. */
  rawHead: string;
}

export function expectedAccept(key: string): string {
  return createHash('sha1').update(key + WS_GUID).digest('base64');
}

/** Parses an HTTP response head (status line + headers, CRLF-separated, without the final blank line). */
export function parseResponseHead(head: string): Pick<ProbeResult, 'statusCode' | 'statusText' | 'httpVersion' | 'headers'> {
  const lines = head.split('\r\n');
  const status = /^(HTTP\/\d(?:\.\d)?) (\d{3})(?: (.*))?$/.exec(lines[0] ?? '');
  if (!status) throw new Error(`not an HTTP response: ${JSON.stringify((lines[0] ?? '').slice(0, 80))}`);
  const headers: Array<[string, string]> = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    headers.push([line.slice(0, colon).trim(), line.slice(colon + 1).trim()]);
  }
  return { httpVersion: status[1] as string, statusCode: Number(status[2]), statusText: status[3] ?? '', headers };
}

/** Performs one upgrade request and returns the response head; the socket is closed afterwards. */
export function probe(options: ProbeOptions): Promise<ProbeResult> {
  const url = new URL(options.url);
  const isTls = url.protocol === 'wss:' || url.protocol === 'https:';
  if (!isTls && url.protocol !== 'ws:' && url.protocol !== 'http:') {
    return Promise.reject(new Error(`probe needs a ws://, wss://, http:// or https:// URL (got ${url.protocol})`));
  }
  const port = url.port ? Number(url.port) : isTls ? 443 : 80;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const key = randomBytes(16).toString('base64');
  const protocol = options.protocol === undefined ? MEDIA_SUBPROTOCOL : options.protocol;
  const lines = [
    `GET ${url.pathname}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (protocol) lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  if (options.signature) lines.push(`X-Twilio-Signature: ${options.signature}`);
  for (const [name, value] of Object.entries(options.headers ?? {})) lines.push(`${name}: ${value}`);
  const request = lines.join('\r\n') + '\r\n\r\n';

  return new Promise<ProbeResult>((resolve, reject) => {
    const socket: net.Socket = isTls
      ? tls.connect({ host, port, servername: net.isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
      : net.connect({ host, port });
    let buffered = Buffer.alloc(0);
    let isSettled = false;
    const settle = (fn: () => void) => {
      if (isSettled) return;
      isSettled = true;
      clearTimeout(timer);
      socket.destroy();
      fn();
    };
    const timer = setTimeout(
      () => settle(() => reject(new Error(`no response head within ${options.timeoutMs ?? 10_000} ms`))),
      options.timeoutMs ?? 10_000,
    );
    socket.once(isTls ? 'secureConnect' : 'connect', () => socket.write(request));
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) {
        if (buffered.length > MAX_HEAD_BYTES) settle(() => reject(new Error('response head over 64 KiB')));
        return;
      }
      const rawHead = buffered.subarray(0, end).toString('latin1');
      settle(() => {
        try {
          const head = parseResponseHead(rawHead);
          const get = (name: string) => head.headers.find(([n]) => n.toLowerCase() === name)?.[1];
          resolve({
            ...head,
            subprotocol: get('sec-websocket-protocol'),
            isAcceptValid: get('sec-websocket-accept') === expectedAccept(key),
            hasUpgradeHeaders:
              (get('upgrade') ?? '').toLowerCase() === 'websocket' &&
              (get('connection') ?? '').toLowerCase().split(/\s*,\s*/).includes('upgrade'),
            rawHead,
          });
        } catch (err) {
          reject(err as Error);
        }
      });
    });
    socket.on('error', (err) => settle(() => reject(err)));
    socket.on('close', () => settle(() => reject(new Error('connection closed before a response head'))));
  });
}
