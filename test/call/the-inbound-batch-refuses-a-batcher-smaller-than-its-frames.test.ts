// InboundBatch hands each sink a view of the batcher's decoded output per batch position, made once: a batcher whose
// inputs or outputs hold fewer than maxFrames frames is refused at construction (a view past its end would be a short
// frame, copied silently into a turn).
import { describe, expect, it } from 'vitest';
import { InboundBatch, type InboundBatcherLike } from '../../src/call/inbound.js';

function batcher(frames: { codes: number; slots: number; pcm: number }): InboundBatcherLike {
  return {
    allocSlot: () => 0, freeSlot: () => undefined, process: () => undefined,
    codes: new Uint8Array(frames.codes * 160), slots: new Uint32Array(frames.slots), pcm: new Int16Array(frames.pcm * 160),
    levelsDbfs: new Float32Array(frames.slots), events: new Uint8Array(frames.slots),
  };
}
const counters = () => ({ dspBatches: 0, dspFrames: 0, inboundStalePushes: 0, inboundSinkErrors: 0 });

describe('InboundBatch', () => {
  it('takes a batcher that holds maxFrames frames in each of its arrays', () => {
    expect(new InboundBatch(batcher({ codes: 8, slots: 8, pcm: 8 }), 8, counters()).maxFrames).toBe(8);
  });

  it('refuses one whose codes, slots or decoded output hold fewer', () => {
    for (const short of [{ codes: 7, slots: 8, pcm: 8 }, { codes: 8, slots: 7, pcm: 8 }, { codes: 8, slots: 8, pcm: 7 }]) {
      expect(() => new InboundBatch(batcher(short), 8, counters())).toThrow(/fewer than maxFrames \(8\)/);
    }
  });
});
