// The Piscina pool: the DSP addon in worker threads for bulk work that should not stall an edge thread's 20 ms
// clock (a whole utterance to a 16 kHz WAV for ASR, a whole TTS reply to 8 kHz mu-law frames, batch decodes).
// Never a task per frame: a crossing costs far more than the work on 160 bytes. Buffers are transferred both ways.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { isSampleRateHz, SAMPLES_PER_FRAME_8K, SUPPORTED_RATES_HZ, type SampleRateHz } from './dsp.js';

export interface DspPoolOptions {
  /** Worker threads. Default: max(1, cores - 1), leaving cores for the edge. */
  threads?: number;
}

export const DEFAULT_DSP_THREADS = Math.max(1, availableParallelism() - 1);
const MAX_DSP_THREADS = 256;

/** The compiled worker: the sibling .js in dist, or dist's copy when this module runs from its .ts source (vitest). */
function workerFilename(): string {
  const here = import.meta.url;
  const url = here.endsWith('.ts')
    ? new URL('../../dist/src/audio/dsp-worker.js', here)
    : new URL('./dsp-worker.js', here);
  const path = fileURLToPath(url);
  if (!existsSync(path)) {
    throw new Error(`ai-crmd: the DSP pool's worker ${path} is missing; build it with \`npm run build\` (tsc)`);
  }
  return path;
}

/** `view` itself when it covers all of its ArrayBuffer (which is then transferred), else a copy: never detach memory
 * the caller did not hand over (a Node Buffer from the shared pool, a window into a larger buffer). */
function owned(view: Int16Array): Int16Array;
function owned(view: Uint8Array): Uint8Array;
function owned(view: Int16Array | Uint8Array): Int16Array | Uint8Array {
  const isWhole = view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
  if (isWhole) return view;
  return view instanceof Int16Array ? new Int16Array(view) : new Uint8Array(view);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

export class DspPool {
  readonly threads: number;
  private readonly piscina: Piscina;

  constructor(options: DspPoolOptions = {}) {
    const threads = options.threads ?? DEFAULT_DSP_THREADS;
    if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > MAX_DSP_THREADS) {
      throw new RangeError(`threads must be an integer from 1 to ${MAX_DSP_THREADS} (got ${String(threads)})`);
    }
    this.threads = threads;
    this.piscina = new Piscina({ filename: workerFilename(), minThreads: threads, maxThreads: threads });
  }

  /** A caller's utterance (8 kHz PCM) -> 16 kHz mono 16-bit WAV file bytes, for ASR. The input buffer is
   * transferred (detached here) when the array covers all of it; otherwise the array is copied first. */
  async utteranceToWav16k(pcm8k: Int16Array): Promise<Uint8Array> {
    if (!(pcm8k instanceof Int16Array)) throw new TypeError(`pcm8k must be an Int16Array (got ${describe(pcm8k)})`);
    const pcm = owned(pcm8k);
    return (await this.piscina.run({ pcm }, { name: 'utteranceToWav16k', transferList: [pcm.buffer as ArrayBuffer] })) as Uint8Array;
  }

  /** Synthesized PCM at any supported rate -> 8 kHz mu-law, length a multiple of 160 (last frame padded with
   * 0xFF). The input buffer is transferred like utteranceToWav16k's. */
  async pcmToMulawFrames(pcm: Int16Array, rateHz: SampleRateHz): Promise<Uint8Array> {
    if (!(pcm instanceof Int16Array)) throw new TypeError(`pcm must be an Int16Array (got ${describe(pcm)})`);
    if (!isSampleRateHz(rateHz)) {
      throw new RangeError(`rateHz must be one of ${SUPPORTED_RATES_HZ.join(', ')} (got ${String(rateHz)})`);
    }
    const input = owned(pcm);
    return (await this.piscina.run({ pcm: input, rateHz }, {
      name: 'pcmToMulawFrames', transferList: [input.buffer as ArrayBuffer],
    })) as Uint8Array;
  }

  /** Stateless batched decode (bench + bulk): mu-law frames (length a multiple of 160) -> PCM + per-frame dBFS
   * levels. Both results are views of one transferred buffer. */
  async decodeBatch(codes: Uint8Array): Promise<{ pcm: Int16Array; levelsDbfs: Float32Array }> {
    if (!(codes instanceof Uint8Array)) throw new TypeError(`codes must be a Uint8Array (got ${describe(codes)})`);
    if (codes.length % SAMPLES_PER_FRAME_8K !== 0) {
      throw new RangeError(`codes length must be a multiple of ${SAMPLES_PER_FRAME_8K} (got ${codes.length})`);
    }
    const input = owned(codes);
    const frames = input.length / SAMPLES_PER_FRAME_8K;
    const out = (await this.piscina.run({ codes: input }, {
      name: 'decodeBatch', transferList: [input.buffer as ArrayBuffer],
    })) as Uint8Array;
    return {
      levelsDbfs: new Float32Array(out.buffer, out.byteOffset, frames),
      pcm: new Int16Array(out.buffer, out.byteOffset + frames * 4, frames * SAMPLES_PER_FRAME_8K),
    };
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}
