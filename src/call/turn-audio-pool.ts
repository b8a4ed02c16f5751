// Where callers' turns are collected: 1 s chunks of 8 kHz PCM, shared by every call of a thread. A turn takes chunks
// as it grows and gives them back when it ends (its audio copied out into the turn's own array first). Only the calls
// that are speaking hold chunks, instead of every call keeping a buffer as long as its longest turn, and a call's
// first turn grows without reallocating. Each typed array's memory counts as V8 external memory, and fast growth of
// it makes V8 run full mark-compacts (each a pause of every call on the thread), so fewer, reused chunks matter.
import { SAMPLES_PER_FRAME } from '../twilio/media-format.js';

export const DEFAULT_CHUNK_MS = 1000;
/** Free chunks a pool keeps for reuse (16 KB each at 1 s); past it, returned chunks are left to the GC. */
export const DEFAULT_MAX_FREE_CHUNKS = 4096;
const SAMPLES_PER_MS = 8;

export interface TurnAudioPoolOptions {
  /** Chunk length; a whole number of 20 ms frames. Default 1000. */
  chunkMs?: number;
  maxFreeChunks?: number;
}

export class TurnAudioPool {
  /** Samples per chunk (a multiple of 160, so that a frame never straddles two chunks). */
  readonly chunkSamples: number;
  private readonly maxFreeChunks: number;
  private readonly free: Int16Array[] = [];
  private taken = 0;
  private given = 0;

  constructor(options: TurnAudioPoolOptions = {}) {
    const chunkMs = options.chunkMs ?? DEFAULT_CHUNK_MS;
    if (!Number.isInteger(chunkMs) || chunkMs < 20 || chunkMs % 20 !== 0) {
      throw new RangeError(`options.chunkMs must be a positive multiple of 20 (got ${chunkMs})`);
    }
    const maxFreeChunks = options.maxFreeChunks ?? DEFAULT_MAX_FREE_CHUNKS;
    if (!Number.isInteger(maxFreeChunks) || maxFreeChunks < 0) {
      throw new RangeError(`options.maxFreeChunks must be a non-negative integer (got ${maxFreeChunks})`);
    }
    this.chunkSamples = chunkMs * SAMPLES_PER_MS;
    this.maxFreeChunks = maxFreeChunks;
    if (this.chunkSamples % SAMPLES_PER_FRAME !== 0) throw new RangeError('a chunk must hold whole frames');
  }

  /** Chunks waiting for reuse. */
  get freeChunks(): number {
    return this.free.length;
  }

  /** Chunks taken and not given back: the turn audio the thread's calls hold right now. */
  get chunksInUse(): number {
    return this.taken - this.given;
  }

  /** A chunk (its contents are whatever the last user left). Allocates only when none is free. */
  take(): Int16Array {
    this.taken++;
    return this.free.pop() ?? new Int16Array(this.chunkSamples);
  }

  /** Gives a chunk back for reuse. */
  give(chunk: Int16Array): void {
    this.given++;
    if (chunk.length === this.chunkSamples && this.free.length < this.maxFreeChunks) this.free.push(chunk);
  }
}

/** The pool of this thread (a worker thread has its own module instance, so its own pool). */
export const threadTurnAudioPool = new TurnAudioPool();
