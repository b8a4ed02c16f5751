// The edge's per-frame reader of what Twilio sends (InboundParser, one per socket). A media message arrives 50 times
// a second per call, so its usual shape, with no whitespace,
// {"event":"media","sequenceNumber":"N","media":{"track":"T","chunk":"N","timestamp":"N","payload":"B64"},"streamSid":"S"}
// (what Twilio sends and serializeInboundMedia writes) is read from the message's UTF-8 bytes in place. Digits become
// numbers as they are read, the payload's base64 is decoded into the parser's own 160-byte buffer in the same pass
// that checks it, and the stream's SID and track are compared with the previous message's strings (they never change
// within a stream), so nothing is allocated per frame. It checks every field as the general path does and accepts only
// bytes that need no JSON unescaping, so its result equals parseInbound's for the same text; on any deviation it gives
// up and parseInbound (inbound-parser.ts) decides.

import { BASE64_VALUE, EQUALS_BYTE } from './base64.js';
import { ID_PATTERN, MAX_DIGITS, MAX_ID_CHARS, fail, parseInbound } from './inbound-parser.js';
import { FRAME_BYTES, MAX_INBOUND_MESSAGE_CHARS, MEDIA_PAYLOAD_BASE64_CHARS } from './media-format.js';
import type { InboundMessage, ParseResult } from './media-messages.js';

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
for (let c = 0; c < 128; c++) if (ID_PATTERN.test(String.fromCharCode(c))) ID_BYTE[c] = 1;
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
  for (let group = 0; group < (FRAME_BYTES - 1) / 3; group++, i += 4) {
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
    payload: new Uint8Array(FRAME_BYTES),
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
