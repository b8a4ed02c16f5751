// Google Text-to-Speech puts a RIFF/WAVE header in front of LINEAR16 and MULAW audio, and the SDK hands it back
// untouched. Played as audio, those 44+ bytes are a click at the start of every sentence (and with MULAW they would
// go to Twilio verbatim), so the synthesizers strip it here: walk the RIFF chunks to `data` and return what follows,
// with the format the header states. Bytes that do not start with RIFF/WAVE are returned as they are.

export interface WavInfo {
  /** The audio after the header (a view of the input, no copy). */
  data: Uint8Array;
  /** Whether a RIFF/WAVE header was found and removed. */
  hadHeader: boolean;
  /** From the fmt chunk, when present: 1 = PCM, 7 = mu-law, 6 = A-law. */
  formatCode?: number;
  sampleRateHz?: number;
  channels?: number;
  bitsPerSample?: number;
}

function ascii(bytes: Uint8Array, at: number, text: string): boolean {
  if (at + text.length > bytes.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Whether `bytes` starts with a RIFF/WAVE header. */
export function hasWavHeader(bytes: Uint8Array): boolean {
  return ascii(bytes, 0, 'RIFF') && ascii(bytes, 8, 'WAVE');
}

/**
 * Strips a RIFF/WAVE header. The data chunk's length is trusted only when it fits (streamed WAVs write 0 or
 * 0xFFFFFFFF there): otherwise everything after the chunk header is the audio. A header without a data chunk gives
 * empty audio, never the header bytes.
 */
export function stripWavHeader(bytes: Uint8Array): WavInfo {
  if (!hasWavHeader(bytes)) return { data: bytes, hadHeader: false };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const info: WavInfo = { data: bytes.subarray(bytes.length), hadHeader: true };
  let at = 12;
  while (at + 8 <= bytes.length) {
    const size = view.getUint32(at + 4, true);
    const body = at + 8;
    if (ascii(bytes, at, 'fmt ') && body + 16 <= bytes.length) {
      info.formatCode = view.getUint16(body, true);
      info.channels = view.getUint16(body + 2, true);
      info.sampleRateHz = view.getUint32(body + 4, true);
      info.bitsPerSample = view.getUint16(body + 14, true);
    } else if (ascii(bytes, at, 'data')) {
      const end = size > 0 && body + size <= bytes.length ? body + size : bytes.length;
      info.data = bytes.subarray(body, end);
      return info;
    }
    // chunks are padded to an even length
    at = body + size + (size & 1);
  }
  return info;
}

/** Little-endian 16-bit PCM bytes -> an Int16Array of its own (aligned; an odd last byte is dropped). */
export function pcm16FromBytes(bytes: Uint8Array): Int16Array {
  const samples = bytes.length >> 1;
  const out = new Int16Array(samples);
  new Uint8Array(out.buffer).set(bytes.subarray(0, samples * 2));
  return out;
}
