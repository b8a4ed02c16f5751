// Every Twilio Media Streams message, in both directions: a validated parse and the serialisers.
// No other module reads or writes this JSON; the rest of the server speaks in the typed messages below.
// Wire facts (twilio.com/docs/voice/media-streams/websocket-messages): `connected` carries no streamSid;
// `sequenceNumber`, `chunk` and `timestamp` arrive as decimal strings; inbound audio is 20 ms of 8 kHz mu-law,
// i.e. base64 of exactly 160 bytes. parseInbound runs 50 times a second per call, so the usual shape of a
// media message is read by one anchored regular expression (~0.4 us, about 3x cheaper than JSON.parse plus checks);
// anything else goes through JSON.parse and field-by-field validation, with the same result for the same message.

export interface StartInfo {
  streamSid: string;
  accountSid: string;
  callSid: string;
  tracks: string[];
  mediaFormat: { encoding: string; sampleRate: number; channels: number };
  customParameters: Record<string, string>;
}

export type InboundMessage =
  | { event: 'connected'; protocol: string; version: string }
  | { event: 'start'; sequenceNumber: number; streamSid: string; start: StartInfo }
  | {
      event: 'media';
      sequenceNumber: number;
      streamSid: string;
      track: string;
      chunk: number;
      timestampMs: number;
      payloadBase64: string;
    }
  | { event: 'mark'; sequenceNumber: number; streamSid: string; name: string }
  | { event: 'dtmf'; sequenceNumber: number; streamSid: string; track: string; digit: string }
  | { event: 'stop'; sequenceNumber: number; streamSid: string; accountSid: string; callSid: string };

export type ParseFailure = 'malformed-json' | 'unknown-event' | 'invalid-field' | 'bad-payload' | 'oversized';
export type ParseResult =
  | { ok: true; message: InboundMessage }
  | { ok: false; reason: ParseFailure; detail: string };

export type OutboundMessage =
  | { event: 'media'; streamSid: string; payload: Uint8Array }
  | { event: 'mark'; streamSid: string; name: string }
  | { event: 'clear'; streamSid: string };

/** The WebSocket subprotocol Twilio offers on the handshake. */
export const TWILIO_MEDIA_SUBPROTOCOL = 'audio.twilio.com';
/** One inbound media message carries 20 ms of 8 kHz mu-law. */
export const MEDIA_PAYLOAD_BYTES = 160;
/** base64 of 160 bytes: 53 full groups + one group holding 1 byte ("xx=="). */
export const MEDIA_PAYLOAD_BASE64_CHARS = 216;
/** A Twilio message is well under 1 KiB; anything past this is refused before parsing. */
export const MAX_INBOUND_MESSAGE_CHARS = 64 * 1024;
/** What Twilio (and our caller) put in `start.mediaFormat`. */
export const MULAW_MEDIA_FORMAT = Object.freeze({ encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 });

const KNOWN_EVENTS = new Set(['connected', 'start', 'media', 'mark', 'dtmf', 'stop']);
/** Longest decimal run read as an integer: 15 digits stays below Number.MAX_SAFE_INTEGER. */
const MAX_DIGITS = 15;
/** Ids (streamSid, callSid, accountSid) are echoed into logs and outbound JSON: keep them short and plain. */
const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
const DTMF_DIGIT_PATTERN = /^[0-9*#A-Da-d]$/;

// base64 alphabet lookup: 1 for A-Z a-z 0-9 + /
const BASE64_CHAR = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9+/]/.test(ch)) BASE64_CHAR[c] = 1;
}

/** True when `s` is padded standard base64 of exactly 160 bytes. Per-frame path: no allocation. */
function isMediaPayload(s: string): boolean {
  if (s.length !== MEDIA_PAYLOAD_BASE64_CHARS) return false;
  const dataChars = MEDIA_PAYLOAD_BASE64_CHARS - 2;
  for (let i = 0; i < dataChars; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || BASE64_CHAR[c] === 0) return false;
  }
  return s.charCodeAt(dataChars) === 61 /* = */ && s.charCodeAt(dataChars + 1) === 61;
}

/** Strict padded standard base64 of any length (outbound payloads, read by the caller side). */
function isBase64(s: string): boolean {
  if (s.length === 0 || s.length % 4 !== 0) return false;
  let end = s.length;
  if (s.charCodeAt(end - 1) === 61) end--;
  if (s.charCodeAt(end - 1) === 61) end--;
  for (let i = 0; i < end; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || BASE64_CHAR[c] === 0) return false;
  }
  return true;
}

const fail = (reason: ParseFailure, detail: string): ParseResult => ({ ok: false, reason, detail });

