// Playout rings come from the thread's pool: a call takes one block at start and gives it back at its end (so later
// calls reuse it and no ring memory is allocated per call under load); an utterance longer than the block moves the
// playout to a ring of its own, gives the block back, and plays every frame in order. A reused block never leaks a
// previous call's audio: only written bytes are sent, and a short last frame is padded with silence.
import { describe, expect, it } from 'vitest';
import { FrameRingPool } from '../../src/call/frame-ring-pool.js';
import { Playout } from '../../src/call/playout.js';
import { createThreadCallStats } from '../../src/call/types.js';
import { FakeTransport } from './support.js';

function newPlayout(pool: FrameRingPool, transport = new FakeTransport()) {
  return { transport, playout: new Playout({ transport, streamSid: 'MZpool', leadFrames: 3, stats: createThreadCallStats(), ringPool: pool }) };
}

describe('FrameRingPool', () => {
  it('hands out distinct blocks cut from slabs, and takes back only its own, once', () => {
    const pool = new FrameRingPool({ blockFrames: 8, blocksPerSlab: 4 });
    const blocks = Array.from({ length: 5 }, () => pool.acquire());
    expect(new Set(blocks).size).toBe(5);
    for (const block of blocks) expect(block.length).toBe(8 * 160);
    expect(pool.stats).toEqual({ slabs: 2, blocksInUse: 5, blocksFree: 3 });
    pool.release(blocks[0]!);
    pool.release(blocks[0]!); // twice: ignored
    pool.release(new Uint8Array(8 * 160)); // not from this pool: ignored
    expect(pool.stats).toEqual({ slabs: 2, blocksInUse: 4, blocksFree: 4 });
    expect(pool.acquire()).toBe(blocks[0]);
  });

  it('rejects sizes it cannot use', () => {
    expect(() => new FrameRingPool({ blockFrames: 2 })).toThrow(RangeError);
    expect(() => new FrameRingPool({ blocksPerSlab: 0 })).toThrow(/blocksPerSlab/);
  });
});

describe('Playout rings from the pool', () => {
  it('takes a block at start and gives it back at the end, so the next call reuses it', () => {
    const pool = new FrameRingPool({ blockFrames: 16, blocksPerSlab: 2 });
    const a = newPlayout(pool);
    expect(pool.stats.blocksInUse).toBe(1);
    a.playout.dispose();
    a.playout.dispose();
    expect(pool.stats).toEqual({ slabs: 1, blocksInUse: 0, blocksFree: 2 });
    for (let i = 0; i < 10; i++) newPlayout(pool).playout.dispose();
    expect(pool.stats.slabs).toBe(1);
  });

  it('moves to a ring of its own when an utterance outgrows the block, and plays every frame in order', () => {
    const pool = new FrameRingPool({ blockFrames: 8, blocksPerSlab: 1 });
    const { transport, playout } = newPlayout(pool);
    const audio = new Uint8Array(20 * 160);
    for (let f = 0; f < 20; f++) audio.fill(f, f * 160, (f + 1) * 160);
    playout.play(audio, 'long');
    expect(pool.stats.blocksInUse).toBe(0);
    for (let tick = 0; tick < 30; tick++) playout.onTick(tick, tick * 20);
    const media = transport.media();
    expect(media.map((m) => m.payload[0])).toEqual(Array.from({ length: 20 }, (_, f) => f));
    expect(transport.marks()).toEqual(['long']);
    playout.dispose();
    expect(pool.stats).toEqual({ slabs: 1, blocksInUse: 0, blocksFree: 1 });
  });

  it('never sends what a previous call left in a reused block', () => {
    const pool = new FrameRingPool({ blockFrames: 8, blocksPerSlab: 1 });
    const first = newPlayout(pool);
    first.playout.play(new Uint8Array(8 * 160).fill(0x42), 'old');
    first.playout.dispose();
    const second = newPlayout(pool);
    second.playout.play(new Uint8Array(100).fill(0x10), 'new'); // less than one frame
    for (let tick = 0; tick < 5; tick++) second.playout.onTick(tick, tick * 20);
    const media = second.transport.media();
    expect(media).toHaveLength(1);
    expect(Array.from(media[0]!.payload.subarray(0, 100))).toEqual(new Array(100).fill(0x10));
    expect(Array.from(media[0]!.payload.subarray(100))).toEqual(new Array(60).fill(0xff));
  });
});
