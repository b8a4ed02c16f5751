// What runs in a DspPool thread: bulk jobs on whole buffers (an utterance to a 16 kHz WAV for ASR, a synthesized
// reply to 8 kHz mu-law frames). Inputs arrive transferred; results go back with Piscina's move(), so no buffer is
// copied between threads. The addon is context-aware: each thread loads its own.
import { move } from 'piscina';
import { FRAME_BYTES, MULAW_SILENCE_BYTE, SAMPLE_RATE_HZ } from '../twilio/media-format.js';
import { mulawEncodeInto, resampleWhole, type SampleRateHz } from './dsp.js';

export const WAV_HEADER_BYTES = 44;

/** RIFF/WAVE header of 16-bit mono PCM. */
export function writeWavHeader(view: DataView, sampleRateHz: number, dataBytes: number): void {
  const ascii = (offset: number, text: string): void => {
    for (let i = 0; i < text.length; i++) view.setUint8(offset + i, text.charCodeAt(i));
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + dataBytes, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRateHz, true);
  view.setUint32(28, sampleRateHz * 2, true); // byte rate
  view.setUint16(32, 2, true); // block align
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, 'data');
  view.setUint32(40, dataBytes, true);
}

export function utteranceToWav16k(task: { pcm: Int16Array }): unknown {
  const pcm16k = resampleWhole(task.pcm, SAMPLE_RATE_HZ, 16000);
  const wav = new Uint8Array(WAV_HEADER_BYTES + pcm16k.byteLength);
  writeWavHeader(new DataView(wav.buffer), 16000, pcm16k.byteLength);
  wav.set(new Uint8Array(pcm16k.buffer, pcm16k.byteOffset, pcm16k.byteLength), WAV_HEADER_BYTES);
  return move(wav);
}

export function pcmToMulawFrames(task: { pcm: Int16Array; rateHz: SampleRateHz }): unknown {
  const pcm8k = task.rateHz === SAMPLE_RATE_HZ ? task.pcm : resampleWhole(task.pcm, task.rateHz, SAMPLE_RATE_HZ);
  // one mu-law byte per sample: whole frames, the last one padded with silence
  const frames = Math.ceil(pcm8k.length / FRAME_BYTES);
  const out = new Uint8Array(frames * FRAME_BYTES);
  mulawEncodeInto(pcm8k, out);
  out.fill(MULAW_SILENCE_BYTE, pcm8k.length);
  return move(out);
}
