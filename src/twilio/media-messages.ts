// The typed Media Streams messages the rest of the server speaks in, both directions. Only src/twilio reads or writes
// their JSON (the parsers and serialisers beside this file); the call engine and the edge see these types only.
// Wire facts (twilio.com/docs/voice/media-streams/websocket-messages): `connected` carries no streamSid;
// `sequenceNumber`, `chunk` and `timestamp` arrive as decimal strings; inbound audio is one frame (media-format.ts).

export interface StartInfo {
  streamSid: string;
  accountSid: string;
  callSid: string;
  tracks: string[];
  mediaFormat: { encoding: string; sampleRate: number; channels: number };
  customParameters: Record<string, string>;
}

/** What Twilio sends us. */
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

/** What we send Twilio. */
export type OutboundMessage =
  | { event: 'media'; streamSid: string; payload: Uint8Array }
  | { event: 'mark'; streamSid: string; name: string }
  | { event: 'clear'; streamSid: string };
