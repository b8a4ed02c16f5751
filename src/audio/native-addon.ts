// The one module that loads the native addon (build/Release/ai_crmd_dsp.node) and types what it exports: the DSP
// kernels (used through dsp.ts) and the edge's reader of canonical media messages (used by twilio/media-reader.ts).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeResampler {
  readonly fromHz: number;
  readonly toHz: number;
  readonly delaySamples: number;
  outputLengthFor(inputLength: number): number;
  process(input: Int16Array): Int16Array;
  processInto(input: Int16Array, out: Int16Array): number;
  flush(): Int16Array;
  reset(): void;
}

export interface NativeVad {
  process(frame: Int16Array, out: Float32Array): number;
  reset(): void;
}

export interface NativeInboundBatcher {
  readonly codes: Uint8Array;
  readonly slots: Uint32Array;
  readonly pcm: Int16Array;
  readonly levelsDbfs: Float32Array;
  readonly events: Uint8Array;
  readonly speech: Uint8Array;
  readonly maxSlots: number;
  readonly maxFramesPerTick: number;
  readonly slotsInUse: number;
  allocSlot(params: Float64Array): number;
  freeSlot(slot: number): void;
  process(count: number): void;
}

/** A one-shot timer with sub-millisecond deadlines (native/precise-timer.h; Linux only). */
export interface NativePreciseTimer {
  /** Fires the callback once, delayMs (fractional, 0 to 2^31 - 1) from now; arming again replaces the deadline. */
  arm(delayMs: number): void;
  /** The pending deadline, if any, will not fire; a no-op when none or closed. */
  disarm(): void;
  /** Frees the timer (its fd); arm() throws afterwards. Idempotent. */
  close(): void;
  readonly isArmed: boolean;
  readonly isClosed: boolean;
}

export interface NativeAddon {
  mulawEncodeInto(pcm: Int16Array, out: Uint8Array): void;
  mulawDecodeInto(codes: Uint8Array, out: Int16Array): void;
  frameLevelsInto(pcm: Int16Array, samplesPerFrame: number, out: Float32Array): void;
  Resampler: new (fromHz: number, toHz: number) => NativeResampler;
  Vad: new (params: Float64Array) => NativeVad;
  InboundBatcher: new (maxSlots: number, maxFramesPerTick: number) => NativeInboundBatcher;
  /**
   * The edge's reader of canonical media messages (native/media-reader.h): reads `message` into the socket's `state`
   * (mediaReaderStateBytes, from offset 0 of its buffer: fields f64[8], then the 160-byte payload at
   * mediaReaderPayloadOffset, then the previous ids). 0: not canonical (the payload may be half-written); 1: read, the
   * ids are the previous message's; 2: read, new ids, their byte ranges in fields[3..6]. fields: sequenceNumber,
   * chunk, timestampMs, trackFrom, trackTo, streamSidFrom, streamSidTo.
   */
  readCanonicalMedia(message: ArrayBuffer | Uint8Array, state: Uint8Array): 0 | 1 | 2;
  /**
   * The server's outbound media frames: the base64 of mulaw[offset .. offset+160), without its "==", written into
   * frame[payloadAt .. payloadAt+214) (native/media-writer.h).
   */
  encodeMediaPayload(mulaw: Uint8Array, offset: number, frame: Uint8Array, payloadAt: number): void;
  readonly mediaReaderStateBytes: number;
  readonly mediaReaderPayloadOffset: number;
  readonly mulawKernel: MulawKernel;
  /** The kernel that sums a frame's squares for its level (native/vad.h); AI_CRMD_LEVEL_KERNEL=scalar forces 'scalar'. */
  readonly levelKernel: DspKernel;
  /** Absent where the platform has no timerfd (not Linux). */
  readonly PreciseTimer?: new (callback: () => void) => NativePreciseTimer;
}

/** Which of a DSP family's kernels the addon chose when it loaded (native/avx2-kernels.h). */
export type DspKernel = 'avx2' | 'scalar';
/** The mu-law kernel the addon chose when it loaded. */
export type MulawKernel = DspKernel;


const ADDON_RELATIVE_PATH = join('build', 'Release', 'ai_crmd_dsp.node');

/** The package root: the nearest folder above this file whose package.json is ai-crmd's (src/audio or dist/src/audio). */
function findPackageRoot(fromDir: string): string {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'ai-crmd') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    if (dirname(dir) === dir) throw new Error(`ai-crmd: package.json not found above ${fromDir}`);
  }
}

function loadAddon(): NativeAddon {
  const root = findPackageRoot(dirname(fileURLToPath(import.meta.url)));
  const path = join(root, ADDON_RELATIVE_PATH);
  if (!existsSync(path)) {
    throw new Error(`ai-crmd: native DSP addon not found at ${path}; build it with \`npm run build:native\` (node-gyp rebuild)`);
  }
  return createRequire(import.meta.url)(path) as NativeAddon;
}

export const addon: NativeAddon = loadAddon();
