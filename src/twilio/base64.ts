// Standard padded base64, as Media Streams payloads use it: the alphabet as bytes and as a lookup (for the readers
// and writers that work on bytes in place), a strict check, and an encoder that makes no Buffer view per call.

/** The standard base64 alphabet, as bytes. */
export const BASE64_ALPHABET = Uint8Array.from('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/', (c) => c.charCodeAt(0));
/** The 6-bit value of a base64 character, by byte; 255 for anything else. */
export const BASE64_VALUE = new Uint8Array(256).fill(255);
BASE64_ALPHABET.forEach((byte, value) => {
  BASE64_VALUE[byte] = value;
});
/** The `=` of base64 padding. */
export const EQUALS_BYTE = 61;

/** Whether UTF-16 code unit `c` is a base64 data character (A-Z a-z 0-9 + /). */
export const isBase64Char = (c: number): boolean => c < 128 && BASE64_VALUE[c] !== 255;

/** Strict padded standard base64 of any length. */
export function isBase64(s: string): boolean {
  if (s.length === 0 || s.length % 4 !== 0) return false;
  let end = s.length;
  if (s.charCodeAt(end - 1) === EQUALS_BYTE) end--;
  if (s.charCodeAt(end - 1) === EQUALS_BYTE) end--;
  for (let i = 0; i < end; i++) if (!isBase64Char(s.charCodeAt(i))) return false;
  return true;
}

/** Scratch for base64: a frame (160 bytes) and any payload up to this size is encoded without allocating a view. */
const BASE64_SCRATCH_BYTES = 4096;
const base64Scratch = Buffer.allocUnsafeSlow(BASE64_SCRATCH_BYTES);

/** `bytes` as padded standard base64. */
export function toBase64(bytes: Uint8Array): string {
  const length = bytes.byteLength;
  if (length > BASE64_SCRATCH_BYTES) return Buffer.from(bytes.buffer, bytes.byteOffset, length).toString('base64');
  base64Scratch.set(bytes);
  return base64Scratch.toString('base64', 0, length);
}
