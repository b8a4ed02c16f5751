// Minimal RIFF/WAVE reading and writing for the caller CLI: read the `fmt ` and `data` chunks of a PCM (16-bit) or
// G.711 mu-law WAV, and write 16-bit mono PCM WAV files. Pure functions on bytes; endian-safe (DataView).

export const WAVE_FORMAT_PCM = 1;
export const WAVE_FORMAT_MULAW = 7;
export const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

export interface WavInfo {
  /** 'pcm16' (format 1, or extensible with 16-bit samples) or 'mulaw' (format 7). */
  encoding: 'pcm16' | 'mulaw';
  sampleRateHz: number;
  channels: number;
  bitsPerSample: number;
  /** The data chunk's bytes (a view into the input). */
  data: Uint8Array;
}

export class WavFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WavFormatError';
  }
}

const ascii = (bytes: Uint8Array, at: number) => String.fromCharCode(bytes[at] ?? 0, bytes[at + 1] ?? 0, bytes[at + 2] ?? 0, bytes[at + 3] ?? 0);

/** Reads a WAV file's format and data chunk. Throws WavFormatError on anything it cannot use. */
export function parseWav(bytes: Uint8Array): WavInfo {
  if (bytes.length < 12 || ascii(bytes, 0) !== 'RIFF' || ascii(bytes, 8) !== 'WAVE') {
    throw new WavFormatError('not a RIFF/WAVE file');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavInfo, 'data'> | undefined;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = ascii(bytes, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw new WavFormatError('fmt chunk too short');
      const tag = view.getUint16(body, true);
      const channels = view.getUint16(body + 2, true);
      const sampleRateHz = view.getUint32(body + 4, true);
      const bitsPerSample = view.getUint16(body + 14, true);
      let encoding: WavInfo['encoding'];
      if (tag === WAVE_FORMAT_MULAW && bitsPerSample === 8) encoding = 'mulaw';
      else if ((tag === WAVE_FORMAT_PCM || tag === WAVE_FORMAT_EXTENSIBLE) && bitsPerSample === 16) encoding = 'pcm16';
      else throw new WavFormatError(`unsupported WAV format ${tag} with ${bitsPerSample}-bit samples (need 16-bit PCM or 8-bit mu-law)`);
      fmt = { encoding, sampleRateHz, channels, bitsPerSample };
    } else if (id === 'data') {
      if (!fmt) throw new WavFormatError('data chunk before fmt chunk');
      // a streamed WAV may leave the size at 0 or 0xFFFFFFFF: take what is there
      const end = size === 0 || size === 0xffffffff || body + size > bytes.length ? bytes.length : body + size;
      return { ...fmt, data: bytes.subarray(body, end) };
    }
    pos = body + size + (size & 1);
  }
  throw new WavFormatError(fmt ? 'no data chunk' : 'no fmt chunk');
}

/** The samples of a 16-bit little-endian PCM data chunk (copied: the chunk may be unaligned). */
export function pcm16FromBytes(data: Uint8Array): Int16Array {
  const samples = new Int16Array(data.length >> 1);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true);
  return samples;
}

/** A 16-bit mono PCM WAV file (44-byte header). */
export function buildWavPcm16(pcm: Int16Array, sampleRateHz: number): Uint8Array {
  const dataBytes = pcm.length * 2;
  const out = new Uint8Array(44 + dataBytes);
  const view = new DataView(out.buffer);
  const put = (at: number, s: string) => {
    for (let i = 0; i < 4; i++) out[at + i] = s.charCodeAt(i);
  };
  put(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  put(8, 'WAVE');
  put(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, WAVE_FORMAT_PCM, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, sampleRateHz, true);
  view.setUint32(28, sampleRateHz * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  put(36, 'data');
  view.setUint32(40, dataBytes, true);
  for (let i = 0; i < pcm.length; i++) view.setInt16(44 + i * 2, pcm[i] as number, true);
  return out;
}
