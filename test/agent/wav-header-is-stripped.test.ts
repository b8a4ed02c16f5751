// Google puts a WAV header in front of LINEAR16 and MULAW audio; played as audio it is a click (or, with MULAW, bytes
// sent verbatim to Twilio). stripWavHeader walks the RIFF chunks to `data`, reports the format, and leaves headerless
// audio alone.
import { describe, expect, it } from 'vitest';
import { hasWavHeader, pcm16FromBytes, stripWavHeader } from '../../src/agent/wav-header.js';
import { mulawEncode, pcmBytes, tonePcm, wavFile } from '../fakes/audio.js';

describe('stripWavHeader', () => {
  it('returns exactly the PCM after a 44-byte LINEAR16 header, with its rate', () => {
    const pcm = tonePcm(24_000, 50);
    const wav = wavFile(1, 24_000, pcmBytes(pcm));
    const info = stripWavHeader(new Uint8Array(wav));
    expect(info.hadHeader).toBe(true);
    expect(info.formatCode).toBe(1);
    expect(info.sampleRateHz).toBe(24_000);
    expect(info.bitsPerSample).toBe(16);
    expect(Array.from(pcm16FromBytes(info.data))).toEqual(Array.from(pcm));
  });

  it('strips a MULAW header (format 7, 8 kHz) so that no byte of it reaches the caller', () => {
    const codes = mulawEncode(tonePcm(8000, 40));
    const info = stripWavHeader(new Uint8Array(wavFile(7, 8000, codes)));
    expect(info.formatCode).toBe(7);
    expect(Buffer.from(info.data).equals(codes)).toBe(true);
    expect(hasWavHeader(info.data)).toBe(false);
  });

  it('skips chunks before data (LIST) and tolerates a streamed data size of 0xFFFFFFFF', () => {
    const data = Buffer.from([1, 0, 2, 0, 3, 0]);
    const wav = wavFile(1, 16_000, data);
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc\0')]); // odd size, padded
    const withList = Buffer.concat([wav.subarray(0, 36), list, wav.subarray(36)]);
    expect(Array.from(stripWavHeader(new Uint8Array(withList)).data)).toEqual([1, 0, 2, 0, 3, 0]);
    const streamed = Buffer.from(wav);
    streamed.writeUInt32LE(0xffffffff, 40);
    expect(Array.from(stripWavHeader(new Uint8Array(streamed)).data)).toEqual([1, 0, 2, 0, 3, 0]);
  });

  it('leaves audio without a header as it is, and gives no audio for a header with no data chunk', () => {
    const raw = new Uint8Array([9, 8, 7, 6]);
    expect(stripWavHeader(raw)).toEqual({ data: raw, hadHeader: false });
    const headerOnly = new Uint8Array(wavFile(1, 8000, Buffer.alloc(0)).subarray(0, 36));
    expect(stripWavHeader(headerOnly).data.length).toBe(0);
  });

  it('pcm16FromBytes copies into an aligned array and drops an odd last byte', () => {
    const bytes = new Uint8Array([0, 1, 0xff, 0x7f, 5]).subarray(0, 5);
    expect(Array.from(pcm16FromBytes(bytes.subarray(0)))).toEqual([256, 32767]);
    const unaligned = new Uint8Array([0, 0, 1, 0, 2]).subarray(1);
    expect(Array.from(pcm16FromBytes(unaligned))).toEqual([256, 512]);
  });
});
