// The load generator's own RFC 6455 code (bench/load/ws-frames.ts), checked against a reading of the RFC written here:
// masked client frames unmask to their payload in all three length encodings (the smallest one that fits), the
// server-frame reader finds every frame's opcode and payload however TCP splits the byte stream (inside headers too)
// and refuses masked or fragmented server frames, the upgrade request's expected accept is the RFC's computation for
// the key it sends, and the response head parser reads the status and headers.
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_TEXT, ServerFrameReader, buildUpgradeRequest, clientFrame,
  clientHeaderLength, maskInPlace, parseResponseHead, writeClientHeader, type FrameSink,
} from '../../bench/load/ws-frames.js';
import { MEDIA_SUBPROTOCOL } from '../../src/twilio/media-format.js';

interface DecodedClientFrame { fin: boolean; opcode: number; lengthCode: number; headerLength: number; payload: Buffer }

/** RFC 6455 5.2 read independently: a whole masked client frame, unmasked. */
function decodeClientFrame(frame: Buffer): DecodedClientFrame {
  const fin = (frame[0]! & 0x80) !== 0;
  const opcode = frame[0]! & 0x0f;
  expect(frame[1]! & 0x80, 'MASK bit').toBe(0x80);
  const lengthCode = frame[1]! & 0x7f;
  let length = lengthCode;
  let o = 2;
  if (lengthCode === 126) { length = frame.readUInt16BE(2); o = 4; }
  else if (lengthCode === 127) { length = Number(frame.readBigUInt64BE(2)); o = 10; }
  const key = frame.subarray(o, o + 4);
  o += 4;
  expect(frame.length, 'frame holds exactly header + payload').toBe(o + length);
  const payload = Buffer.alloc(length);
  for (let i = 0; i < length; i++) payload[i] = frame[o + i]! ^ key[i % 4]!;
  return { fin, opcode, lengthCode, headerLength: o, payload };
}

/** An unmasked, unfragmented server frame, written by the RFC. */
function serverFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  let header: Buffer;
  if (payload.length < 126) header = Buffer.from([(fin ? 0x80 : 0) | opcode, payload.length]);
  else if (payload.length < 65536) { header = Buffer.alloc(4); header[0] = (fin ? 0x80 : 0) | opcode; header[1] = 126; header.writeUInt16BE(payload.length, 2); }
  else { header = Buffer.alloc(10); header[0] = (fin ? 0x80 : 0) | opcode; header[1] = 127; header.writeBigUInt64BE(BigInt(payload.length), 2); }
  return Buffer.concat([header, payload]);
}

interface Seen { frames: Array<{ opcode: number; payload: Buffer }>; errors: string[] }

function recorder(): Seen & FrameSink {
  const seen: Seen & FrameSink = {
    frames: [],
    errors: [],
    onFrame(opcode, buf, start, end) { seen.frames.push({ opcode, payload: Buffer.from(buf.subarray(start, end)) }); },
    onProtocolError(reason) { seen.errors.push(reason); },
  };
  return seen;
}

function feed(chunks: Buffer[]): Seen {
  const reader = new ServerFrameReader();
  const sink = recorder();
  for (const c of chunks) reader.push(c, sink);
  return sink;
}

const patterned = (n: number, seed = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + 1) & 0xff));

// Lengths on each side of the encoding boundaries (125/126, 65535/65536) and ones that are not a multiple of the key.
const LENGTHS = [0, 1, 3, 4, 5, 125, 126, 127, 1000, 65535, 65536, 70001];
const expectedLengthCode = (n: number): number => (n < 126 ? n : n < 65536 ? 126 : 127);

