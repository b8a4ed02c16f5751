// Media Streams messages: every kind parses, every failure is reported with its reason (never thrown), and what the
// caller-side and server-side serialisers write reads back through parseInbound / parseOutbound unchanged.
import { describe, expect, it } from 'vitest';
import {
  MAX_INBOUND_MESSAGE_CHARS,
  MEDIA_PAYLOAD_BYTES,
  decodePayloadInto,
  parseInbound,
  parseOutbound,
  serializeClear,
  serializeConnected,
  serializeDtmf,
  serializeInboundMark,
  serializeInboundMedia,
  serializeMark,
  serializeMedia,
  serializeStart,
  serializeStop,
  type InboundMessage,
  type ParseFailure,
  type StartInfo,
} from '../../src/twilio/media-streams.js';

const SID = 'MZ18ad3ab5a668481ce02b83e7395059f0';
const CALL = 'CA2f0f4f3b6a5c6a1e9a0b8c7d6e5f4a3b';
const ACCOUNT = 'AC25e16e9a716a4a1786a7c83f58e30482';

function frame(seed: number): Uint8Array {
  const bytes = new Uint8Array(MEDIA_PAYLOAD_BYTES);
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
      payloadBase64: payload,
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
    // the same defects inside the canonical (fast-path) shape
    const canonical = serializeInboundMedia(2, SID, 1, 0, frame(3));
    expect(failure(canonical.replace(good, good.slice(0, 100) + '*' + good.slice(101))).reason).toBe('bad-payload');
    expect(failure(canonical.replace(good, good.slice(4))).reason).toBe('bad-payload');
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

describe('the media fast path agrees with the general path', () => {
  it('canonical media with any counters and sids equals the pretty-printed parse', () => {
    for (const [seq, chunk, ts, sid] of [
      [2, 1, 0, SID],
      [999999, 123456, 987654321, 'MZ-test_1.2:3'],
      [0, 0, 0, 'a'],
    ] as const) {
      const bytes = frame(seq);
      const canonical = serializeInboundMedia(seq, sid, chunk, ts, bytes);
      const pretty = JSON.stringify(JSON.parse(canonical), null, 1);
      expect(ok(canonical)).toEqual(ok(pretty));
    }
  });

  it('a canonical-looking message with trailing junk is refused', () => {
    const canonical = serializeInboundMedia(2, SID, 1, 0, frame(9));
    expect(failure(canonical + 'x').reason).toBe('malformed-json');
    expect(ok(canonical + ' ').event).toBe('media'); // JSON allows trailing whitespace
  });

  it('a canonical-looking message with escapes falls back to JSON.parse', () => {
    const canonical = serializeInboundMedia(2, SID, 1, 0, frame(9));
    const escaped = canonical.replace('"track":"inbound"', '"track":"in\\u0062ound"');
    expect(ok(escaped)).toEqual(ok(canonical));
  });
});

describe('decodePayloadInto', () => {
  it('writes the 160 bytes at the offset and returns the count', () => {
    const bytes = frame(11);
    const target = Buffer.alloc(1000, 0xaa);
    expect(decodePayloadInto(b64(bytes), target, 320)).toBe(160);
    expect(new Uint8Array(target.subarray(320, 480))).toEqual(bytes);
    expect(target[319]).toBe(0xaa);
    expect(target[480]).toBe(0xaa);
  });

  it('writes only what fits and nothing out of range', () => {
    const target = Buffer.alloc(200);
    expect(decodePayloadInto(b64(frame(1)), target, 100)).toBe(100);
    expect(decodePayloadInto(b64(frame(1)), target, 200)).toBe(0);
    expect(decodePayloadInto(b64(frame(1)), target, -1)).toBe(0);
  });
});

describe('round trips', () => {
  it('caller-side serialisers read back through parseInbound', () => {
    expect(ok(serializeConnected())).toEqual({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    expect(ok(serializeStart(1, START))).toEqual({ event: 'start', sequenceNumber: 1, streamSid: SID, start: START });
    const bytes = frame(5);
    const media = ok(serializeInboundMedia(2, SID, 1, 20, bytes));
    expect(media).toMatchObject({ event: 'media', sequenceNumber: 2, streamSid: SID, track: 'inbound', chunk: 1, timestampMs: 20 });
    const out = Buffer.alloc(160);
    decodePayloadInto((media as { payloadBase64: string }).payloadBase64, out, 0);
    expect(new Uint8Array(out)).toEqual(bytes);
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
