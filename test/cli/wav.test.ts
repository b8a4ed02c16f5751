// WAV files for the caller: the 8 kHz 16-bit fixtures read back as what their .ul twins encode, a written WAV reads
// back the same, mu-law WAVs pass through, and what cannot be streamed is refused with a reason.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { WAVE_FORMAT_MULAW, WavFormatError, buildWavPcm16, parseWav, pcm16FromBytes } from '../../src/cli/wav.js';
import { FRAME_BYTES, MULAW_SILENCE_BYTE } from '../../src/twilio/media-format.js';

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/${name}`, import.meta.url)));

// the DSP addon is another helper's work: use it when it is there
const dsp = await import('../../src/audio/dsp.js').catch(() => undefined);
const audioFile = dsp ? await import('../../src/cli/audio-file.js') : undefined;

describe('parseWav / buildWavPcm16', () => {
  it('reads the 8 kHz 16-bit fixture', () => {
    const wav = parseWav(fixture('conv-en.8k.wav'));
    expect(wav).toMatchObject({ encoding: 'pcm16', sampleRateHz: 8000, channels: 1, bitsPerSample: 16 });
    expect(wav.data.length).toBe(fixture('conv-en.8k.ul').length * 2);
  });

  it('round-trips samples through a written file', () => {
    const pcm = Int16Array.from({ length: 1001 }, (_, i) => Math.round(Math.sin(i / 7) * 30000) - (i % 3));
    const bytes = buildWavPcm16(pcm, 8000);
    expect(bytes.length).toBe(44 + 2002);
    const wav = parseWav(bytes);
    expect(wav).toMatchObject({ encoding: 'pcm16', sampleRateHz: 8000, channels: 1 });
    expect(pcm16FromBytes(wav.data)).toEqual(pcm);
  });

  it('reads an unaligned data chunk after an odd-sized extra chunk', () => {
    const pcm = Int16Array.from([1, -2, 3, -32768, 32767]);
    const plain = buildWavPcm16(pcm, 8000);
    const extra = new Uint8Array([0x4c, 0x49, 0x53, 0x54, 3, 0, 0, 0, 9, 9, 9, 0]); // "LIST", 3 bytes + pad
    const bytes = new Uint8Array(plain.length + extra.length);
    bytes.set(plain.subarray(0, 36));
    bytes.set(extra, 36);
    bytes.set(plain.subarray(36), 36 + extra.length);
    expect(pcm16FromBytes(parseWav(bytes).data)).toEqual(pcm);
  });

  it('passes mu-law WAVs through', () => {
    const bytes = buildWavPcm16(new Int16Array(4), 8000);
    const view = new DataView(bytes.buffer);
    view.setUint16(20, WAVE_FORMAT_MULAW, true);
    view.setUint16(34, 8, true);
    const wav = parseWav(bytes);
    expect(wav.encoding).toBe('mulaw');
  });

  it('refuses what it cannot stream', () => {
    expect(() => parseWav(new Uint8Array(10))).toThrow(WavFormatError);
    expect(() => parseWav(fixture('conv-en.8k.ul'))).toThrow(/not a RIFF\/WAVE file/);
    const float = buildWavPcm16(new Int16Array(4), 8000);
    new DataView(float.buffer).setUint16(20, 3, true);
    new DataView(float.buffer).setUint16(34, 32, true);
    expect(() => parseWav(float)).toThrow(/unsupported WAV format 3 with 32-bit samples/);
  });
});

describe.skipIf(!audioFile)('audio files through the DSP', () => {
  it('a 16-bit WAV is encoded with G.711 mu-law exactly as the G.191 reference does', () => {
    const table = fixture('mulaw-encode-all-int16.g191.ul'); // code for every int16, indexed by sample + 32768
    const pcm = pcm16FromBytes(parseWav(fixture('conv-en.8k.wav')).data);
    const expected = pcm.map((s) => table[s + 32768] as number);
    const fromWav = audioFile?.mulawFromWav(fixture('conv-en.8k.wav'));
    expect(fromWav?.length).toBe(pcm.length);
    expect(Buffer.from(fromWav ?? []).equals(Buffer.from(Uint8Array.from(expected)))).toBe(true);
  });

  it('a recording decodes mu-law into an 8 kHz 16-bit WAV', () => {
    const wav = parseWav(audioFile?.wavFromMulaw(new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE_BYTE)) ?? new Uint8Array());
    expect(wav).toMatchObject({ encoding: 'pcm16', sampleRateHz: 8000, channels: 1 });
    expect(pcm16FromBytes(wav.data).every((s) => s === 0)).toBe(true);
  });

  it('refuses WAVs at other rates', () => {
    expect(() => audioFile?.mulawFromWav(buildWavPcm16(new Int16Array(10), 16000))).toThrow(/8000 Hz mono/);
  });
});
