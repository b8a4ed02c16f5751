// Audio files for the caller CLI: what to stream (raw mu-law .ul, or a WAV of 8 kHz mono 16-bit PCM or mu-law,
// encoded to mu-law by the DSP addon) and what to record (the server's mu-law as an 8 kHz 16-bit WAV).
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { mulawDecode, mulawEncode } from '../audio/dsp.js';
import { SAMPLE_RATE_HZ } from '../twilio/media-format.js';
import { buildWavPcm16, parseWav, pcm16FromBytes, WavFormatError } from './wav.js';

/** Mu-law bytes from a WAV file's contents (8 kHz mono, 16-bit PCM or mu-law). */
export function mulawFromWav(bytes: Uint8Array): Uint8Array {
  const wav = parseWav(bytes);
  if (wav.sampleRateHz !== SAMPLE_RATE_HZ || wav.channels !== 1) {
    throw new WavFormatError(`WAV must be 8000 Hz mono (got ${wav.sampleRateHz} Hz, ${wav.channels} channels)`);
  }
  if (wav.encoding === 'mulaw') return wav.data.slice();
  return mulawEncode(pcm16FromBytes(wav.data));
}

/** Reads a file to stream: .wav is decoded/encoded; anything else (.ul, .mulaw, .raw) is taken as raw mu-law. */
export function loadMulawFile(path: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(path));
  return extname(path).toLowerCase() === '.wav' ? mulawFromWav(bytes) : bytes;
}

/** Mu-law bytes -> an 8 kHz mono 16-bit WAV file. */
export function wavFromMulaw(mulaw: Uint8Array): Uint8Array {
  return buildWavPcm16(mulawDecode(mulaw), SAMPLE_RATE_HZ);
}
