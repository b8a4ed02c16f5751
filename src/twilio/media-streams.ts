// Every Twilio Media Streams message, in both directions: a validated parse and the serialisers.
// No other module reads or writes this JSON; the rest of the server speaks in the typed messages below.
// Wire facts (twilio.com/docs/voice/media-streams/websocket-messages): `connected` carries no streamSid;
// `sequenceNumber`, `chunk` and `timestamp` arrive as decimal strings; inbound audio is 20 ms of 8 kHz mu-law,
// i.e. base64 of exactly 160 bytes. A media message arrives 50 times a second per call, so the edge reads it with an
// InboundParser (one per socket): the usual shape of a media message is read in place from the WebSocket message's
// bytes, with no string, regular expression or object made per frame; anything else goes through JSON.parse and
// field-by-field validation (parseInbound), with the same result for the same message. Outbound media frames are
// written the same way, into one buffer per stream (MediaFrameWriter).

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
      /** The 160 mu-law bytes, decoded. From an InboundParser: its own buffer, valid until its next parse(). */
      payload: Uint8Array;
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
const MAX_ID_CHARS = 128;
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
      return { event, sequenceNumber, streamSid, track, chunk, timestampMs, payload: new Uint8Array(Buffer.from(payload, 'base64')) };
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
 * fields, media payloads that are not base64 of 160 bytes, and text over 64 KiB. Every message it returns is a new
 * object (the edge's per-frame reader is InboundParser).
 */
export function parseInbound(text: string): ParseResult {
  if (typeof text !== 'string') return fail('malformed-json', 'message must be text');
  if (text.length > MAX_INBOUND_MESSAGE_CHARS) {
    return fail('oversized', `message is ${text.length} chars (limit ${MAX_INBOUND_MESSAGE_CHARS})`);
  }
  return parseGeneral(text);
}

// ---------------------------------------------------------------------------------------------------------------
// The per-frame reader: the shape Twilio sends (and serializeInboundMedia writes), with no whitespace,
// {"event":"media","sequenceNumber":"N","media":{"track":"T","chunk":"N","timestamp":"N","payload":"B64"},"streamSid":"S"}
// read from the message's UTF-8 bytes in place. Digits become numbers as they are read, the payload's base64 is
// decoded into the parser's own 160-byte buffer in the same pass that checks it, and the stream's SID and track are
// compared with the previous message's strings (they never change within a stream), so nothing is allocated per
// frame. It checks every field as the general path does and accepts only bytes that need no JSON unescaping, so its
// result equals parseInbound's for the same text; on any deviation it gives up and parseInbound decides.

const asciiBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const MEDIA_HEAD = asciiBytes('{"event":"media","sequenceNumber":"');
const AFTER_SEQUENCE = asciiBytes('","media":{"track":"');
const AFTER_TRACK = asciiBytes('","chunk":"');
const AFTER_CHUNK = asciiBytes('","timestamp":"');
const AFTER_TIMESTAMP = asciiBytes('","payload":"');
const AFTER_PAYLOAD = asciiBytes('"},"streamSid":"');
const MEDIA_TAIL = asciiBytes('"}');
/** Shortest and longest canonical media message (1-digit counters and 1-char ids; 15 digits and 128 chars). */
const MEDIA_MIN_BYTES = MEDIA_HEAD.length + AFTER_SEQUENCE.length + AFTER_TRACK.length + AFTER_CHUNK.length +
  AFTER_TIMESTAMP.length + MEDIA_PAYLOAD_BASE64_CHARS + AFTER_PAYLOAD.length + MEDIA_TAIL.length + 3 + 2;
const MEDIA_MAX_BYTES = MEDIA_MIN_BYTES + 3 * (MAX_DIGITS - 1) + 2 * (MAX_ID_CHARS - 1);
/** A UTF-16 code unit takes at most 3 bytes of UTF-8: more bytes than this are over the limit in any case. */
const MAX_INBOUND_MESSAGE_BYTES = 3 * MAX_INBOUND_MESSAGE_CHARS;

/** 1 for the characters of an id (ID_PATTERN), by byte. */
const ID_BYTE = new Uint8Array(256);
/** The 6-bit value of a base64 character, by byte; 255 for anything else. */
const BASE64_VALUE = new Uint8Array(256).fill(255);
/** The standard base64 alphabet, as bytes. */
const BASE64_ALPHABET = asciiBytes('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
for (let c = 0; c < 128; c++) if (ID_PATTERN.test(String.fromCharCode(c))) ID_BYTE[c] = 1;
BASE64_ALPHABET.forEach((byte, value) => {
  BASE64_VALUE[byte] = value;
});
const EQUALS_BYTE = 61;
const QUOTE_BYTE = 34;

/** Index after `literal` when the bytes at `at` spell it, else -1. Per-frame path. */
function skipLiteral(bytes: Uint8Array, at: number, literal: Uint8Array): number {
  if (at < 0 || at + literal.length > bytes.length) return -1;
  for (let i = 0; i < literal.length; i++) if (bytes[at + i] !== literal[i]) return -1;
  return at + literal.length;
}

/** Index of the quote that ends a field of 1..maxChars digits (or id characters) starting at `at`, else -1. */
function skipField(bytes: Uint8Array, at: number, isId: boolean, maxChars: number): number {
  if (at < 0) return -1;
  const limit = Math.min(bytes.length, at + maxChars + 1);
  for (let i = at; i < limit; i++) {
    const c = bytes[i]!;
    if (c === QUOTE_BYTE) return i > at ? i : -1;
    if (isId ? ID_BYTE[c] === 0 : c < 48 || c > 57) return -1;
  }
  return -1;
}

/** The value of the decimal digits bytes[from..to) (at most 15: exact as a double). Per-frame path. */
function digitsValue(bytes: Uint8Array, from: number, to: number): number {
  let value = 0;
  for (let i = from; i < to; i++) value = value * 10 + (bytes[i]! - 48);
  return value;
}

/** Whether `s` has exactly the (ASCII) characters bytes[from..to). Per-frame path. */
function isSameAscii(s: string, bytes: Uint8Array, from: number, to: number): boolean {
  if (s.length !== to - from) return false;
  for (let i = from; i < to; i++) if (s.charCodeAt(i - from) !== bytes[i]) return false;
  return true;
}

function asciiString(bytes: Uint8Array, from: number, to: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
}

/**
 * Decodes the media payload at `at` (214 base64 characters and "==") into `out` (160 bytes) while checking it.
 * Returns the index after it, or -1 when it is not padded standard base64 of 160 bytes. Per-frame path.
 */
function decodeMediaPayload(bytes: Uint8Array, at: number, out: Uint8Array): number {
  if (at < 0 || at + MEDIA_PAYLOAD_BASE64_CHARS > bytes.length) return -1;
  let i = at;
  let o = 0;
  for (let group = 0; group < (MEDIA_PAYLOAD_BYTES - 1) / 3; group++, i += 4) {
    const a = BASE64_VALUE[bytes[i]!]!;
    const b = BASE64_VALUE[bytes[i + 1]!]!;
    const c = BASE64_VALUE[bytes[i + 2]!]!;
    const d = BASE64_VALUE[bytes[i + 3]!]!;
    if ((a | b | c | d) > 63) return -1;
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  // The last group holds one byte: two characters and "==" (the second character's low bits are ignored, as in
  // Buffer's decoder).
  const a = BASE64_VALUE[bytes[i]!]!;
  const b = BASE64_VALUE[bytes[i + 1]!]!;
  if ((a | b) > 63 || bytes[i + 2] !== EQUALS_BYTE || bytes[i + 3] !== EQUALS_BYTE) return -1;
  out[o] = (a << 2) | (b >> 4);
  return i + 4;
}

/**
 * Reads one socket's messages from their UTF-8 bytes (the edge keeps one per socket). A media message in the
 * canonical shape is read in place into an object the parser owns and reuses: it and its payload are valid until the
 * next parse(), so a consumer copies what it keeps. Any other message is parsed by parseInbound into new objects.
 */
export class InboundParser {
  private readonly media: Extract<InboundMessage, { event: 'media' }> = {
    event: 'media', sequenceNumber: 0, streamSid: '', track: '', chunk: 0, timestampMs: 0,
    payload: new Uint8Array(MEDIA_PAYLOAD_BYTES),
  };
  private readonly mediaResult: ParseResult = { ok: true, message: this.media };

  /** Per-frame path: one text frame's bytes (read only during the call). Never throws. */
  parse(bytes: Uint8Array): ParseResult {
    if (this.readCanonicalMedia(bytes)) return this.mediaResult;
    if (bytes.length > MAX_INBOUND_MESSAGE_BYTES) {
      return fail('oversized', `message is over ${MAX_INBOUND_MESSAGE_BYTES} bytes (limit ${MAX_INBOUND_MESSAGE_CHARS} chars)`);
    }
    return parseInbound(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  }

  /** Per-frame path: fills `media` from a canonical media message; false (media left half-written) otherwise. */
  private readCanonicalMedia(bytes: Uint8Array): boolean {
    if (bytes.length < MEDIA_MIN_BYTES || bytes.length > MEDIA_MAX_BYTES) return false;
    const media = this.media;
    const sequenceAt = skipLiteral(bytes, 0, MEDIA_HEAD);
    const sequenceEnd = skipField(bytes, sequenceAt, false, MAX_DIGITS);
    const trackAt = skipLiteral(bytes, sequenceEnd, AFTER_SEQUENCE);
    const trackEnd = skipField(bytes, trackAt, true, MAX_ID_CHARS);
    const chunkAt = skipLiteral(bytes, trackEnd, AFTER_TRACK);
    const chunkEnd = skipField(bytes, chunkAt, false, MAX_DIGITS);
    const timestampAt = skipLiteral(bytes, chunkEnd, AFTER_CHUNK);
    const timestampEnd = skipField(bytes, timestampAt, false, MAX_DIGITS);
    const payloadAt = skipLiteral(bytes, timestampEnd, AFTER_TIMESTAMP);
    const payloadEnd = decodeMediaPayload(bytes, payloadAt, media.payload);
    const sidAt = skipLiteral(bytes, payloadEnd, AFTER_PAYLOAD);
    const sidEnd = skipField(bytes, sidAt, true, MAX_ID_CHARS);
    if (skipLiteral(bytes, sidEnd, MEDIA_TAIL) !== bytes.length) return false;
    media.sequenceNumber = digitsValue(bytes, sequenceAt, sequenceEnd);
    media.chunk = digitsValue(bytes, chunkAt, chunkEnd);
    media.timestampMs = digitsValue(bytes, timestampAt, timestampEnd);
    if (!isSameAscii(media.track, bytes, trackAt, trackEnd)) media.track = asciiString(bytes, trackAt, trackEnd);
    if (!isSameAscii(media.streamSid, bytes, sidAt, sidEnd)) media.streamSid = asciiString(bytes, sidAt, sidEnd);
    return true;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Outbound (server -> Twilio). The call engine sends its media frames through a MediaFrameWriter (bytes, no
// allocation); serializeMedia writes the same text for any payload, with a stream's JSON-quoted SID computed once.

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

/** `{"event":"media","streamSid":S,"media":{"payload":B64}}` for a payload of any length (see MediaFrameWriter). */
export function serializeMedia(streamSid: string, mulaw: Uint8Array): string {
  return `{"event":"media","streamSid":${quotedSid(streamSid)},"media":{"payload":"${toBase64(mulaw)}"}}`;
}

/**
 * One stream's outbound media frames as UTF-8 bytes, the same text serializeMedia writes for a 160-byte payload. The
 * JSON around the payload is written once into a buffer the writer owns; each frame only base64-encodes its payload
 * into the middle of it, so the per-frame path makes no string and no object. The transport copies the bytes out.
 */
export class MediaFrameWriter {
  private readonly frame: Uint8Array;
  private readonly payloadAt: number;

  constructor(streamSid: string) {
    const head = Buffer.from(`{"event":"media","streamSid":${JSON.stringify(streamSid)},"media":{"payload":"`, 'utf8');
    const tail = Buffer.from('=="}}', 'latin1');
    this.payloadAt = head.length;
    this.frame = new Uint8Array(head.length + MEDIA_PAYLOAD_BASE64_CHARS + tail.length - 2);
    this.frame.set(head, 0);
    this.frame.set(tail, head.length + MEDIA_PAYLOAD_BASE64_CHARS - 2);
  }

  /**
   * Per-frame path: the message for the 160 bytes mulaw[offset .. offset+160). Returns the writer's own buffer,
   * valid until the next write(). No allocation.
   */
  write(mulaw: Uint8Array, offset: number): Uint8Array {
    const out = this.frame;
    const alphabet = BASE64_ALPHABET;
    let o = this.payloadAt;
    let i = offset;
    for (const end = offset + MEDIA_PAYLOAD_BYTES - 1; i < end; i += 3) {
      const n = (mulaw[i]! << 16) | (mulaw[i + 1]! << 8) | mulaw[i + 2]!;
      out[o++] = alphabet[n >> 18]!;
      out[o++] = alphabet[(n >> 12) & 63]!;
      out[o++] = alphabet[(n >> 6) & 63]!;
      out[o++] = alphabet[n & 63]!;
    }
    // 160 = 53 x 3 + 1: the last byte makes two characters, and "==" is already in place.
    const last = mulaw[i]!;
    out[o++] = alphabet[last >> 2]!;
    out[o] = alphabet[(last & 3) << 4]!;
    return out;
  }
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
