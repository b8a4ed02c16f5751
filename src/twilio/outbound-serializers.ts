// The server's side of the wire: what we send Twilio (`media`, `mark`, `clear`). The call engine sends its media
// frames through a MediaFrameWriter (bytes into one buffer per stream, no allocation per frame); serializeMedia
// writes the same text for a payload of any length, with a stream's JSON-quoted SID computed once.

import { addon } from '../audio/native-addon.js';
import { toBase64 } from './base64.js';
import { FRAME_BYTES, MEDIA_PAYLOAD_BASE64_CHARS } from './media-format.js';

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
    // in the addon: one plain call costs a fraction of a 160-byte base64 loop in JS (bench/RESULTS.md, issue 18)
    addon.encodeMediaPayload(mulaw, offset, this.frame, this.payloadAt);
    return this.frame;
  }
}

export function serializeMark(streamSid: string, name: string): string {
  return `{"event":"mark","streamSid":${JSON.stringify(streamSid)},"mark":{"name":${JSON.stringify(name)}}}`;
}

export function serializeClear(streamSid: string): string {
  return `{"event":"clear","streamSid":${JSON.stringify(streamSid)}}`;
}
