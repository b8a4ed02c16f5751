// A streamed response body of 16-bit little-endian PCM -> Int16Array pieces as the bytes arrive. The network cuts
// the body wherever it likes, so a piece may end in the middle of a sample: the odd byte is kept and joined to the
// next piece. A body that starts with a RIFF/WAVE header (a proxy that answers WAV when asked for raw PCM) has the
// header removed first, as the whole-sentence path does (wav-header.ts), so it never reaches the caller's ear as a
// click; the header is looked for in at most MAX_WAV_HEADER_BYTES, so a hostile body cannot make us buffer forever
// (past that it is an error, not audio). A body of 8-bit mu-law is read with pushBytes(): the same header rule, no
// sample joining.
import { hasWavHeader, stripWavHeader } from './wav-header.js';

/** How much of a body may be held back while looking for the end of a WAV header. */
export const MAX_WAV_HEADER_BYTES = 4096;

export class PcmByteStream {
  /** Bytes held back: the odd byte of a cut sample, or the start of the body while its header is incomplete. */
  private held: Uint8Array = new Uint8Array(0);
  private isPastHeader = false;
  /** The sample rate a WAV header stated, if the body had one. */
  headerSampleRateHz: number | undefined;

  /**
   * The whole samples these bytes complete (possibly none), in an array of their own. RangeError when the body
   * starts with a WAV header that names no data chunk within MAX_WAV_HEADER_BYTES.
   */
  push(bytes: Uint8Array): Int16Array {
    const data = this.pastHeader(bytes);
    if (data === undefined) return new Int16Array(0);
    const whole = data.length & ~1;
    if (whole < data.length) this.held = data.slice(whole);
    const out = new Int16Array(whole >> 1);
    new Uint8Array(out.buffer).set(data.subarray(0, whole));
    return out;
  }

  /**
   * For a body of 8-bit samples (mu-law): the bytes past a WAV header, as they arrive (a byte is a whole sample, so
   * nothing is held back once past the header). Not to be mixed with push() on one body.
   */
  pushBytes(bytes: Uint8Array): Uint8Array {
    return this.pastHeader(bytes) ?? new Uint8Array(0);
  }

  /** `bytes` joined to what was held back, past the WAV header if the body has one; undefined while it is held. */
  private pastHeader(bytes: Uint8Array): Uint8Array | undefined {
    let data = this.held.length > 0 ? concat(this.held, bytes) : bytes;
    this.held = new Uint8Array(0);
    if (!this.isPastHeader) {
      if (data.length < 12 && isPrefixOfRiff(data)) {
        this.held = data.slice();
        return undefined;
      }
      if (hasWavHeader(data)) {
        const wav = stripWavHeader(data);
        const isDataFound = wav.data.length > 0 || endsWithDataChunk(data, wav.data);
        if (!isDataFound && data.length >= MAX_WAV_HEADER_BYTES) {
          throw new RangeError(`the body starts with a WAV header but names no data chunk within ${MAX_WAV_HEADER_BYTES} bytes`);
        }
        if (!isDataFound) {
          this.held = data.slice();
          return undefined;
        }
        this.headerSampleRateHz = wav.sampleRateHz;
        data = wav.data;
      }
      this.isPastHeader = true;
    }
    return data;
  }

  /** The body ended: an odd byte left over is dropped (half a sample is not audio). Returns how many were dropped. */
  end(): number {
    const dropped = this.isPastHeader ? this.held.length : 0;
    this.held = new Uint8Array(0);
    return dropped;
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/** Whether these first bytes could still be the start of "RIFF....WAVE". */
function isPrefixOfRiff(bytes: Uint8Array): boolean {
  const riff = 'RIFF';
  for (let i = 0; i < Math.min(bytes.length, 4); i++) if (bytes[i] !== riff.charCodeAt(i)) return false;
  return true;
}

/** stripWavHeader found the data chunk, and it is empty only because no audio has arrived yet. */
function endsWithDataChunk(bytes: Uint8Array, data: Uint8Array): boolean {
  return data.byteOffset - bytes.byteOffset === bytes.length && bytes.length >= 8
    && bytes[bytes.length - 8] === 0x64 && bytes[bytes.length - 7] === 0x61 && bytes[bytes.length - 6] === 0x74 && bytes[bytes.length - 5] === 0x61;
}
