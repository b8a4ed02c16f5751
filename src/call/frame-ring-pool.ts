// Playout rings for the calls of one thread. Each call's playout starts with one block (256 frames: 5.12 s of
// audio, 40 KB) taken when the call starts and given back when it ends; blocks are cut from slabs of 64. Why: a
// typed array's memory counts as V8 external memory, and hundreds of calls growing their own rings at once (each
// call's first reply) make V8 run full mark-compacts back to back, each a pause of every call on the thread. With
// the pool, ring memory is allocated while calls connect, 64 blocks at a time, and later calls reuse it.
// A block that comes back may still hold a previous call's audio: the playout only ever sends bytes it wrote.
// Memory: slabs live as long as the thread, so the pool holds blocks for the thread's peak of concurrent calls.
import { FRAME_BYTES } from '../twilio/media-format.js';

export const DEFAULT_BLOCK_FRAMES = 256;
export const DEFAULT_BLOCKS_PER_SLAB = 64;

export interface FrameRingPoolOptions {
  /** Frames per block (a call's first ring). Default 256. */
  blockFrames?: number;
  /** Blocks per slab (one allocation). Default 64. */
  blocksPerSlab?: number;
}

export interface FrameRingPoolStats {
  slabs: number;
  blocksInUse: number;
  blocksFree: number;
}

export class FrameRingPool {
  readonly blockFrames: number;
  private readonly blockBytes: number;
  private readonly blocksPerSlab: number;
  private readonly free: Uint8Array[] = [];
  private readonly inUse = new Set<Uint8Array>();
  private slabs = 0;

  constructor(options: FrameRingPoolOptions = {}) {
    const blockFrames = options.blockFrames ?? DEFAULT_BLOCK_FRAMES;
    const blocksPerSlab = options.blocksPerSlab ?? DEFAULT_BLOCKS_PER_SLAB;
    if (!Number.isInteger(blockFrames) || blockFrames < 4 || blockFrames > 65_536) {
      throw new RangeError(`options.blockFrames must be an integer from 4 to 65536 (got ${blockFrames})`);
    }
    if (!Number.isInteger(blocksPerSlab) || blocksPerSlab < 1 || blocksPerSlab > 4096) {
      throw new RangeError(`options.blocksPerSlab must be an integer from 1 to 4096 (got ${blocksPerSlab})`);
    }
    this.blockFrames = blockFrames;
    this.blockBytes = blockFrames * FRAME_BYTES;
    this.blocksPerSlab = blocksPerSlab;
  }

  /** A block of blockFrames x 160 bytes (contents undefined); a new slab only when none is free. */
  acquire(): Uint8Array {
    let block = this.free.pop();
    if (block === undefined) {
      this.addSlab();
      block = this.free.pop()!;
    }
    this.inUse.add(block);
    return block;
  }

  /** Gives a block back. A block that is not out of this pool (or already given back) is ignored. */
  release(block: Uint8Array): void {
    if (this.inUse.delete(block)) this.free.push(block);
  }

  get stats(): FrameRingPoolStats {
    return { slabs: this.slabs, blocksInUse: this.inUse.size, blocksFree: this.free.length };
  }

  private addSlab(): void {
    const slab = new ArrayBuffer(this.blockBytes * this.blocksPerSlab);
    // pushed last-first, so that blocks are handed out in address order
    for (let i = this.blocksPerSlab - 1; i >= 0; i--) this.free.push(new Uint8Array(slab, i * this.blockBytes, this.blockBytes));
    this.slabs++;
  }
}

/** The pool of this thread (a worker thread has its own module instance, so its own pool). */
export const threadFrameRingPool = new FrameRingPool();
