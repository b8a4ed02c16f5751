/**
 * VAD per 20 ms frame: the native energy Vad vs the same algorithm in plain JS (bench/dsp/js-vad.ts) and
 * `@echogarden/fvad-wasm` (the WebRTC VAD in WASM: a different, GMM-based detector that people reach for).
 * Beside the speed: the turns each energy VAD finds on the three reference calls (labels: 2 each) and how often
 * the JS port agrees with the native one frame by frame, so the JS peer is shown to do the same work.
 */

import fvad from '@echogarden/fvad-wasm';

import { Vad } from '../../src/audio/dsp.js';
import { SAMPLES_PER_FRAME } from '../../src/twilio/media-format.js';
import { jsMulawDecodeInto } from './js-mulaw.js';
import { JsEnergyVad } from './js-vad.js';
import { fixture, speedTable, type SectionResult, type SpeedRow } from './report.js';
import { consume, timeGroup, type TimingOptions } from './timing.js';

const CALLS = ['conv-en.8k.ul', 'conv-he.8k.ul', 'conv-en-noisy.8k.ul'];
const FVAD_MODE = 2;   // 0..3; the mode changes thresholds, not cost

function framesOf(file: string): Int16Array[] {
  const codes = fixture(file);
  const n = Math.floor(codes.length / SAMPLES_PER_FRAME);
  const pcm = new Int16Array(n * SAMPLES_PER_FRAME);
  jsMulawDecodeInto(codes.subarray(0, pcm.length), pcm);
  const frames: Int16Array[] = [];
  for (let k = 0; k < n; k++) frames.push(pcm.subarray(k * SAMPLES_PER_FRAME, (k + 1) * SAMPLES_PER_FRAME));
  return frames;
}

interface VadLike { process(frame: Int16Array): { event: number; isSpeech: boolean } }

function turns(vad: VadLike, frames: readonly Int16Array[]): number {
  let starts = 0;
  for (const f of frames) if (vad.process(f).event === 1) starts++;
  return starts;
}

export async function benchVad(timing: TimingOptions): Promise<SectionResult> {
  const perCall = CALLS.map(framesOf);
  const frames = perCall.flat();

  const native = new Vad();
  const jsOptions = { ...native.options } as Record<string, unknown>;
  const makeJs = (): JsEnergyVad => new JsEnergyVad(jsOptions);

  // Agreement of the JS port with the native VAD, frame by frame (speech flag and event).
  let agree = 0;
  let total = 0;
  for (const call of perCall) {
    const a = new Vad();
    const b = makeJs();
    for (const f of call) {
      const ra = a.process(f);
      const rb = b.process(f);
      total++;
      if (ra.isSpeech === rb.isSpeech && Number(ra.event) === rb.event) agree++;
    }
  }
  const turnsText = (make: () => VadLike): string => `turns en/he/noisy ${perCall.map((c) => turns(make(), c)).join('/')} (labels 2/2/2)`;

  // fvad: one WASM instance, the frame copied into its heap each call (as a user must).
  const mod = await fvad();
  const inst = mod._fvad_new();
  if (mod._fvad_set_mode(inst, FVAD_MODE) !== 0 || mod._fvad_set_sample_rate(inst, 8000) !== 0) throw new Error('fvad setup failed');
  const ptr = mod._malloc(SAMPLES_PER_FRAME * 2);
  const fvadProcess = (frame: Int16Array): number => {
    mod.HEAP16.set(frame, ptr >> 1);
    return mod._fvad_process(inst, ptr, SAMPLES_PER_FRAME);
  };
  let fvadSpeech = 0;
  for (const f of frames) fvadSpeech += fvadProcess(f) === 1 ? 1 : 0;

  const rows: SpeedRow[] = [];
  const group = 'VAD, 1 frame per call';
  const count = frames.length;
  const jsVad = makeJs();
  const [nativeT, jsT, fvadT] = timeGroup([
    { framesPerOp: count, op: () => {
      let acc = 0;
      for (let k = 0; k < count; k++) acc += native.process(frames[k]!).event;
      consume(acc);
    } },
    { framesPerOp: count, op: () => {
      let acc = 0;
      for (let k = 0; k < count; k++) acc += jsVad.process(frames[k]!).event;
      consume(acc);
    } },
    { framesPerOp: count, op: () => {
      let acc = 0;
      for (let k = 0; k < count; k++) acc += fvadProcess(frames[k]!);
      consume(acc);
    } },
  ], timing);
  rows.push({
    group, impl: 'native Vad.process', isNative: true, nsPerFrame: nativeT!.nsPerFrame,
    quality: turnsText(() => new Vad()),
    note: 'returns a result object per frame',
  });
  rows.push({
    group, impl: 'plain JS energy VAD (same algorithm)', isNative: false, nsPerFrame: jsT!.nsPerFrame,
    quality: `${turnsText(makeJs)}; ${((100 * agree) / total).toFixed(1)}% frames agree with native`,
    note: 'returns a result object per frame',
  });
  rows.push({
    group, impl: `@echogarden/fvad-wasm (WebRTC VAD, mode ${FVAD_MODE})`, isNative: false, nsPerFrame: fvadT!.nsPerFrame,
    quality: `per-frame decision only: ${((100 * fvadSpeech) / frames.length).toFixed(0)}% of frames speech`,
    note: 'frame copied into the WASM heap',
  });
  mod._free(ptr);
  mod._fvad_free(inst);
  return {
    title: 'VAD (20 ms frames of the three reference calls)',
    table: speedTable(rows),
    targets: [],
    notes: ['No target is set for the VAD; the figures show what one frame costs in each.'],
  };
}
