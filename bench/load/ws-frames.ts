/**
 * Just enough RFC 6455 for a lean client: the upgrade request, masked client text frames written straight into a
 * Buffer, and a reader that walks the server's unmasked frames in the byte stream without copying them.
 */
import { createHash, randomBytes } from 'node:crypto';

export const OPCODE_TEXT = 0x1;
export const OPCODE_BINARY = 0x2;
export const OPCODE_CLOSE = 0x8;
export const OPCODE_PING = 0x9;
export const OPCODE_PONG = 0xa;

const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export interface UpgradeRequest { text: string; expectedAccept: string }

export function buildUpgradeRequest(host: string, port: number, path: string, protocol: string | undefined): UpgradeRequest {
  const key = randomBytes(16).toString('base64');
  const expectedAccept = createHash('sha1').update(key + WS_GUID).digest('base64');
  const text =
    `GET ${path} HTTP/1.1\r\n` +
    `Host: ${host}:${port}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n' +
    (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') +
    'User-Agent: TwilioProxy/1.1\r\n' +
    '\r\n';
  return { text, expectedAccept };
}

export interface UpgradeResponse { status: number; headers: Map<string, string> }

/** Parses the head of an HTTP response (up to, not including, the blank line). */
export function parseResponseHead(head: string): UpgradeResponse {
  const lines = head.split('\r\n');
  const statusLine = lines[0] ?? '';
  const status = Number(statusLine.split(' ')[1] ?? 0);
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return { status, headers };
}

/** Header length of a masked client frame carrying `payloadLength` bytes. */
export function clientHeaderLength(payloadLength: number): number {
  return (payloadLength < 126 ? 2 : payloadLength < 65536 ? 4 : 10) + 4;
}

/**
 * Writes a masked client frame header at `buf[0..]` and returns the payload offset. The caller writes the payload
 * there and then calls maskInPlace(buf, offset, length, key).
 */
export function writeClientHeader(buf: Buffer, opcode: number, payloadLength: number, maskKey: Uint8Array): number {
  buf[0] = 0x80 | opcode;
  let o: number;
  if (payloadLength < 126) {
    buf[1] = 0x80 | payloadLength;
    o = 2;
  } else if (payloadLength < 65536) {
    buf[1] = 0x80 | 126;
    buf.writeUInt16BE(payloadLength, 2);
    o = 4;
  } else {
    buf[1] = 0x80 | 127;
    buf.writeUInt32BE(0, 2);
    buf.writeUInt32BE(payloadLength, 6);
    o = 10;
  }
  buf[o] = maskKey[0]!; buf[o + 1] = maskKey[1]!; buf[o + 2] = maskKey[2]!; buf[o + 3] = maskKey[3]!;
  return o + 4;
}

/** Per-frame path: XOR the payload with the 4-byte key (RFC 6455 5.3). */
export function maskInPlace(buf: Buffer, offset: number, length: number, key: Uint8Array): void {
  const k0 = key[0]!, k1 = key[1]!, k2 = key[2]!, k3 = key[3]!;
  const end = offset + length;
  let i = offset;
  for (; i + 3 < end; i += 4) {
    buf[i] = buf[i]! ^ k0;
    buf[i + 1] = buf[i + 1]! ^ k1;
    buf[i + 2] = buf[i + 2]! ^ k2;
    buf[i + 3] = buf[i + 3]! ^ k3;
  }
  for (let j = 0; i < end; i++, j++) buf[i] = buf[i]! ^ key[j]!;
}

/** A whole masked client frame for a text or control message (not on the per-frame path). */
export function clientFrame(opcode: number, payload: Buffer, maskKey: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(clientHeaderLength(payload.length) + payload.length);
  const o = writeClientHeader(buf, opcode, payload.length, maskKey);
  payload.copy(buf, o);
  maskInPlace(buf, o, payload.length, maskKey);
  return buf;
}

export interface FrameSink {
  /** A complete frame: payload is buf[start, end). The buffer is only valid during the call. */
  onFrame(opcode: number, buf: Buffer, start: number, end: number): void;
  onProtocolError(reason: string): void;
}

/**
 * Walks server frames in a TCP byte stream. Frames are expected unmasked and unfragmented (a server never masks);
 * a partial frame at the end of a chunk is carried into the next one.
 */
export class ServerFrameReader {
  private carry: Buffer | null = null;

  push(chunk: Buffer, sink: FrameSink): void {
    let buf = chunk;
    if (this.carry) {
      buf = Buffer.concat([this.carry, chunk]);
      this.carry = null;
    }
    let o = 0;
    const n = buf.length;
    while (o + 2 <= n) {
      const b0 = buf[o]!;
      const b1 = buf[o + 1]!;
      if ((b1 & 0x80) !== 0) { sink.onProtocolError('masked server frame'); return; }
      if ((b0 & 0x80) === 0) { sink.onProtocolError('fragmented server frame'); return; }
      let len = b1 & 0x7f;
      let h = 2;
      if (len === 126) {
        if (o + 4 > n) break;
        len = buf.readUInt16BE(o + 2);
        h = 4;
      } else if (len === 127) {
        if (o + 10 > n) break;
        len = buf.readUInt32BE(o + 6);
        h = 10;
      }
      if (o + h + len > n) break;
      sink.onFrame(b0 & 0x0f, buf, o + h, o + h + len);
      o += h + len;
    }
    if (o < n) this.carry = Buffer.from(buf.subarray(o));
  }
}
