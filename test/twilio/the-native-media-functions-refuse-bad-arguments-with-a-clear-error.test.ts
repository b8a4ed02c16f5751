// The addon's media-message functions (native/media-reader.h, native/media-writer.h) are on the per-frame path and
// take raw memory: every argument is checked before it is touched, so a wrong one is a TypeError or a RangeError
// that names it, never a read or a write outside its array.
import { describe, expect, it } from 'vitest';
import { addon } from '../../src/audio/native-addon.js';
import { serializeInboundMedia } from '../../src/twilio/caller-messages.js';

const message = new Uint8Array(Buffer.from(serializeInboundMedia(2, 'MZabc', 1, 0, new Uint8Array(160).fill(7)), 'utf8'));

describe('readCanonicalMedia', () => {
  it('reads into a state of exactly mediaReaderStateBytes at an 8-byte offset', () => {
    const state = new Uint8Array(addon.mediaReaderStateBytes);
    expect(addon.readCanonicalMedia(message, state)).toBe(2);
    expect(addon.readCanonicalMedia(message, state)).toBe(1);
    expect(addon.readCanonicalMedia(message.buffer as ArrayBuffer, state)).toBe(1);
    expect(addon.readCanonicalMedia(new Uint8Array(0), state)).toBe(0);
  });

  it('refuses a state of another size or alignment, and a message that is not bytes', () => {
    const bytes = addon.mediaReaderStateBytes;
    expect(() => addon.readCanonicalMedia(message, new Uint8Array(bytes - 1))).toThrow(RangeError);
    expect(() => addon.readCanonicalMedia(message, new Uint8Array(bytes + 8).subarray(4, 4 + bytes))).toThrow(/multiple of 8/);
    expect(() => addon.readCanonicalMedia(message, new Float64Array(bytes / 8) as unknown as Uint8Array)).toThrow(/state must be a Uint8Array/);
    const state = new Uint8Array(bytes);
    expect(() => addon.readCanonicalMedia('text' as unknown as Uint8Array, state)).toThrow(/message must be an ArrayBuffer or a Uint8Array \(got string\)/);
    expect(() => addon.readCanonicalMedia(new Int16Array(4) as unknown as Uint8Array, state)).toThrow(TypeError);
  });
});

describe('encodeMediaPayload', () => {
  it('writes the 214 base64 characters before the padding, and nothing around them', () => {
    const mulaw = new Uint8Array(320).map((_, i) => (i * 37) & 0xff);
    const frame = new Uint8Array(220).fill(0x2a);
    addon.encodeMediaPayload(mulaw, 160, frame, 3);
    expect(Buffer.from(frame.subarray(3, 217)).toString('latin1')).toBe(Buffer.from(mulaw.subarray(160)).toString('base64').slice(0, 214));
    expect([...frame.subarray(0, 3), ...frame.subarray(217)]).toEqual(new Array(6).fill(0x2a));
  });

  it('refuses an offset or a payloadAt that would leave its array, and arguments of the wrong type', () => {
    const mulaw = new Uint8Array(320);
    const frame = new Uint8Array(300);
    expect(() => addon.encodeMediaPayload(mulaw, 161, frame, 0)).toThrow(/offset must be a whole number with 160 bytes of mulaw after it \(got 161 in 320 bytes\)/);
    expect(() => addon.encodeMediaPayload(mulaw, -1, frame, 0)).toThrow(RangeError);
    expect(() => addon.encodeMediaPayload(mulaw, 0.5, frame, 0)).toThrow(RangeError);
    expect(() => addon.encodeMediaPayload(mulaw, 0, frame, 87)).toThrow(/payloadAt must be a whole number with 214 bytes/);
    expect(() => addon.encodeMediaPayload(mulaw, 0, new Int16Array(300) as unknown as Uint8Array, 0)).toThrow(/frame must be a Uint8Array/);
    expect(() => addon.encodeMediaPayload(mulaw, '0' as unknown as number, frame, 0)).toThrow(/offset must be a number/);
  });
});
