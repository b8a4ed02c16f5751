// Media Streams messages: every kind parses, every failure is reported with its reason (never thrown), the edge's
// per-socket reader (InboundParser, on bytes) agrees with parseInbound, and what the caller-side and server-side
// serialisers write reads back through parseInbound / parseOutbound unchanged.
import { describe, expect, it } from 'vitest';
import {
  parseOutbound,
  serializeConnected,
  serializeDtmf,
  serializeInboundMark,
  serializeInboundMedia,
  serializeStart,
  serializeStop,
} from '../../src/twilio/caller-messages.js';
import { parseInbound } from '../../src/twilio/inbound-parser.js';
import { MAX_INBOUND_MESSAGE_CHARS, FRAME_BYTES } from '../../src/twilio/media-format.js';
import type { InboundMessage, ParseFailure, ParseResult, StartInfo } from '../../src/twilio/media-messages.js';
import { InboundParser } from '../../src/twilio/media-reader.js';
import {
  MediaFrameWriter,
  serializeClear,
  serializeMark,
  serializeMedia,
} from '../../src/twilio/outbound-serializers.js';

const SID = 'MZ18ad3ab5a668481ce02b83e7395059f0';
const CALL = 'CA2f0f4f3b6a5c6a1e9a0b8c7d6e5f4a3b';
const ACCOUNT = 'AC25e16e9a716a4a1786a7c83f58e30482';

function frame(seed: number): Uint8Array {
  const bytes = new Uint8Array(FRAME_BYTES);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (seed * 31 + i * 7) & 0xff;
  return bytes;
}
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

function ok(text: string): InboundMessage {
  const result = parseInbound(text);
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.detail}`);
  return result.message;
}
function failure(text: string): { reason: ParseFailure; detail: string } {
  const result = parseInbound(text);
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.message)}`);
  return result;
}

/** What the edge does with a text frame: its UTF-8 bytes through a socket's parser. */
function parseBytes(text: string, parser = new InboundParser()): ParseResult {
  return parser.parse(new Uint8Array(Buffer.from(text, 'utf8')));
}
function okBytes(text: string, parser?: InboundParser): InboundMessage {
  const result = parseBytes(text, parser);
  if (!result.ok) throw new Error(`expected ok, got ${result.reason}: ${result.detail}`);
  return result.message;
}

const START: StartInfo = {
  streamSid: SID,
  accountSid: ACCOUNT,
  callSid: CALL,
  tracks: ['inbound'],
  mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  customParameters: { From: '+15550100', To: '+15550101', StreamToken: 'abc.def' },
};

