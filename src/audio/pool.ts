// The Piscina pool: the DSP addon in worker threads for bulk work that should not stall an edge thread's 20 ms
// clock (a whole utterance to a 16 kHz WAV for ASR, a whole TTS reply to 8 kHz mu-law frames).
// Never a task per frame: a crossing costs far more than the work on 160 bytes. Buffers are transferred both ways.
// Every job has a deadline (queue wait included) and the queue is bounded: a stuck or swamped pool must fail a job
// fast with a DspJobError (which the pipeline treats like a provider failure: the caller hears the fallback line),
// never stall a reply with no error. A job that times out while running takes its worker with it (Piscina replaces
// the thread), so a wedged thread does not stay wedged.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { isSampleRateHz, SUPPORTED_RATES_HZ, type SampleRateHz } from './dsp.js';

export interface DspPoolOptions {
  /** Worker threads. Default: max(1, cores - 1), leaving cores for the edge. */
  threads?: number;
  /** Longest a job may take, queue wait included (default DEFAULT_DSP_JOB_TIMEOUT_MS). */
  jobTimeoutMs?: number;
  /** Jobs that may wait for a free thread; one more is refused (default DEFAULT_DSP_MAX_QUEUE). */
  maxQueue?: number;
  /** Input bytes the pool may hold in jobs not yet finished (waiting or running); a job that would pass it is refused,
   * unless the pool holds nothing (default DEFAULT_DSP_MAX_PENDING_BYTES). */
  maxPendingBytes?: number;
  /** The worker module (tests: a worker that stalls; bench/dsp: one with a job of its own); default the compiled
   * dsp-worker.js. */
  workerFilename?: string;
}

export const DEFAULT_DSP_THREADS = Math.max(1, availableParallelism() - 1);
const MAX_DSP_THREADS = 256;
/** A whole 30 s turn or a 6 s reply takes a few ms in a thread; a job still not done after 1 s is stuck, and the
 * turn's own deadline (TURN_DEADLINE_MS) usually gives up before this. */
export const DEFAULT_DSP_JOB_TIMEOUT_MS = 1000;
/** Per pool (one per edge thread, serving all of its calls). A job takes about 1-3 ms (a 4.6 s turn to a WAV: 2.3 ms;
 * 2 s of 24 kHz speech to mu-law: 1.2 ms), so 512 waiting jobs are about one job deadline of work: calls whose turns
 * end together (a burst of 50 within 300 ms measured 64 waiting on a loaded machine) are queued, not refused, and a
 * queue deeper than that would only time out. Memory is bounded by DEFAULT_DSP_MAX_PENDING_BYTES, not by this count. */
export const DEFAULT_DSP_MAX_QUEUE = 512;
/** 64 MiB of input in jobs not yet finished: 512 turns of 8 s, or 22 of the longest TTS sentence (60 s at 24 kHz). */
export const DEFAULT_DSP_MAX_PENDING_BYTES = 64 * 1024 * 1024;

/** Why a pool job failed: its deadline passed, the queue was full, the caller's signal aborted it, or the worker
 * threw or died. */
export type DspJobFailure = 'timeout' | 'queue-full' | 'aborted' | 'failed';

export class DspJobError extends Error {
  override readonly name = 'DspJobError';
  constructor(message: string, readonly job: string, readonly kind: DspJobFailure, options?: { cause?: unknown }) {
    super(message, options);
  }
}

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
export function owned(view: Int16Array): Int16Array;
export function owned(view: Uint8Array): Uint8Array;
export function owned(view: Int16Array | Uint8Array): Int16Array | Uint8Array {
  const isWhole = view.buffer instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
  if (isWhole) return view;
  return view instanceof Int16Array ? new Int16Array(view) : new Uint8Array(view);
}

/** What a wrong argument was, for a TypeError's message ("Uint8Array", "null", "string"). */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  return typeof value;
}

