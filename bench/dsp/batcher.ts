/**
 * The inbound hot path as the call engine runs it: every call's frame of this 20 ms tick goes through
 * InboundBatcher.process in one crossing (mu-law decode + level + VAD per frame, each call with its own VAD state).
 * Measured at 1, 100 and 1,000 frames per crossing, with the copy of the tick's payload bytes into the batcher
 * included, against the same job in plain JS (table decode + the JS port of the VAD, one state per call).
 * The target: under 10% of one core at 50,000 frames a second (1,000 calls).
 */

import { InboundBatcher } from '../../src/audio/dsp.js';
import { SAMPLES_PER_FRAME } from '../../src/twilio/media-format.js';
import { jsMulawDecodeInto } from './js-mulaw.js';
import { JsEnergyVad } from './js-vad.js';
import { fixture, fmtNs, speedTable, type SectionResult, type SpeedRow } from './report.js';
import { consume, timeGroup, type TimedOp, type TimingOptions } from './timing.js';

const CALLS = 1000;
const TICKS = 50;                       // distinct ticks of content, replayed in a loop
const FRAMES_PER_SECOND_TARGET = 50_000;
const CORE_SHARE_TARGET = 0.10;

export function benchBatcher(timing: TimingOptions): SectionResult {
  // Reference calls back to back; call i starts at a different offset so the calls are not in step.
  const audio = Buffer.concat(['conv-en.8k.ul', 'conv-he.8k.ul', 'conv-en-noisy.8k.ul'].map(fixture));
  const audioFrames = Math.floor(audio.length / SAMPLES_PER_FRAME);
  const tickCodes: Uint8Array[] = [];
  for (let t = 0; t < TICKS; t++) {
    const tick = new Uint8Array(CALLS * SAMPLES_PER_FRAME);
    for (let c = 0; c < CALLS; c++) {
      const f = (c * 37 + t) % audioFrames;
      tick.set(audio.subarray(f * SAMPLES_PER_FRAME, (f + 1) * SAMPLES_PER_FRAME), c * SAMPLES_PER_FRAME);
    }
    tickCodes.push(tick);
  }

  const PER_CROSSING = [1, 100, 1000] as const;
  const groupOf = (perCrossing: number): string => `decode + VAD, ${perCrossing} frame${perCrossing === 1 ? '' : 's'} per crossing`;
  const ops: TimedOp[] = PER_CROSSING.map((perCrossing) => {
    const batcher = new InboundBatcher({ maxSlots: CALLS, maxFramesPerTick: 1000 });
    for (let c = 0; c < CALLS; c++) batcher.allocSlot();
    const codesView = batcher.codes;
    const slotsView = batcher.slots;
    const crossings = CALLS / perCrossing;
    let tick = 0;
    return { framesPerOp: CALLS, op: () => {
      const codes = tickCodes[tick]!;
      tick = (tick + 1) % TICKS;
      let acc = 0;
      for (let k = 0; k < crossings; k++) {
        const first = k * perCrossing;
        // The edge writes each payload straight into the batcher; here one copy per crossing.
        codesView.set(codes.subarray(first * SAMPLES_PER_FRAME, (first + perCrossing) * SAMPLES_PER_FRAME));
        for (let i = 0; i < perCrossing; i++) slotsView[i] = first + i;
        batcher.process(perCrossing);
        acc += batcher.events[0]!;
      }
      consume(acc);
    } };
  });
  // The same job in plain JS: one decode + one VAD step per frame, each call with its own VAD state.
  const vads = Array.from({ length: CALLS }, () => new JsEnergyVad());
  const pcm = new Int16Array(SAMPLES_PER_FRAME);
  let jsTick = 0;
  ops.push({ framesPerOp: CALLS, op: () => {
    const codes = tickCodes[jsTick]!;
    jsTick = (jsTick + 1) % TICKS;
    let acc = 0;
    for (let c = 0; c < CALLS; c++) {
      jsMulawDecodeInto(codes.subarray(c * SAMPLES_PER_FRAME, (c + 1) * SAMPLES_PER_FRAME), pcm);
      acc += vads[c]!.process(pcm).event;
    }
    consume(acc);
  } });
  const timings = timeGroup(ops, timing);

  const rows: SpeedRow[] = [];
  const shares: { perCrossing: number; nsPerFrame: number }[] = [];
  PER_CROSSING.forEach((perCrossing, k) => {
    const nsPerFrame = timings[k]!.nsPerFrame;
    rows.push({ group: groupOf(perCrossing), impl: 'native InboundBatcher.process', isNative: true, nsPerFrame, note: 'incl. copying the payload bytes in' });
    shares.push({ perCrossing, nsPerFrame });
  });
  rows.push({ group: groupOf(1000), impl: 'plain JS: table decode + JS energy VAD', isNative: false, nsPerFrame: timings[PER_CROSSING.length]!.nsPerFrame, note: 'per frame, no crossing' });

  const at1000 = shares.find((s) => s.perCrossing === 1000)!;
  const share = (ns: number): number => (ns * FRAMES_PER_SECOND_TARGET) / 1e9;
  return {
    title: `Batched inbound dispatch (${CALLS} calls, one frame each per tick)`,
    table: speedTable(rows),
    targets: [{
      target: 'batched dispatch < 10% of one core at 50,000 frames/s',
      measured: `${(100 * share(at1000.nsPerFrame)).toFixed(1)}% of one core (${fmtNs(at1000.nsPerFrame)} per frame at 1,000 frames per crossing)`,
      isMet: share(at1000.nsPerFrame) < CORE_SHARE_TARGET,
    }],
    notes: [
      `CPU share of one core at 50,000 frames/s: ${shares.map((s) => `${s.perCrossing}/crossing ${(100 * share(s.nsPerFrame)).toFixed(1)}%`).join(', ')}.`,
    ],
  };
}
