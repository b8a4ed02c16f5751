// The DSP pool with one job more, for the crossing benchmark (pool.ts): a batch decode of mu-law frames, sent through
// the production pool's own job path (deadline, queue bound, transfer), so that what is measured is what a real
// pool job costs. Its worker is decode-worker.ts (compiled): the production jobs plus decodeBatch.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, DspPool, owned, type DspPoolOptions } from '../../src/audio/pool.js';
import { SAMPLES_PER_FRAME } from '../../src/twilio/media-format.js';

/** The compiled worker: the sibling .js in dist, or dist's copy when this module runs from its .ts source (vitest). */
function decodeWorkerFilename(): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../dist/bench/dsp/decode-worker.js', here) : new URL('./decode-worker.js', here);
  const path = fileURLToPath(url);
  if (!existsSync(path)) throw new Error(`ai-crmd bench: the decode pool's worker ${path} is missing; build it with \`npm run build\` (tsc)`);
  return path;
}

export class DecodeBatchPool extends DspPool {
  constructor(options: Omit<DspPoolOptions, 'workerFilename'> = {}) {
    super({ ...options, workerFilename: decodeWorkerFilename() });
  }

  /** Mu-law frames (length a multiple of 160) -> PCM + per-frame dBFS levels, in a pool thread. Both results are
   * views of one transferred buffer; the input is transferred when the array covers all of its buffer. */
  async decodeBatch(codes: Uint8Array, signal?: AbortSignal): Promise<{ pcm: Int16Array; levelsDbfs: Float32Array }> {
    if (!(codes instanceof Uint8Array)) throw new TypeError(`codes must be a Uint8Array (got ${describe(codes)})`);
    if (codes.length % SAMPLES_PER_FRAME !== 0) {
      throw new RangeError(`codes length must be a multiple of ${SAMPLES_PER_FRAME} (got ${codes.length})`);
    }
    const input = owned(codes);
    const frames = input.length / SAMPLES_PER_FRAME;
    const out = (await this.run('decodeBatch', { codes: input }, [input.buffer as ArrayBuffer], signal)) as Uint8Array;
    return {
      levelsDbfs: new Float32Array(out.buffer, out.byteOffset, frames),
      pcm: new Int16Array(out.buffer, out.byteOffset + frames * 4, frames * SAMPLES_PER_FRAME),
    };
  }
}
