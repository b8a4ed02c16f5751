// The edge's per-frame reader of what Twilio sends (InboundParser, one per socket). A media message arrives 50 times
// a second per call, so its usual shape, with no whitespace,
// {"event":"media","sequenceNumber":"N","media":{"track":"T","chunk":"N","timestamp":"N","payload":"B64"},"streamSid":"S"}
// (what Twilio sends and serializeInboundMedia writes) is read from the message's UTF-8 bytes in place by the native
// addon (native/media-reader.h): its digits become numbers, its payload's base64 is decoded into the reader's own
// 160-byte buffer in the same pass that checks it, and its ids are compared with the previous message's bytes (they
// never change within a stream), so the strings are made only when they change and nothing is allocated per frame.
// In JS the same read cost about 700 ns a message against 250 ns here, 500 sockets round robin (bench/RESULTS.md,
// issue 18, session 8). It checks every field as
// the general path does and accepts only bytes that need no JSON unescaping, so its result equals parseInbound's for
// the same text; on any deviation it gives up and parseInbound (inbound-parser.ts) decides.

import { addon } from '../audio/native-addon.js';
import { fail, parseInbound } from './inbound-parser.js';
import { FRAME_BYTES, MAX_INBOUND_MESSAGE_CHARS } from './media-format.js';
import type { InboundMessage, ParseResult } from './media-messages.js';

/** A UTF-16 code unit takes at most 3 bytes of UTF-8: more bytes than this are over the limit in any case. */
const MAX_INBOUND_MESSAGE_BYTES = 3 * MAX_INBOUND_MESSAGE_CHARS;
/** addon.readCanonicalMedia()'s answers. */
const NOT_CANONICAL = 0;
const NEW_IDS = 2;

function asciiString(bytes: Uint8Array, from: number, to: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).toString('latin1');
}

/**
 * Reads one socket's messages from their UTF-8 bytes (the edge keeps one per socket). A media message in the
 * canonical shape is read in place into an object the parser owns and reuses: it and its payload are valid until the
 * next parse(), so a consumer copies what it keeps. Any other message is parsed by parseInbound into new objects.
 */
export class InboundParser {
  /** The native reader's state for this socket: its fields, the decoded payload, the previous ids. */
  private readonly state = new Uint8Array(addon.mediaReaderStateBytes);
  /** Its leading float64 fields (the payload follows them). */
  private readonly fields = new Float64Array(this.state.buffer, 0, addon.mediaReaderPayloadOffset / Float64Array.BYTES_PER_ELEMENT);
  private readonly media: Extract<InboundMessage, { event: 'media' }> = {
    event: 'media', sequenceNumber: 0, streamSid: '', track: '', chunk: 0, timestampMs: 0,
    payload: this.state.subarray(addon.mediaReaderPayloadOffset, addon.mediaReaderPayloadOffset + FRAME_BYTES),
  };
  private readonly mediaResult: ParseResult = { ok: true, message: this.media };

  /** Per-frame path: one text frame's bytes (read only during the call: uWS's own memory). Never throws. */
  parse(message: ArrayBuffer | Uint8Array): ParseResult {
    const verdict = addon.readCanonicalMedia(message, this.state);
    if (verdict !== NOT_CANONICAL) {
      const { media, fields } = this;
      media.sequenceNumber = fields[0]!;
      media.chunk = fields[1]!;
      media.timestampMs = fields[2]!;
      if (verdict === NEW_IDS) {
        const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
        media.track = asciiString(bytes, fields[3]!, fields[4]!);
        media.streamSid = asciiString(bytes, fields[5]!, fields[6]!);
      }
      return this.mediaResult;
    }
    if (message.byteLength > MAX_INBOUND_MESSAGE_BYTES) {
      return fail('oversized', `message is over ${MAX_INBOUND_MESSAGE_BYTES} bytes (limit ${MAX_INBOUND_MESSAGE_CHARS} chars)`);
    }
    const bytes = message instanceof Uint8Array ? message : new Uint8Array(message);
    return parseInbound(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('utf8'));
  }
}
