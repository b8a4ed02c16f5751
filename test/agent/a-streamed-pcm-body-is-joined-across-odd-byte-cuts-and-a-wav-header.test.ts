// A streamed TTS body (16-bit little-endian PCM) arrives cut wherever the network cuts it: PcmByteStream gives the
// same samples whatever the cuts (odd ones split a sample in two: its bytes are joined), drops a WAV header when the
// body starts with one (even when the header itself arrives in pieces), and never holds more than a bounded prefix
// (a header with no data chunk within it is an error).
import { describe, expect, it } from 'vitest';
import { MAX_WAV_HEADER_BYTES, PcmByteStream } from '../../src/agent/pcm-bytes.js';
import { pcmBytes, tonePcm, wavFile } from '../fakes/audio.js';

function feed(bytes: Uint8Array, sizes: readonly number[]): { samples: Int16Array; stream: PcmByteStream } {
  const stream = new PcmByteStream();
  const parts: Int16Array[] = [];
  for (let at = 0, k = 0; at < bytes.length; k++) {
    const size = sizes[k % sizes.length]!;
    parts.push(stream.push(bytes.subarray(at, at + size)));
    at += size;
  }
  stream.end();
  const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    samples.set(p, at);
    at += p.length;
  }
  return { samples, stream };
}

describe('PcmByteStream', () => {
  const pcm = tonePcm(24_000, 300, 440, 9000);
  const body = new Uint8Array(pcmBytes(pcm));

  it('gives every sample once whatever the cuts, odd ones included', () => {
    for (const sizes of [[1], [3], [4801], [2, 5, 7], [body.length]]) {
      expect(Array.from(feed(body, sizes).samples)).toEqual(Array.from(pcm));
    }
  });

  it('keeps the odd byte of a cut sample for the next piece', () => {
    const stream = new PcmByteStream();
    expect(stream.push(body.subarray(0, 3)).length).toBe(1);
    expect(Array.from(stream.push(body.subarray(3, 4)))).toEqual([pcm[1]]);
  });

  it('drops a WAV header, even one that arrives in pieces, and reads its rate', () => {
    const wav = new Uint8Array(wavFile(1, 24_000, Buffer.from(body)));
    for (const sizes of [[1], [5, 11], [44], [wav.length]]) {
      const { samples, stream } = feed(wav, sizes);
      expect(Array.from(samples)).toEqual(Array.from(pcm));
      expect(stream.headerSampleRateHz).toBe(24_000);
    }
  });

  it('holds back at most a bounded prefix while looking for the end of a header', () => {
    const stream = new PcmByteStream();
    const header = new Uint8Array(wavFile(1, 24_000, Buffer.alloc(0))).subarray(0, 36); // RIFF, WAVE, fmt: no data chunk
    expect(stream.push(header).length).toBe(0);
    // a body that never names its data chunk is an error once the bound is passed, not buffered forever
    expect(() => stream.push(new Uint8Array(MAX_WAV_HEADER_BYTES))).toThrow(/no data chunk within 4096 bytes/);
  });
});
