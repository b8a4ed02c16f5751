// The general, validating parser of what Twilio sends: JSON.parse, then every field the message kind needs is
// checked, so the rest of the server only ever sees a well-formed InboundMessage. Never throws. The edge's per-frame
// reader (media-reader.ts) reads the usual media message in place and hands everything else to parseInbound here.

import { isBase64Char, EQUALS_BYTE } from './base64.js';
import { FRAME_BYTES, MAX_INBOUND_MESSAGE_CHARS, MEDIA_PAYLOAD_BASE64_CHARS, MULAW_MEDIA_FORMAT } from './media-format.js';
import type { InboundMessage, ParseFailure, ParseResult } from './media-messages.js';

const KNOWN_EVENTS = new Set(['connected', 'start', 'media', 'mark', 'dtmf', 'stop']);
/** Longest decimal run read as an integer: 15 digits stays below Number.MAX_SAFE_INTEGER. */
export const MAX_DIGITS = 15;
/** Ids (streamSid, callSid, accountSid) are echoed into logs and outbound JSON: keep them short and plain. */
export const MAX_ID_CHARS = 128;
// native/media-reader.h keeps these three limits for the edge's canonical reader (a test pins that it agrees).
export const ID_PATTERN = /^[A-Za-z0-9_.:-]{1,128}$/;
const DTMF_DIGIT_PATTERN = /^[0-9*#A-Da-d]$/;

/** True when `s` is padded standard base64 of exactly 160 bytes. Per-frame path: no allocation. */
function isMediaPayload(s: string): boolean {
  if (s.length !== MEDIA_PAYLOAD_BASE64_CHARS) return false;
  const dataChars = MEDIA_PAYLOAD_BASE64_CHARS - 2;
  for (let i = 0; i < dataChars; i++) if (!isBase64Char(s.charCodeAt(i))) return false;
  return s.charCodeAt(dataChars) === EQUALS_BYTE && s.charCodeAt(dataChars + 1) === EQUALS_BYTE;
}

export const fail = (reason: ParseFailure, detail: string): ParseResult => ({ ok: false, reason, detail });

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
          `media.payload must be padded base64 of ${FRAME_BYTES} bytes (${MEDIA_PAYLOAD_BASE64_CHARS} chars, got ${payload.length})`,
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