describe('client frames', () => {
  it('clientFrame masks each payload length with the smallest length encoding, and unmasks to the payload', () => {
    for (const n of LENGTHS) {
      const payload = patterned(n, n);
      const key = Uint8Array.from([0x37, 0xfa, 0x21, 0x3d]);
      const frame = clientFrame(OPCODE_TEXT, payload, key);
      const d = decodeClientFrame(frame);
      expect(d.fin, `FIN at ${n}`).toBe(true);
      expect(d.opcode).toBe(OPCODE_TEXT);
      expect(d.lengthCode, `length code at ${n}`).toBe(expectedLengthCode(n));
      expect(d.headerLength).toBe(clientHeaderLength(n));
      expect(d.payload.equals(payload), `payload of ${n} bytes`).toBe(true);
      if (n >= 4) expect(frame.subarray(d.headerLength).equals(payload), 'the payload goes out masked').toBe(false);
    }
  });

  it('writeClientHeader + payload + maskInPlace (the per-frame path) builds the same frame as clientFrame', () => {
    for (const n of LENGTHS) {
      const payload = patterned(n, 3);
      const key = randomBytes(4);
      const buf = Buffer.alloc(clientHeaderLength(n) + n, 0xee);
      const o = writeClientHeader(buf, OPCODE_TEXT, n, key);
      expect(o, `payload offset at ${n}`).toBe(clientHeaderLength(n));
      payload.copy(buf, o);
      maskInPlace(buf, o, n, key);
      const d = decodeClientFrame(buf);
      expect(d.payload.equals(payload), `payload of ${n} bytes`).toBe(true);
      expect(buf.equals(clientFrame(OPCODE_TEXT, payload, key)), `same bytes as clientFrame at ${n}`).toBe(true);
    }
  });

  it('control frames carry their opcode (close with its status code, pong with the ping payload)', () => {
    const key = Uint8Array.from([1, 2, 3, 4]);
    const close = decodeClientFrame(clientFrame(OPCODE_CLOSE, Buffer.from([0x03, 0xe8]), key));
    expect(close).toMatchObject({ fin: true, opcode: OPCODE_CLOSE });
    expect(close.payload.readUInt16BE(0)).toBe(1000);
    const pong = decodeClientFrame(clientFrame(0xa, Buffer.from('are you there'), key));
    expect(pong.opcode).toBe(0xa);
    expect(pong.payload.toString()).toBe('are you there');
  });

  it('maskInPlace only touches its range, at any offset and length, and masking twice restores the bytes', () => {
    const key = Uint8Array.from([0xde, 0xad, 0xbe, 0xef]);
    for (const offset of [0, 1, 2, 3, 5]) {
      for (const length of [0, 1, 2, 3, 4, 7, 9]) {
        const original = patterned(offset + length + 3, offset);
        const buf = Buffer.from(original);
        maskInPlace(buf, offset, length, key);
        for (let i = 0; i < buf.length; i++) {
          const inside = i >= offset && i < offset + length;
          expect(buf[i], `byte ${i} (offset ${offset}, length ${length})`).toBe(inside ? original[i]! ^ key[(i - offset) % 4]! : original[i]);
        }
        maskInPlace(buf, offset, length, key);
        expect(buf.equals(original)).toBe(true);
      }
    }
  });
});

describe('ServerFrameReader', () => {
  const small = [
    { opcode: OPCODE_TEXT, payload: Buffer.from('{"event":"media"}') },
    { opcode: OPCODE_TEXT, payload: Buffer.alloc(0) },
    { opcode: OPCODE_PING, payload: Buffer.from('p') },
    { opcode: OPCODE_TEXT, payload: patterned(125, 1) },
    { opcode: OPCODE_TEXT, payload: patterned(126, 2) },
    { opcode: OPCODE_BINARY, payload: patterned(300, 3) },
    { opcode: OPCODE_CLOSE, payload: Buffer.from([0x03, 0xe8]) },
  ];
  const smallStream = Buffer.concat(small.map((f) => serverFrame(f.opcode, f.payload)));

  const expectFrames = (seen: Seen, expected: typeof small, where: string): void => {
    expect(seen.errors, where).toEqual([]);
    expect(seen.frames.length, where).toBe(expected.length);
    seen.frames.forEach((f, i) => {
      expect(f.opcode, `${where}, frame ${i}`).toBe(expected[i]!.opcode);
      expect(f.payload.equals(expected[i]!.payload), `${where}, frame ${i} payload`).toBe(true);
    });
  };

  it('reads a whole stream in one chunk', () => {
    expectFrames(feed([smallStream]), small, 'one chunk');
  });

  it('reads the same frames when the stream is cut in two at every byte boundary', () => {
    for (let k = 0; k <= smallStream.length; k++) {
      expectFrames(feed([smallStream.subarray(0, k), smallStream.subarray(k)]), small, `cut at ${k}`);
    }
  });

  it('reads the same frames when the stream arrives one byte at a time', () => {
    const chunks = Array.from({ length: smallStream.length }, (_, i) => smallStream.subarray(i, i + 1));
    expectFrames(feed(chunks), small, 'byte by byte');
  });

  it('reads a 64-bit-length frame cut anywhere in its header or at its end, between small frames', () => {
    const big = [
      { opcode: OPCODE_TEXT, payload: Buffer.from('before') },
      { opcode: OPCODE_BINARY, payload: patterned(70_000, 9) },
      { opcode: OPCODE_TEXT, payload: Buffer.from('after') },
    ];
    const stream = Buffer.concat(big.map((f) => serverFrame(f.opcode, f.payload)));
    const bigStart = 2 + 'before'.length;
    const bigEnd = bigStart + 10 + 70_000;
    const cuts = new Set<number>();
    for (let k = bigStart - 2; k <= bigStart + 12; k++) cuts.add(k);
    for (let k = bigEnd - 2; k <= bigEnd + 3; k++) cuts.add(k);
    cuts.add(bigStart + 5000);
    for (const k of cuts) expectFrames(feed([stream.subarray(0, k), stream.subarray(k)]), big, `cut at ${k}`);
    // three pieces: one byte of the header at a time, then a run of the payload, then the rest
    const pieces = [stream.subarray(0, bigStart)];
    for (let k = bigStart; k < bigStart + 10; k++) pieces.push(stream.subarray(k, k + 1));
    pieces.push(stream.subarray(bigStart + 10, bigStart + 30_000), stream.subarray(bigStart + 30_000));
    expectFrames(feed(pieces), big, 'header byte by byte');
  });

  it('delivers nothing for a partial frame until the rest arrives', () => {
    const frame = serverFrame(OPCODE_TEXT, Buffer.from('hello'));
    const reader = new ServerFrameReader();
    const sink = recorder();
    reader.push(frame.subarray(0, 4), sink);
    expect(sink.frames).toEqual([]);
    reader.push(frame.subarray(4), sink);
    expect(sink.frames.map((f) => f.payload.toString())).toEqual(['hello']);
  });

  it('keeps its own copy of a partial frame, so the caller may reuse the chunk\'s memory', () => {
    const frame = serverFrame(OPCODE_TEXT, Buffer.from('carried over'));
    const reader = new ServerFrameReader();
    const sink = recorder();
    const chunk = Buffer.from(frame.subarray(0, 7));
    reader.push(chunk, sink);
    chunk.fill(0x00);   // e.g. a read buffer handed out again
    reader.push(frame.subarray(7), sink);
    expect(sink.frames.map((f) => f.payload.toString())).toEqual(['carried over']);
  });

  it('reports a masked server frame and a fragmented one as protocol errors, after the good frames before them', () => {
    const masked = Buffer.from(clientFrame(OPCODE_TEXT, Buffer.from('x'), Uint8Array.from([1, 2, 3, 4])));
    const a = feed([Buffer.concat([serverFrame(OPCODE_TEXT, Buffer.from('ok')), masked])]);
    expect(a.frames.map((f) => f.payload.toString())).toEqual(['ok']);
    expect(a.errors).toEqual(['masked server frame']);

    const b = feed([Buffer.concat([serverFrame(OPCODE_TEXT, Buffer.from('ok')), serverFrame(OPCODE_TEXT, Buffer.from('part'), false)])]);
    expect(b.frames.map((f) => f.payload.toString())).toEqual(['ok']);
    expect(b.errors).toEqual(['fragmented server frame']);
  });
});

