// The batched inbound entry: several calls' frames interleaved in one process() per tick give exactly what
// separate mulawDecode + Vad instances give, each slot keeping its own VAD state and options.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { InboundBatcher, mulawDecode, SAMPLES_PER_FRAME_8K, Vad, VadEvent, type VadOptions } from '../../src/audio/dsp.js';

const FRAME = SAMPLES_PER_FRAME_8K;
const codesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(`../fixtures/${name}.8k.ul`, import.meta.url)));

interface FrameOut { event: number; speech: number; level: number; pcm: number[] }

const separately = (codes: Uint8Array, options: VadOptions): FrameOut[] => {
  const vad = new Vad(options);
  const out: FrameOut[] = [];
  for (let f = 0; (f + 1) * FRAME <= codes.length; f++) {
    const pcm = mulawDecode(codes.subarray(f * FRAME, (f + 1) * FRAME));
    const r = vad.process(pcm);
    out.push({ event: r.event, speech: r.isSpeech ? 1 : 0, level: r.levelDbfs, pcm: Array.from(pcm) });
  }
  return out;
};

describe('InboundBatcher', () => {
  it('gives every interleaved call the same results as its own Vad', () => {
    const calls = [
      { codes: codesOf('conv-en'), options: {} },
      { codes: codesOf('conv-he'), options: { hangoverMs: 300 } },
      { codes: codesOf('conv-en-noisy'), options: { marginDb: 6, onsetMs: 60 } },
      { codes: codesOf('conv-en').subarray(160 * 37), options: {} }, // same audio, another phase
    ];
    const batcher = new InboundBatcher({ maxSlots: 8, maxFramesPerTick: 16 });
    const slots = calls.map((c) => batcher.allocSlot(c.options));
    expect(new Set(slots).size).toBe(calls.length);
    const got: FrameOut[][] = calls.map(() => []);
    const next = calls.map(() => 0);
    const framesOf = calls.map((c) => Math.floor(c.codes.length / FRAME));
    let tick = 0;
    while (next.some((n, i) => n < framesOf[i]!)) {
      // Varying order and, every third tick, two frames of a call in one tick (a late tick catching up).
      let count = 0;
      const order = calls.map((_, i) => (i + tick) % calls.length);
      for (const i of order) {
        const frames = tick % 3 === 0 && i === order[0] ? 2 : 1;
        for (let k = 0; k < frames && next[i]! < framesOf[i]!; k++) {
          const f = next[i]!++;
          batcher.codes.set(calls[i]!.codes.subarray(f * FRAME, (f + 1) * FRAME), count * FRAME);
          batcher.slots[count] = slots[i]!;
          count++;
        }
      }
      batcher.process(count);
      for (let j = 0; j < count; j++) {
        const i = slots.indexOf(batcher.slots[j]!);
        got[i]!.push({
          event: batcher.events[j]!, speech: batcher.speech[j]!, level: batcher.levelsDbfs[j]!,
          pcm: Array.from(batcher.pcm.subarray(j * FRAME, (j + 1) * FRAME)),
        });
      }
      tick++;
    }
    calls.forEach((c, i) => {
      const expected = separately(c.codes, c.options);
      expect(got[i]!.length).toBe(expected.length);
      expect(got[i]).toEqual(expected);
      expect(expected.filter((f) => f.event === VadEvent.SpeechStart).length).toBeGreaterThanOrEqual(2);
    });
  });

  it('exposes preallocated views of the right sizes', () => {
    const b = new InboundBatcher({ maxSlots: 3, maxFramesPerTick: 5 });
    expect(b.codes.length).toBe(5 * 160);
    expect(b.pcm.length).toBe(5 * 160);
    expect(b.slots.length).toBe(5);
    expect(b.levelsDbfs.length).toBe(5);
    expect(b.events.length).toBe(5);
    expect(b.speech.length).toBe(5);
    const codes = b.codes;
    b.allocSlot();
    b.process(0);
    expect(b.codes).toBe(codes); // the same arrays for the batcher's life
  });

  it('reuses freed slots, and a reused slot starts with fresh VAD state', () => {
    const b = new InboundBatcher({ maxSlots: 2, maxFramesPerTick: 1 });
    const a = b.allocSlot();
    const c = b.allocSlot();
    expect([a, c].sort()).toEqual([0, 1]);
    expect(b.slotsInUse).toBe(2);
    // Drive slot a into a turn...
    b.codes.fill(0xff);
    b.slots[0] = a;
    b.process(1);
    b.codes.fill(0x10); // loud
    for (let i = 0; i < 5; i++) b.process(1);
    expect(b.speech[0]).toBe(1);
    b.freeSlot(a);
    expect(b.slotsInUse).toBe(1);
    const again = b.allocSlot();
    expect(again).toBe(a);
    b.process(1); // fresh state: the first (loud) frame seeds the floor, no turn
    expect(b.speech[0]).toBe(0);
    expect(b.events[0]).toBe(VadEvent.None);
  });

  it('decodes every code like mulawDecode', () => {
    const b = new InboundBatcher({ maxSlots: 1, maxFramesPerTick: 2 });
    const slot = b.allocSlot();
    for (let i = 0; i < 320; i++) b.codes[i] = i % 256;
    b.slots[0] = slot;
    b.slots[1] = slot;
    b.process(2);
    expect(Array.from(b.pcm)).toEqual(Array.from(mulawDecode(b.codes)));
  });
});