// ---------------------------------------------------------------------------------------------------------------
// Fast path for the shape Twilio sends (and serializeInboundMedia writes), with no whitespace:
// {"event":"media","sequenceNumber":"N","media":{"track":"T","chunk":"N","timestamp":"N","payload":"B64"},"streamSid":"S"}
// It accepts only text whose every field is made of characters that need no JSON unescaping, so what it returns is
// exactly what the general path would return; on any deviation it returns undefined and the general path decides.

// One anchored regular expression reads it: V8 compiles it to native code, and on a 400-byte message it costs about
// two thirds of a bare JSON.parse while also checking every field (the payload's 214 base64 chars + "==" included).
const MEDIA_FAST =
  /^\{"event":"media","sequenceNumber":"(\d{1,15})","media":\{"track":"([\w.:-]{1,128})","chunk":"(\d{1,15})","timestamp":"(\d{1,15})","payload":"([A-Za-z0-9+/]{214}==)"\},"streamSid":"([\w.:-]{1,128})"\}$/;

/** Per-frame path: reads a canonical media message. Never throws; undefined = not canonical (or not valid). */
function parseMediaFast(text: string): ParseResult | undefined {
  const m = MEDIA_FAST.exec(text);
  if (m === null) return undefined;
  return {
    ok: true,
    message: {
      event: 'media',
      sequenceNumber: Number(m[1]),
      streamSid: m[6] as string,
      track: m[2] as string,
      chunk: Number(m[3]),
      timestampMs: Number(m[4]),
      payloadBase64: m[5] as string,
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// General path: JSON.parse, then check every field the message kind needs.

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Twilio sends counters as decimal strings; a plain non-negative integer is accepted too. */
function readCount(v: unknown): number | undefined {
  if (typeof v === 'string') {
    if (v.length === 0 || v.length > MAX_DIGITS) return undefined;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c < 48 || c > 57) return undefined;
    }
    return Number(v);
  }
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  return undefined;
}

const readId = (v: unknown): string | undefined => (typeof v === 'string' && ID_PATTERN.test(v) ? v : undefined);

class FieldError {
  constructor(readonly reason: ParseFailure, readonly detail: string) {}
}
function need<T>(value: T | undefined, detail: string, reason: ParseFailure = 'invalid-field'): T {
  if (value === undefined) throw new FieldError(reason, detail);
  return value;
}

function parseGeneral(text: string): ParseResult {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail('malformed-json', (err as Error).message);
  }
  if (!isObj(raw)) return fail('invalid-field', 'message must be a JSON object');
  const event = raw['event'];
  if (typeof event !== 'string') return fail('invalid-field', 'event must be a string');
  if (!KNOWN_EVENTS.has(event)) return fail('unknown-event', `unknown event ${JSON.stringify(event.slice(0, 40))}`);
  try {
    return { ok: true, message: readMessage(event, raw) };
  } catch (err) {
    if (err instanceof FieldError) return fail(err.reason, err.detail);
    return fail('invalid-field', String(err)); // not reached: readMessage only throws FieldError
  }
}

function readMessage(event: string, raw: Obj): InboundMessage {
  if (event === 'connected') {
    const protocol = raw['protocol'];
    const version = raw['version'];
    return {
      event,
      protocol: need(typeof protocol === 'string' ? protocol : undefined, 'connected.protocol must be a string'),
      version: need(typeof version === 'string' ? version : undefined, 'connected.version must be a string'),
    };
  }
  const sequenceNumber = need(readCount(raw['sequenceNumber']), 'sequenceNumber must be a decimal integer string');
  if (event === 'start') return readStart(raw, sequenceNumber);
  const streamSid = need(readId(raw['streamSid']), 'streamSid must be a non-empty id string');
  switch (event) {
    case 'media': {
      const media = need(isObj(raw['media']) ? (raw['media'] as Obj) : undefined, 'media must be an object');
      const track = need(readId(media['track']), 'media.track must be a non-empty string');
      const chunk = need(readCount(media['chunk']), 'media.chunk must be a decimal integer string');
      const timestampMs = need(readCount(media['timestamp']), 'media.timestamp must be a decimal integer string');
      const payload = media['payload'];
      if (typeof payload !== 'string') throw new FieldError('invalid-field', 'media.payload must be a string');
      if (!isMediaPayload(payload)) {
        throw new FieldError(
          'bad-payload',
          `media.payload must be padded base64 of ${MEDIA_PAYLOAD_BYTES} bytes (${MEDIA_PAYLOAD_BASE64_CHARS} chars, got ${payload.length})`,
        );
      }
      return { event, sequenceNumber, streamSid, track, chunk, timestampMs, payloadBase64: payload };
    }
    case 'mark': {
      const mark = need(isObj(raw['mark']) ? (raw['mark'] as Obj) : undefined, 'mark must be an object');
      const name = mark['name'];
      return { event, sequenceNumber, streamSid, name: need(typeof name === 'string' ? name : undefined, 'mark.name must be a string') };
    }
    case 'dtmf': {
      const dtmf = need(isObj(raw['dtmf']) ? (raw['dtmf'] as Obj) : undefined, 'dtmf must be an object');
      const digit = dtmf['digit'];
      const track = dtmf['track'];
      return {
        event,
        sequenceNumber,
        streamSid,
        track: track === undefined ? 'inbound_track' : need(readId(track), 'dtmf.track must be a non-empty string'),
        digit: need(
          typeof digit === 'string' && DTMF_DIGIT_PATTERN.test(digit) ? digit : undefined,
          'dtmf.digit must be one of 0-9 * # A-D',
        ),
      };
    }
    default: {
      // 'stop'
      const stop = need(isObj(raw['stop']) ? (raw['stop'] as Obj) : undefined, 'stop must be an object');
      return {
        event: 'stop',
        sequenceNumber,
        streamSid,
        accountSid: need(readId(stop['accountSid']), 'stop.accountSid must be a non-empty id string'),
        callSid: need(readId(stop['callSid']), 'stop.callSid must be a non-empty id string'),
      };
    }
  }
}