describe('the upgrade', () => {
  const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
  const acceptFor = (key: string): string => createHash('sha1').update(key + GUID).digest('base64');

  it('the reference accept computation gives RFC 6455\'s own example', () => {
    // RFC 6455 section 1.3: "the sample nonce" -> s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
    expect(acceptFor('dGhlIHNhbXBsZSBub25jZQ==')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('buildUpgradeRequest sends a fresh 16-byte key and expects the RFC accept for it', () => {
    const a = buildUpgradeRequest('127.0.0.1', 8080, '/ws/twilio-media', MEDIA_SUBPROTOCOL);
    const b = buildUpgradeRequest('127.0.0.1', 8080, '/ws/twilio-media', MEDIA_SUBPROTOCOL);
    for (const req of [a, b]) {
      const key = /\r\nSec-WebSocket-Key: (\S+)\r\n/.exec(req.text)?.[1];
      expect(key).toBeDefined();
      expect(Buffer.from(key!, 'base64').length).toBe(16);
      expect(req.expectedAccept).toBe(acceptFor(key!));
    }
    expect(a.expectedAccept).not.toBe(b.expectedAccept);
  });

  it('buildUpgradeRequest writes a complete GET upgrade, with the subprotocol only when asked', () => {
    const { text } = buildUpgradeRequest('127.0.0.1', 9001, '/ws/twilio-media?x=1', MEDIA_SUBPROTOCOL);
    expect(text.startsWith('GET /ws/twilio-media?x=1 HTTP/1.1\r\n')).toBe(true);
    expect(text.endsWith('\r\n\r\n')).toBe(true);
    expect(text.indexOf('\r\n\r\n')).toBe(text.length - 4);
    const head = parseResponseHead(text.slice(0, -4));   // the same header syntax as a response
    expect(head.headers.get('host')).toBe('127.0.0.1:9001');
    expect(head.headers.get('upgrade')).toBe('websocket');
    expect(head.headers.get('connection')).toBe('Upgrade');
    expect(head.headers.get('sec-websocket-version')).toBe('13');
    expect(head.headers.get('sec-websocket-protocol')).toBe('audio.twilio.com');
    const bare = buildUpgradeRequest('127.0.0.1', 9001, '/ws', undefined).text;
    expect(bare.toLowerCase()).not.toContain('sec-websocket-protocol');
  });

  it('parseResponseHead reads the status and headers (names lower-cased, values trimmed, colons inside values kept)', () => {
    const res = parseResponseHead(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Accept:   s3pPLMBiTxaQ9kYGzzhZRbK+xOo=  \r\nSec-WebSocket-Protocol: audio.twilio.com\r\n' +
      'Date: Mon, 01 Jan 2024 10:00:00 GMT\r\nnot a header line');
    expect(res.status).toBe(101);
    expect(res.headers.get('sec-websocket-accept')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(res.headers.get('sec-websocket-protocol')).toBe('audio.twilio.com');
    expect(res.headers.get('upgrade')).toBe('websocket');
    expect(res.headers.get('date')).toBe('Mon, 01 Jan 2024 10:00:00 GMT');
    expect(res.headers.size).toBe(5);
    expect(parseResponseHead('HTTP/1.1 404 Not Found\r\nContent-Length: 0').status).toBe(404);
    expect(parseResponseHead('').status).toBe(0);
  });
});