function checkInteger(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max} (got ${String(value)})`);
  }
  return value;
}

export class DspPool {
  readonly threads: number;
  readonly jobTimeoutMs: number;
  readonly maxQueue: number;
  readonly maxPendingBytes: number;
  private readonly piscina: Piscina;
  private pendingBytesNow = 0;

  constructor(options: DspPoolOptions = {}) {
    this.threads = checkInteger('threads', options.threads ?? DEFAULT_DSP_THREADS, 1, MAX_DSP_THREADS);
    this.jobTimeoutMs = checkInteger('jobTimeoutMs', options.jobTimeoutMs ?? DEFAULT_DSP_JOB_TIMEOUT_MS, 1, 600_000);
    this.maxQueue = checkInteger('maxQueue', options.maxQueue ?? DEFAULT_DSP_MAX_QUEUE, 1, 1_000_000);
    this.maxPendingBytes = checkInteger('maxPendingBytes', options.maxPendingBytes ?? DEFAULT_DSP_MAX_PENDING_BYTES, 1, 2 ** 40);
    this.piscina = new Piscina({
      filename: options.workerFilename ?? workerFilename(), minThreads: this.threads, maxThreads: this.threads, maxQueue: this.maxQueue,
    });
  }

  /** Jobs waiting for a free thread. */
  get queued(): number {
    return this.piscina.queueSize;
  }

  /** Input bytes held by jobs not yet finished (waiting or running). */
  get pendingBytes(): number {
    return this.pendingBytesNow;
  }

  /**
   * Runs one job with the pool's deadline joined with `signal`; every failure becomes a DspJobError. Whatever was
   * listed in `transferList` is detached only once the job is handed to a thread. (Protected: bench/dsp's pool adds
   * a job of its own to measure a crossing.)
   */
  protected async run(name: string, task: object, transferList: ArrayBuffer[], signal: AbortSignal | undefined, inputBytes = 0): Promise<unknown> {
    if (signal?.aborted === true) {
      throw new DspJobError(`dsp job ${name}: aborted before it started`, name, 'aborted', { cause: signal.reason });
    }
    // Piscina's own maxQueue does not hold for tasks that carry a signal (they wait in a queue it does not bound), so
    // the bound is checked here as well
    if (this.piscina.queueSize >= this.maxQueue) {
      throw new DspJobError(`dsp job ${name}: refused, ${this.maxQueue} jobs already waiting`, name, 'queue-full');
    }
    if (this.pendingBytesNow > 0 && this.pendingBytesNow + inputBytes > this.maxPendingBytes) {
      throw new DspJobError(`dsp job ${name}: refused, its ${inputBytes} bytes would pass the ${this.maxPendingBytes} bytes the pool may hold (${this.pendingBytesNow} held)`, name, 'queue-full');
    }
    const controller = new AbortController();
    let isTimedOut = false;
    const timer = setTimeout(() => {
      isTimedOut = true;
      controller.abort(new Error(`dsp job ${name}: no result within ${this.jobTimeoutMs} ms`));
    }, this.jobTimeoutMs);
    const onAbort = (): void => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.pendingBytesNow += inputBytes;
    try {
      return await this.piscina.run(task, { name, transferList, signal: controller.signal });
    } catch (error) {
      if (isTimedOut) {
        throw new DspJobError(`dsp job ${name}: no result within ${this.jobTimeoutMs} ms (${this.piscina.queueSize} queued)`, name, 'timeout', { cause: error });
      }
      if (controller.signal.aborted) throw new DspJobError(`dsp job ${name}: aborted`, name, 'aborted', { cause: signal?.reason });
      const message = error instanceof Error ? error.message : String(error);
      if (/queue is at limit|no task queue/i.test(message)) {
        throw new DspJobError(`dsp job ${name}: refused, ${this.maxQueue} jobs already waiting`, name, 'queue-full', { cause: error });
      }
      throw new DspJobError(`dsp job ${name}: ${message}`, name, 'failed', { cause: error });
    } finally {
      this.pendingBytesNow -= inputBytes;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A caller's utterance (8 kHz PCM) -> 16 kHz mono 16-bit WAV file bytes, for ASR. The input buffer is
   * transferred (detached here) when the array covers all of it; otherwise the array is copied first. `signal` (the
   * turn's) aborts it. */
  async utteranceToWav16k(pcm8k: Int16Array, signal?: AbortSignal): Promise<Uint8Array> {
    if (!(pcm8k instanceof Int16Array)) throw new TypeError(`pcm8k must be an Int16Array (got ${describe(pcm8k)})`);
    const pcm = owned(pcm8k);
    return (await this.run('utteranceToWav16k', { pcm }, [pcm.buffer as ArrayBuffer], signal, pcm.byteLength)) as Uint8Array;
  }

  /** Synthesized PCM at any supported rate -> 8 kHz mu-law, length a multiple of 160 (last frame padded with
   * 0xFF). The input buffer is transferred like utteranceToWav16k's. */
  async pcmToMulawFrames(pcm: Int16Array, rateHz: SampleRateHz, signal?: AbortSignal): Promise<Uint8Array> {
    if (!(pcm instanceof Int16Array)) throw new TypeError(`pcm must be an Int16Array (got ${describe(pcm)})`);
    if (!isSampleRateHz(rateHz)) {
      throw new RangeError(`rateHz must be one of ${SUPPORTED_RATES_HZ.join(', ')} (got ${String(rateHz)})`);
    }
    const input = owned(pcm);
    return (await this.run('pcmToMulawFrames', { pcm: input, rateHz }, [input.buffer as ArrayBuffer], signal, input.byteLength)) as Uint8Array;
  }

  async destroy(): Promise<void> {
    await this.piscina.destroy();
  }
}
