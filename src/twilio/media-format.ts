// The Twilio Media Streams audio format, in one place: 8 kHz mono mu-law in 20 ms frames, one byte per sample, on a
// WebSocket that offers the `audio.twilio.com` subprotocol (twilio.com/docs/voice/media-streams/websocket-messages).
// Every module that frames, paces, pads or checks Media Streams audio reads its numbers from here.

/** The sample rate of Media Streams audio, both directions. */
export const SAMPLE_RATE_HZ = 8000;
/** One media message carries one frame: 20 ms of audio. */
export const FRAME_MS = 20;
/** Samples in one 20 ms frame at 8 kHz. */
export const SAMPLES_PER_FRAME = 160;
/** Bytes of one 20 ms mu-law frame: one byte per sample. A media message's payload is base64 of exactly this many. */
export const FRAME_BYTES = 160;
/** mu-law's encoding of a zero sample: what silence (and a short last frame's padding) is made of. */
export const MULAW_SILENCE_BYTE = 0xff;

/** base64 of one frame's 160 bytes: 53 full groups + one group holding 1 byte ("xx=="). */
export const MEDIA_PAYLOAD_BASE64_CHARS = 216;
/** A Twilio message is well under 1 KiB; anything past this is refused before parsing. */
export const MAX_INBOUND_MESSAGE_CHARS = 64 * 1024;

/** The WebSocket subprotocol Twilio offers on the handshake. */
export const MEDIA_SUBPROTOCOL = 'audio.twilio.com';
/** What Twilio (and our caller) put in `start.mediaFormat`. */
export const MULAW_MEDIA_FORMAT = Object.freeze({ encoding: 'audio/x-mulaw', sampleRate: SAMPLE_RATE_HZ, channels: 1 });