function readStart(raw: Obj, sequenceNumber: number): InboundMessage {
  const start = need(isObj(raw['start']) ? (raw['start'] as Obj) : undefined, 'start must be an object');
  const streamSid = need(readId(start['streamSid']), 'start.streamSid must be a non-empty id string');
  const outerSid = raw['streamSid'];
  if (outerSid !== undefined && outerSid !== streamSid) {
    throw new FieldError('invalid-field', 'streamSid differs from start.streamSid');
  }
  const accountSid = need(readId(start['accountSid']), 'start.accountSid must be a non-empty id string');
  const callSid = need(readId(start['callSid']), 'start.callSid must be a non-empty id string');
  const tracksRaw = start['tracks'];
  const tracks = need(
    Array.isArray(tracksRaw) && tracksRaw.every((t) => typeof t === 'string') ? (tracksRaw as string[]) : undefined,
    'start.tracks must be an array of strings',
  );
  const format = need(isObj(start['mediaFormat']) ? (start['mediaFormat'] as Obj) : undefined, 'start.mediaFormat must be an object');
  const encoding = format['encoding'];
  const sampleRate = readCount(format['sampleRate']);
  const channels = readCount(format['channels']);
  if (encoding !== MULAW_MEDIA_FORMAT.encoding || sampleRate !== MULAW_MEDIA_FORMAT.sampleRate || channels !== MULAW_MEDIA_FORMAT.channels) {
    throw new FieldError(
      'invalid-field',
      `start.mediaFormat must be audio/x-mulaw, 8000 Hz, 1 channel (got ${JSON.stringify(format).slice(0, 120)})`,
    );
  }
  const paramsRaw = start['customParameters'];
  const customParameters: Record<string, string> = {};
  if (paramsRaw !== undefined) {
    if (!isObj(paramsRaw)) throw new FieldError('invalid-field', 'start.customParameters must be an object');
    for (const key of Object.keys(paramsRaw)) {
      if (key === '__proto__') continue; // an own "__proto__" from JSON.parse must not become a prototype write
      const value = paramsRaw[key];
      if (typeof value !== 'string') throw new FieldError('invalid-field', `start.customParameters.${key.slice(0, 40)} must be a string`);
      customParameters[key] = value;
    }
  }
  return {
    event: 'start',
    sequenceNumber,
    streamSid,
    start: { streamSid, accountSid, callSid, tracks, mediaFormat: { encoding, sampleRate, channels }, customParameters },
  };
}

/**
 * Parses one text frame from Twilio. Never throws. Rejects malformed JSON, unknown events, missing or invalid
 * fields, media payloads that are not base64 of 160 bytes, and text over 64 KiB.
 * Per-frame path for media: the canonical shape is read in place without JSON.parse.
 */
export function parseInbound(text: string): ParseResult {
  if (typeof text !== 'string') return fail('malformed-json', 'message must be text');
  if (text.length > MAX_INBOUND_MESSAGE_CHARS) {
    return fail('oversized', `message is ${text.length} chars (limit ${MAX_INBOUND_MESSAGE_CHARS})`);
  }
  return parseMediaFast(text) ?? parseGeneral(text);
}

/**
 * Decodes a media payload into `target` at `offset` without allocating; returns the bytes written
 * (160 for a payload parseInbound accepted, fewer when `target` has less room). Per-frame path.
 */
export function decodePayloadInto(payloadBase64: string, target: Buffer, offset: number): number {
  if (offset < 0 || offset >= target.length) return 0;
  return target.write(payloadBase64, offset, 'base64');
}

// ---------------------------------------------------------------------------------------------------------------
// Outbound (server -> Twilio). Per-frame path for serializeMedia: one base64 string and one template string, nothing
// else. The payload is copied into one preallocated Buffer and encoded from there (no Buffer view per frame), and a
// stream's JSON-quoted SID is computed once and kept (a call sends 50 frames a second with the same SID).

