// The caller's side of the wire, for the caller CLI, tests and benchmarks (never the server): what Twilio sends us,
// written as Twilio writes it (field order too, so the edge's media fast path is the one exercised), and a reader of
// what the server sends back.

import { isBase64, toBase64 } from './base64.js';
import { MAX_INBOUND_MESSAGE_CHARS } from './media-format.js';
import type { OutboundMessage, StartInfo } from './media-messages.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

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
