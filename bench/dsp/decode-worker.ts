// The pool worker of the crossing benchmark (pool.ts): the production jobs of src/audio/dsp-worker.ts, plus a
// stateless batch decode that exists only to be measured (mu-law frames -> PCM + per-frame dBFS levels, the inbound
// path's work, which production does inline and never in the pool). One buffer goes back, moved, as in production.
import { move } from 'piscina';
import { frameLevelsDbfs, mulawDecodeInto } from '../../src/audio/dsp.js';
import { SAMPLES_PER_FRAME } from '../../src/twilio/media-format.js';

export { pcmToMulawFrames, utteranceToWav16k } from '../../src/audio/dsp-worker.js';

/** One buffer back: [levels: frames x f32][pcm: frames x 160 x i16]; DecodeBatchPool splits it into two views. */
export function decodeBatch(task: { codes: Uint8Array }): unknown {
  const frames = task.codes.length / SAMPLES_PER_FRAME;
  const out = new ArrayBuffer(frames * 4 + task.codes.length * 2);
  const pcm = new Int16Array(out, frames * 4, task.codes.length);
  mulawDecodeInto(task.codes, pcm);
  new Float32Array(out, 0, frames).set(frameLevelsDbfs(pcm, SAMPLES_PER_FRAME));
  return move(new Uint8Array(out));
}