/** Scratch for base64: a frame (160 bytes) and any payload up to this size is encoded without allocating a view. */
const BASE64_SCRATCH_BYTES = 4096;
const base64Scratch = Buffer.allocUnsafeSlow(BASE64_SCRATCH_BYTES);

function toBase64(bytes: Uint8Array): string {
  const length = bytes.byteLength;
  if (length > BASE64_SCRATCH_BYTES) return Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('base64');
  base64Scratch.set(bytes);
  return base64Scratch.toString('base64', 0, length);
}

/** Most streams one thread holds quoted SIDs for; past it the cache starts over (it only saves work). */
const QUOTED_SID_CACHE_SIZE = 8192;
const quotedSids = new Map<string, string>();

function quotedSid(streamSid: string): string {
  let quoted = quotedSids.get(streamSid);
  if (quoted === undefined) {
    if (quotedSids.size >= QUOTED_SID_CACHE_SIZE) quotedSids.clear();
    quoted = JSON.stringify(streamSid);
    quotedSids.set(streamSid, quoted);
  }
  return quoted;
}

/** Per-frame path: `{"event":"media","streamSid":S,"media":{"payload":B64}}`. */
export function serializeMedia(streamSid: string, mulaw: Uint8Array): string {
  return `{"event":"media","streamSid":${quotedSid(streamSid)},"media":{"payload":"${toBase64(mulaw)}"}}`;
}

export function serializeMark(streamSid: string, name: string): string {
  return `{"event":"mark","streamSid":${JSON.stringify(streamSid)},"mark":{"name":${JSON.stringify(name)}}}`;
}

export function serializeClear(streamSid: string): string {
  return `{"event":"clear","streamSid":${JSON.stringify(streamSid)}}`;
}

/** Reads what the server sent (the caller's side: CLI, tests, bench). null when it is not a valid outbound message. */
export function parseOutbound(text: string): OutboundMessage | null {
  if (typeof text !== 'string' || text.length > MAX_INBOUND_MESSAGE_CHARS) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isObj(raw)) return null;
  const streamSid = raw['streamSid'];
  if (typeof streamSid !== 'string' || streamSid.length === 0) return null;
  switch (raw['event']) {
    case 'media': {
      const media = raw['media'];
      if (!isObj(media)) return null;
      const payload = media['payload'];
      if (typeof payload !== 'string' || !isBase64(payload)) return null;
      const bytes = Buffer.from(payload, 'base64');
      return { event: 'media', streamSid, payload: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength) };
    }
    case 'mark': {
      const mark = raw['mark'];
      if (!isObj(mark) || typeof mark['name'] !== 'string') return null;
      return { event: 'mark', streamSid, name: mark['name'] };
    }
    case 'clear':
      return { event: 'clear', streamSid };
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Inbound serialisers: what Twilio sends, for the caller CLI, tests and the load benchmark. Field order follows
// Twilio's, so the media fast path above is the one exercised.

export function serializeConnected(): string {
  return '{"event":"connected","protocol":"Call","version":"1.0.0"}';
}

export function serializeStart(seq: number, start: StartInfo): string {
  return JSON.stringify({
    event: 'start',
    sequenceNumber: String(seq),
    start: {
      accountSid: start.accountSid,
      streamSid: start.streamSid,
      callSid: start.callSid,
      tracks: start.tracks,
      mediaFormat: start.mediaFormat,
      customParameters: start.customParameters,
    },
    streamSid: start.streamSid,
  });
}

export function serializeInboundMedia(seq: number, streamSid: string, chunk: number, timestampMs: number, mulaw: Uint8Array): string {
  return (
    `{"event":"media","sequenceNumber":"${seq}","media":{"track":"inbound","chunk":"${chunk}",` +
    `"timestamp":"${timestampMs}","payload":"${toBase64(mulaw)}"},"streamSid":${JSON.stringify(streamSid)}}`
  );
}

export function serializeInboundMark(seq: number, streamSid: string, name: string): string {
  return `{"event":"mark","sequenceNumber":"${seq}","streamSid":${JSON.stringify(streamSid)},"mark":{"name":${JSON.stringify(name)}}}`;
}

export function serializeDtmf(seq: number, streamSid: string, digit: string): string {
  return `{"event":"dtmf","streamSid":${JSON.stringify(streamSid)},"sequenceNumber":"${seq}","dtmf":{"track":"inbound_track","digit":${JSON.stringify(digit)}}}`;
}

export function serializeStop(seq: number, streamSid: string, accountSid: string, callSid: string): string {
  return JSON.stringify({ event: 'stop', sequenceNumber: String(seq), streamSid, stop: { accountSid, callSid } });
}