describe('parseInbound reads every message kind as Twilio documents it', () => {
  it('connected carries protocol and version, no streamSid', () => {
    expect(ok('{"event":"connected","protocol":"Call","version":"1.0.0"}')).toEqual({
      event: 'connected',
      protocol: 'Call',
      version: '1.0.0',
    });
  });

  it('start with the docs example shape (sequenceNumber as a string, mediaFormat numbers)', () => {
    const text = JSON.stringify({
      event: 'start',
      sequenceNumber: '1',
      start: {
        accountSid: ACCOUNT,
        streamSid: SID,
        callSid: CALL,
        tracks: ['inbound', 'outbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: { FirstName: 'Jane' },
      },
      streamSid: SID,
    });
    expect(ok(text)).toEqual({
      event: 'start',
      sequenceNumber: 1,
      streamSid: SID,
      start: {
        streamSid: SID,
        accountSid: ACCOUNT,
        callSid: CALL,
        tracks: ['inbound', 'outbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        customParameters: { FirstName: 'Jane' },
      },
    });
  });

  it('start without customParameters gives an empty object', () => {
    const text = JSON.stringify({
      event: 'start',
      sequenceNumber: '1',
      start: { accountSid: ACCOUNT, streamSid: SID, callSid: CALL, tracks: ['inbound'], mediaFormat: START.mediaFormat },
    });
    const msg = ok(text);
    expect(msg.event === 'start' && msg.start.customParameters).toEqual({});
  });

  it('media with string counters, pretty-printed (general path)', () => {
    const payload = b64(frame(1));
    const text = JSON.stringify(
      { event: 'media', sequenceNumber: '3', media: { track: 'inbound', chunk: '1', timestamp: '5', payload }, streamSid: SID },
      null,
      2,
    );
    expect(ok(text)).toEqual({
      event: 'media',
      sequenceNumber: 3,
      streamSid: SID,
      track: 'inbound',
      chunk: 1,
      timestampMs: 5,
      payload: frame(1),
    });
  });

  it('media in another key order gives the same result as the canonical order', () => {
    const payload = b64(frame(2));
    const canonical = serializeInboundMedia(7, SID, 6, 120, frame(2));
    const reordered = JSON.stringify({ streamSid: SID, media: { payload, timestamp: '120', chunk: '6', track: 'inbound' }, sequenceNumber: '7', event: 'media' });
    expect(ok(reordered)).toEqual(ok(canonical));
  });

  it('mark returned by Twilio', () => {
    expect(ok(`{"event":"mark","sequenceNumber":"4","streamSid":"${SID}","mark":{"name":"reply-1"}}`)).toEqual({
      event: 'mark',
      sequenceNumber: 4,
      streamSid: SID,
      name: 'reply-1',
    });
  });

  it('dtmf with track and digit', () => {
    expect(ok(`{"event":"dtmf","streamSid":"${SID}","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"#"}}`)).toEqual({
      event: 'dtmf',
      sequenceNumber: 5,
      streamSid: SID,
      track: 'inbound_track',
      digit: '#',
    });
  });

  it('stop with accountSid and callSid', () => {
    expect(ok(`{"event":"stop","sequenceNumber":"5","streamSid":"${SID}","stop":{"accountSid":"${ACCOUNT}","callSid":"${CALL}"}}`)).toEqual({
      event: 'stop',
      sequenceNumber: 5,
      streamSid: SID,
      accountSid: ACCOUNT,
      callSid: CALL,
    });
  });
});

describe('parseInbound rejects, with a reason, and never throws', () => {
  const media = (m: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ event: 'media', sequenceNumber: '2', media: { track: 'inbound', chunk: '1', timestamp: '0', payload: b64(frame(0)), ...m }, streamSid: SID, ...extra });

  it.each([
    ['{"event":"media",', 'malformed-json'],
    ['', 'malformed-json'],
    ['not json at all', 'malformed-json'],
    ['{"event":"hello"}', 'unknown-event'],
    ['{"event":"clear","streamSid":"MZ1"}', 'unknown-event'],
    ['[1,2,3]', 'invalid-field'],
    ['null', 'invalid-field'],
    ['"media"', 'invalid-field'],
    ['{"sequenceNumber":"1"}', 'invalid-field'],
    ['{"event":42}', 'invalid-field'],
    ['{"event":"connected","protocol":"Call"}', 'invalid-field'],
  ] as const)('%s -> %s', (text, reason) => {
    expect(failure(text).reason).toBe(reason);
  });

  it('media with missing or invalid fields is invalid-field', () => {
    expect(failure(media({}, { sequenceNumber: undefined })).reason).toBe('invalid-field');
    expect(failure(media({}, { sequenceNumber: '-1' })).reason).toBe('invalid-field');
    expect(failure(media({}, { sequenceNumber: '1.5' })).reason).toBe('invalid-field');
    expect(failure(media({}, { sequenceNumber: '1234567890123456' })).reason).toBe('invalid-field');
    expect(failure(media({}, { streamSid: undefined })).reason).toBe('invalid-field');
    expect(failure(media({}, { streamSid: '' })).reason).toBe('invalid-field');
    expect(failure(media({}, { streamSid: 'MZ"}' })).reason).toBe('invalid-field');
    expect(failure(media({ chunk: 'x' })).reason).toBe('invalid-field');
    expect(failure(media({ timestamp: undefined })).reason).toBe('invalid-field');
    expect(failure(media({ track: 7 })).reason).toBe('invalid-field');
    expect(failure(media({ payload: 12 })).reason).toBe('invalid-field');
    expect(failure(JSON.stringify({ event: 'media', sequenceNumber: '2', streamSid: SID })).reason).toBe('invalid-field');
  });

  it('payloads that are not base64 of exactly 160 bytes are bad-payload', () => {
    expect(failure(media({ payload: b64(new Uint8Array(159)) })).reason).toBe('bad-payload');
    expect(failure(media({ payload: b64(new Uint8Array(161)) })).reason).toBe('bad-payload');
    expect(failure(media({ payload: b64(new Uint8Array(320)) })).reason).toBe('bad-payload');
    expect(failure(media({ payload: '' })).reason).toBe('bad-payload');
    const good = b64(frame(3));
    expect(failure(media({ payload: '!' + good.slice(1) })).reason).toBe('bad-payload');
    expect(failure(media({ payload: good.slice(0, -2) + 'AA' })).reason).toBe('bad-payload'); // no padding
    // the same defects inside the canonical shape, through the edge's bytes reader too
    const canonical = serializeInboundMedia(2, SID, 1, 0, frame(3));
    for (const text of [canonical.replace(good, good.slice(0, 100) + '*' + good.slice(101)), canonical.replace(good, good.slice(4)),
      canonical.replace(good, good.slice(0, -2) + 'A=')]) {
      expect(failure(text).reason).toBe('bad-payload');
      expect(parseBytes(text)).toEqual(parseInbound(text));
    }
  });

  it('base64url payloads are refused (Twilio sends standard base64)', () => {
    let bytes = frame(4);
    // find bytes whose base64 contains + or /
    for (let s = 5; !/[+/]/.test(b64(bytes)); s++) bytes = frame(s);
    const url = b64(bytes).replace(/\+/g, '-').replace(/\//g, '_');
    expect(failure(media({ payload: url })).reason).toBe('bad-payload');
  });

  it('start with a wrong media format, bad tracks, non-string parameters or a mismatched streamSid is invalid-field', () => {
    const start = (s: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      JSON.stringify({ event: 'start', sequenceNumber: '1', start: { ...START, ...s }, streamSid: SID, ...extra });
    expect(ok(start({})).event).toBe('start');
    expect(failure(start({ mediaFormat: { encoding: 'audio/l16', sampleRate: 8000, channels: 1 } })).reason).toBe('invalid-field');
    expect(failure(start({ mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 16000, channels: 1 } })).reason).toBe('invalid-field');
    expect(failure(start({ mediaFormat: undefined })).reason).toBe('invalid-field');
    expect(failure(start({ tracks: 'inbound' })).reason).toBe('invalid-field');
    expect(failure(start({ tracks: [1] })).reason).toBe('invalid-field');
    expect(failure(start({ callSid: undefined })).reason).toBe('invalid-field');
    expect(failure(start({ accountSid: '' })).reason).toBe('invalid-field');
    expect(failure(start({ customParameters: { a: 1 } })).reason).toBe('invalid-field');
    expect(failure(start({ customParameters: ['x'] })).reason).toBe('invalid-field');
    expect(failure(start({}, { streamSid: 'MZother' })).reason).toBe('invalid-field');
    expect(failure(JSON.stringify({ event: 'start', sequenceNumber: '1', streamSid: SID })).reason).toBe('invalid-field');
  });

  it('mark, dtmf and stop with missing parts are invalid-field', () => {
    expect(failure(`{"event":"mark","sequenceNumber":"4","streamSid":"${SID}"}`).reason).toBe('invalid-field');
    expect(failure(`{"event":"mark","sequenceNumber":"4","streamSid":"${SID}","mark":{"name":5}}`).reason).toBe('invalid-field');
    expect(failure(`{"event":"dtmf","sequenceNumber":"4","streamSid":"${SID}","dtmf":{"digit":"12"}}`).reason).toBe('invalid-field');
    expect(failure(`{"event":"dtmf","sequenceNumber":"4","streamSid":"${SID}","dtmf":{"digit":"x"}}`).reason).toBe('invalid-field');
    expect(failure(`{"event":"stop","sequenceNumber":"4","streamSid":"${SID}"}`).reason).toBe('invalid-field');
    expect(failure(`{"event":"stop","sequenceNumber":"4","streamSid":"${SID}","stop":{"accountSid":"${ACCOUNT}"}}`).reason).toBe('invalid-field');
  });

  it('text over 64 KiB is oversized without being parsed', () => {
    const big = '{"event":"media","pad":"' + 'x'.repeat(MAX_INBOUND_MESSAGE_CHARS) + '"}';
    expect(failure(big).reason).toBe('oversized');
    expect(failure(' '.repeat(MAX_INBOUND_MESSAGE_CHARS + 1)).reason).toBe('oversized');
  });

  it('never throws on junk', () => {
    const junk = ['{', '}', '{"event":"media","sequenceNumber":"', '\u0000', '{"event":"start","start":null,"sequenceNumber":"1"}',
      '{"event":"media","sequenceNumber":"1","media":null,"streamSid":"x"}', '{"__proto__":{"event":"media"}}', '1e999'];
    for (const text of junk) expect(() => parseInbound(text)).not.toThrow();
    expect(() => parseInbound(undefined as unknown as string)).not.toThrow();
  });

  it('a failure detail says what was wrong', () => {
    expect(failure(media({ payload: b64(new Uint8Array(10)) })).detail).toMatch(/160 bytes/);
    expect(failure(media({ chunk: 'x' })).detail).toMatch(/media\.chunk/);
  });
});

describe('the edge\'s bytes reader (InboundParser) agrees with parseInbound', () => {
  it('canonical media with any counters and sids equals the pretty-printed parse', () => {
    for (const [seq, chunk, ts, sid] of [
      [2, 1, 0, SID],
      [999999, 123456, 987654321, 'MZ-test_1.2:3'],
      [0, 0, 0, 'a'],
      [999999999999999, 999999999999999, 999999999999999, 'M'.repeat(128)],
    ] as const) {
      const bytes = frame(seq % 251);
      const canonical = serializeInboundMedia(seq, sid, chunk, ts, bytes);
      const pretty = JSON.stringify(JSON.parse(canonical), null, 1);
      expect(okBytes(canonical)).toEqual(ok(pretty));
      expect(okBytes(canonical)).toMatchObject({ sequenceNumber: seq, chunk, timestampMs: ts, streamSid: sid, payload: bytes });
    }
  });

  it('every other message kind, and media in any other shape, reads as parseInbound reads it', () => {
    const texts = [
      serializeConnected(), serializeStart(1, START), serializeInboundMark(3, SID, 'reply "1" ✓'), serializeDtmf(4, SID, '7'),
      serializeStop(5, SID, ACCOUNT, CALL), JSON.stringify(JSON.parse(serializeInboundMedia(2, SID, 1, 0, frame(2))), null, 2),
      serializeInboundMedia(2, SID, 1, 0, frame(2)).replace('"track":"inbound"', '"track":"in\\u0062ound"'),
      serializeInboundMedia(2, SID, 1, 0, frame(2)) + ' ', '{"event":"hello"}', '', 'not json', '{"event":"media",',
      serializeInboundMedia(2, SID, 1, 0, frame(2)).replace(SID, `${SID}é`),
      serializeInboundMedia(1234567890123456, SID, 1, 0, frame(2)),
      serializeInboundMedia(2, 'M'.repeat(129), 1, 0, frame(2)),
    ];
    for (const text of texts) expect(parseBytes(text)).toEqual(parseInbound(text));
  });

  it('a canonical-looking message with trailing junk is refused', () => {
    const canonical = serializeInboundMedia(2, SID, 1, 0, frame(9));
    expect(parseBytes(canonical + 'x')).toMatchObject({ ok: false, reason: 'malformed-json' });
    expect(okBytes(canonical + ' ').event).toBe('media'); // JSON allows trailing whitespace
    expect(okBytes(canonical.slice(0, -1) + ' }').event).toBe('media');
  });

  it('reuses one media message object per socket, refilled by each parse', () => {
    const parser = new InboundParser();
    const first = okBytes(serializeInboundMedia(2, SID, 1, 0, frame(1)), parser);
    const second = okBytes(serializeInboundMedia(3, SID, 2, 20, frame(2)), parser);
    expect(second).toBe(first);
    expect(second).toMatchObject({ sequenceNumber: 3, chunk: 2, timestampMs: 20, payload: frame(2), streamSid: SID });
    const other = okBytes(serializeInboundMedia(4, 'MZother', 3, 40, frame(3)), parser);
    expect(other).toMatchObject({ streamSid: 'MZother', payload: frame(3) });
  });

  it('never throws on junk bytes, and refuses more than 64 KiB', () => {
    const parser = new InboundParser();
    for (const bytes of [new Uint8Array(0), new Uint8Array([0xff, 0xfe, 0x00]), new Uint8Array(500).fill(0x7b),
      new Uint8Array(Buffer.from(serializeInboundMedia(2, SID, 1, 0, frame(1)))).fill(0x80, 300)]) {
      expect(() => parser.parse(bytes)).not.toThrow();
      expect(parser.parse(bytes).ok).toBe(false);
    }
    expect(parseBytes('"' + 'x'.repeat(MAX_INBOUND_MESSAGE_CHARS) + '"')).toMatchObject({ ok: false, reason: 'oversized' });
    expect(parseBytes('"' + 'é'.repeat(MAX_INBOUND_MESSAGE_CHARS * 2) + '"')).toMatchObject({ ok: false, reason: 'oversized' });
  });
});

describe('the native canonical reader (native/media-reader.h) keeps to parseInbound\'s limits', () => {
  const canonical = serializeInboundMedia(2, SID, 1, 0, frame(3));
  const agrees = (text: string): void => {
    expect(parseBytes(text), text.slice(0, 120)).toEqual(parseInbound(text));
  };

  it('counters of 15 digits are read, 16 are not, in each of the three fields', () => {
    for (const field of ['sequenceNumber', 'chunk', 'timestamp']) {
      for (const digits of ['9'.repeat(15), '9'.repeat(16), '0', '', '00012', '1a', '-1', '1.5']) {
        agrees(canonical.replace(new RegExp(`"${field}":"[0-9]+"`), `"${field}":"${digits}"`));
      }
    }
  });

  it('an id takes exactly the characters and length ID_PATTERN allows, byte by byte', () => {
    for (let c = 1; c < 128; c++) {
      if (c === 34 || c === 92) continue; // a quote or a backslash makes other JSON, not another id
      const ch = String.fromCharCode(c);
      agrees(canonical.replace(SID, `MZ${ch}x`));
      agrees(canonical.replace('"track":"inbound"', `"track":"in${ch}"`));
    }
    for (const length of [1, 127, 128, 129]) agrees(canonical.replace(SID, 'S'.repeat(length)));
  });

  it('a payload with a non-base64 byte anywhere, or without its padding, goes to the general parser\'s verdict', () => {
    const payloadAt = canonical.indexOf('"payload":"') + '"payload":"'.length;
    for (let i = 0; i < 216; i++) {
      for (const bad of ['*', '=', '-', '_']) agrees(canonical.slice(0, payloadAt + i) + bad + canonical.slice(payloadAt + i + 1));
    }
    agrees(canonical.replace('=="', 'A="'));
    agrees(canonical.replace('=="', '"'));
  });

  it('every character at each place of a base64 group, and of the last group, reads as parseInbound reads it', () => {
    const payloadAt = canonical.indexOf('"payload":"') + '"payload":"'.length;
    // the four places of one group in the middle, and the two characters of the last group before its "=="
    for (const i of [100, 101, 102, 103, 212, 213]) {
      for (let c = 1; c < 128; c++) {
        if (c === 34 || c === 92) continue;
        agrees(canonical.slice(0, payloadAt + i) + String.fromCharCode(c) + canonical.slice(payloadAt + i + 1));
      }
    }
  });

  it('a stream id that differs from the previous one in one character, at any place and of any length, is the new id', () => {
    const parser = new InboundParser();
    const streamSidOf = (sid: string): string => {
      const result = parser.parse(new Uint8Array(Buffer.from(serializeInboundMedia(1, sid, 1, 0, frame(1)), 'utf8')));
      if (!result.ok || result.message.event !== 'media') throw new Error(`expected media for ${sid}`);
      return result.message.streamSid;
    };
    for (const length of [1, 2, 7, 8, 9, 15, 16, 17, 34, 40, 127, 128]) {
      const base = 'a'.repeat(length);
      for (let at = 0; at < length; at++) {
        const changed = `${base.slice(0, at)}b${base.slice(at + 1)}`;
        expect(streamSidOf(base)).toBe(base);
        expect(streamSidOf(changed)).toBe(changed);
      }
    }
  });

  it('any one byte changed anywhere reads as parseInbound reads the same text', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const bytes = Buffer.from(canonical, 'utf8');
    for (let k = 0; k < 3000; k++) {
      const mutated = Buffer.from(bytes);
      mutated[random(mutated.length)] = random(128);
      const text = mutated.toString('utf8');
      expect(new InboundParser().parse(new Uint8Array(mutated)), text).toEqual(parseInbound(text));
    }
  });

  it('reads a uWS ArrayBuffer as it reads a Uint8Array, and tracks ids that change and change back', () => {
    const parser = new InboundParser();
    const asArrayBuffer = (text: string): ArrayBuffer => new Uint8Array(Buffer.from(text, 'utf8')).buffer;
    const read = (text: string): InboundMessage => {
      const result = parser.parse(asArrayBuffer(text));
      if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
      return { ...result.message };
    };
    expect(read(serializeInboundMedia(7, SID, 5, 100, frame(4)))).toEqual(ok(serializeInboundMedia(7, SID, 5, 100, frame(4))));
    expect(read(serializeInboundMedia(8, 'MZb', 6, 120, frame(5)))).toMatchObject({ streamSid: 'MZb', sequenceNumber: 8, payload: frame(5) });
    expect(read(serializeInboundMedia(9, SID, 7, 140, frame(6)))).toMatchObject({ streamSid: SID, track: 'inbound' });
    const outbound = serializeInboundMedia(10, SID, 8, 160, frame(7)).replace('"track":"inbound"', '"track":"outbound"');
    expect(read(outbound)).toMatchObject({ streamSid: SID, track: 'outbound', timestampMs: 160 });
    expect(parser.parse(asArrayBuffer('{"event":"media"}')).ok).toBe(false);
    expect(read(serializeInboundMedia(11, SID, 9, 180, frame(8)))).toMatchObject({ track: 'inbound', chunk: 9 });
  });
});

describe('MediaFrameWriter', () => {
  it('writes exactly the text serializeMedia writes, for a frame anywhere in a ring', () => {
    for (const sid of [SID, 'MZ-test_1.2:3', 'a']) {
      const writer = new MediaFrameWriter(sid);
      const ring = new Uint8Array(160 * 4);
      for (let f = 0; f < 4; f++) ring.set(frame(f * 13), f * 160);
      for (let f = 0; f < 4; f++) {
        const text = Buffer.from(writer.write(ring, f * 160)).toString('utf8');
        expect(text).toBe(serializeMedia(sid, frame(f * 13)));
      }
    }
  });

  it('covers every byte value (the whole base64 alphabet)', () => {
    const writer = new MediaFrameWriter(SID);
    for (let start = 0; start < 256; start += FRAME_BYTES) {
      const bytes = new Uint8Array(FRAME_BYTES).map((_, i) => (start + i) & 0xff);
      expect(Buffer.from(writer.write(bytes, 0)).toString('utf8')).toBe(serializeMedia(SID, bytes));
    }
  });
});

describe('round trips', () => {
  it('caller-side serialisers read back through parseInbound', () => {
    expect(ok(serializeConnected())).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(ok(serializeStart(1, START))).toEqual({ event: 'start', sequenceNumber: 1, streamSid: SID, start: START });
    const bytes = frame(5);
    const media = ok(serializeInboundMedia(2, SID, 1, 20, bytes));
    expect(media).toEqual({ event: 'media', sequenceNumber: 2, streamSid: SID, track: 'inbound', chunk: 1, timestampMs: 20, payload: bytes });
    expect(ok(serializeInboundMark(3, SID, 'reply "1" ✓'))).toEqual({ event: 'mark', sequenceNumber: 3, streamSid: SID, name: 'reply "1" ✓' });
    expect(ok(serializeDtmf(4, SID, '7'))).toEqual({ event: 'dtmf', sequenceNumber: 4, streamSid: SID, track: 'inbound_track', digit: '7' });
    expect(ok(serializeStop(5, SID, ACCOUNT, CALL))).toEqual({ event: 'stop', sequenceNumber: 5, streamSid: SID, accountSid: ACCOUNT, callSid: CALL });
  });

  it('outbound serialisers read back through parseOutbound and match Twilio\'s documented shapes', () => {
    const bytes = frame(6);
    const media = serializeMedia(SID, bytes);
    expect(JSON.parse(media)).toEqual({ event: 'media', streamSid: SID, media: { payload: b64(bytes) } });
    expect(parseOutbound(media)).toEqual({ event: 'media', streamSid: SID, payload: bytes });
    const mark = serializeMark(SID, 'utt-"3"');
    expect(JSON.parse(mark)).toEqual({ event: 'mark', streamSid: SID, mark: { name: 'utt-"3"' } });
    expect(parseOutbound(mark)).toEqual({ event: 'mark', streamSid: SID, name: 'utt-"3"' });
    const clear = serializeClear(SID);
    expect(JSON.parse(clear)).toEqual({ event: 'clear', streamSid: SID });
    expect(parseOutbound(clear)).toEqual({ event: 'clear', streamSid: SID });
  });

  it('serializeMedia encodes a subarray view, not its whole buffer', () => {
    const whole = frame(8);
    const view = whole.subarray(10, 20);
    expect(parseOutbound(serializeMedia(SID, view))).toEqual({ event: 'media', streamSid: SID, payload: whole.slice(10, 20) });
  });

  it('parseOutbound refuses anything else', () => {
    for (const text of ['', 'x', '[]', '{"event":"media","streamSid":"S"}', '{"event":"media","streamSid":"S","media":{"payload":"@@@@"}}',
      '{"event":"mark","streamSid":"S","mark":{}}', '{"event":"clear"}', '{"event":"start","streamSid":"S"}', serializeConnected()]) {
      expect(parseOutbound(text)).toBeNull();
    }
  });
});
