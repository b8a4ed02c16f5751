// The public DSP API (also the package entry `ai-crmd/dsp`), over the native addon (native-addon.ts loads it).
// G.711 mu-law, a streaming resampler, an energy VAD and the batched per-tick inbound entry, all typed; options are
// checked here with exact messages, and the addon checks its own arguments again, so bad input is an exception.
import { FRAME_MS, MULAW_SILENCE_BYTE, SAMPLES_PER_FRAME } from '../twilio/media-format.js';

import { addon, type NativeInboundBatcher, type NativeResampler, type NativeVad, type MulawKernel } from './native-addon.js';

// ---------- constants ----------

export const SUPPORTED_RATES_HZ = [8000, 16000, 24000, 48000] as const;
export type SampleRateHz = (typeof SUPPORTED_RATES_HZ)[number];
// the frame and silence of the Media Streams format (src/twilio/media-format.ts), under the names this API has used
export { FRAME_MS };
export const SAMPLES_PER_FRAME_8K = SAMPLES_PER_FRAME; // 20 ms at 8 kHz
export const MULAW_SILENCE = MULAW_SILENCE_BYTE; // mu-law code for 0
/** The level reported for digital silence (and the lowest level the VAD reports). */
export const MIN_LEVEL_DBFS = -100;

export function isSampleRateHz(value: unknown): value is SampleRateHz {
  return SUPPORTED_RATES_HZ.includes(value as SampleRateHz);
}

// ---------- G.711 mu-law ----------

export type { MulawKernel };

/** The mu-law kernel the addon chose when it loaded: 'avx2' (x86-64 CPUs with AVX2) or 'scalar' (portable table
 * lookups). Both are byte-exact with G.191; AI_CRMD_MULAW_KERNEL=scalar in the environment forces 'scalar'. */
export const MULAW_KERNEL: MulawKernel = addon.mulawKernel;

/** G.711 mu-law encode, byte-exact with ITU-T G.191 ulaw_compress. */
export function mulawEncode(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(pcm instanceof Int16Array ? pcm.length : 0);
  addon.mulawEncodeInto(pcm, out);
  return out;
}

/** G.711 mu-law decode, identical to ITU-T G.191 ulaw_expand. */
export function mulawDecode(codes: Uint8Array): Int16Array {
  const out = new Int16Array(codes instanceof Uint8Array ? codes.length : 0);
  addon.mulawDecodeInto(codes, out);
  return out;
}

/** Encode into `out` (out.length >= pcm.length). No allocation. */
export function mulawEncodeInto(pcm: Int16Array, out: Uint8Array): void {
  addon.mulawEncodeInto(pcm, out);
}

/** Decode into `out` (out.length >= codes.length). No allocation. */
export function mulawDecodeInto(codes: Uint8Array, out: Int16Array): void {
  addon.mulawDecodeInto(codes, out);
}

// ---------- levels and PCM bytes ----------

/** RMS level of each whole frame in dBFS (20*log10(rms / 32768), at least MIN_LEVEL_DBFS). */
export function frameLevelsDbfs(pcm: Int16Array, samplesPerFrame: number = SAMPLES_PER_FRAME_8K): Float32Array {
  const frames = pcm instanceof Int16Array && Number.isInteger(samplesPerFrame) && samplesPerFrame > 0
    ? Math.floor(pcm.length / samplesPerFrame) : 0;
  const out = new Float32Array(frames);
  addon.frameLevelsInto(pcm, samplesPerFrame, out);
  return out;
}

/**
 * Little-endian 16-bit PCM bytes (a Buffer from a TTS provider, a WAV's data chunk) as an Int16Array.
 * A view when the bytes are aligned, otherwise a copy. RangeError on an odd byte length.
 */
export function pcm16FromBytes(bytes: Uint8Array): Int16Array {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array (got ${describe(bytes)})`);
  if (bytes.byteLength % 2 !== 0) {
    throw new RangeError(`16-bit PCM must have an even byte length (got ${bytes.byteLength} bytes)`);
  }
  if (bytes.byteOffset % 2 === 0) return new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Int16Array(copy.buffer);
}

// ---------- resampling ----------

function checkRate(name: string, value: unknown): SampleRateHz {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number (got ${describe(value)})`);
  if (!isSampleRateHz(value)) {
    throw new RangeError(`${name} must be one of ${SUPPORTED_RATES_HZ.join(', ')} (got ${value})`);
  }
  return value;
}

/**
 * Streaming rational resampler between any two supported rates: polyphase windowed-sinc, Kaiser window, 96 dB
 * stopband, passband to 90% of the lower Nyquist. State carries across calls: 20 ms chunks give exactly the samples
 * of one call on the whole signal. Output sample k + delaySamples lines up with input time k / toHz.
 */
export class Resampler {
  readonly fromHz: SampleRateHz;
  readonly toHz: SampleRateHz;
  /** Group delay, in output samples (an integer). */
  readonly delaySamples: number;
  private readonly native: NativeResampler;

  constructor(fromHz: SampleRateHz, toHz: SampleRateHz) {
    this.fromHz = checkRate('fromHz', fromHz);
    this.toHz = checkRate('toHz', toHz);
    this.native = new addon.Resampler(fromHz, toHz);
    this.delaySamples = this.native.delaySamples;
  }

  /** How many samples the next process() of `inputLength` samples returns. */
  outputLengthFor(inputLength: number): number {
    return this.native.outputLengthFor(inputLength);
  }

  /** Streaming: returns every output sample the input completes. */
  process(input: Int16Array): Int16Array {
    return this.native.process(input);
  }

  /** process() into `out` (at least outputLengthFor(input.length) long); returns the count written. No allocation. */
  processInto(input: Int16Array, out: Int16Array): number {
    return this.native.processInto(input, out);
  }

  /** Drains the tail (delaySamples more, or none if nothing was fed); the resampler is reset afterwards. */
  flush(): Int16Array {
    return this.native.flush();
  }

  reset(): void {
    this.native.reset();
  }
}

/**
 * A whole signal at another rate, delay removed: output sample k lines up with input time k / toHz, and the
 * length is ceil(pcm.length * toHz / fromHz). For bulk jobs (an utterance for ASR, a TTS reply).
 */
export function resampleWhole(pcm: Int16Array, fromHz: SampleRateHz, toHz: SampleRateHz): Int16Array {
  const r = new Resampler(fromHz, toHz);
  if (!(pcm instanceof Int16Array)) r.process(pcm); // throws the addon's TypeError
  const length = Math.ceil((pcm.length * toHz) / fromHz);
  const all = new Int16Array(length + r.delaySamples);
  const written = r.processInto(pcm, all);
  all.set(r.flush(), written);
  return r.delaySamples === 0 ? all : all.slice(r.delaySamples);
}

// ---------- VAD ----------

/** All optional; the defaults are tuned for 8 kHz phone audio (see VAD_DEFAULTS). */
export interface VadOptions {
  /** Frame = 20 ms at this rate. */
  sampleRateHz?: 8000 | 16000;
  /** Speech must last this long above floor + margin to start a turn (in whole frames: ceil(onsetMs / 20)). */
  onsetMs?: number;
  /** Silence this long ends a turn (in whole frames: ceil(hangoverMs / 20)). It must bridge pauses between words. */
  hangoverMs?: number;
  /** A frame is speech when its level is this far above the adaptive noise floor... */
  marginDb?: number;
  /** ...and above this absolute gate: quieter is never speech. */
  minSpeechDbfs?: number;
  /** How fast the floor rises toward louder frames. */
  floorAttackDbPerS?: number;
  /** How fast the floor falls toward quieter frames. */
  floorReleaseDbPerS?: number;
  /** The floor before the first frame; the first frame raises it when louder, so a noisy line opens no turn. */
  initialFloorDbfs?: number;
  /** The floor is never below the quietest frame of this window: a steady noise that appears mid-call ends a
   * false turn within about this window plus the hangover. 0 turns it off. */
  floorWindowMs?: number;
}

/**
 * Defaults for phone audio. On the reference calls (speech at -15..-45 dBFS, noise at -49 dBFS in the noisy one,
 * pauses between words up to ~500 ms) these give exactly the labelled turns; hangover 700 ms bridges the pauses
 * with room to spare (500 ms does not: one pause in the noisy call is that long).
 */
export const VAD_DEFAULTS: Readonly<Required<VadOptions>> = Object.freeze({
  sampleRateHz: 8000,
  onsetMs: 100,
  hangoverMs: 700,
  marginDb: 8,
  minSpeechDbfs: -45,
  floorAttackDbPerS: 3,
  floorReleaseDbPerS: 24,
  initialFloorDbfs: -50,
  floorWindowMs: 1500,
});

/** Allowed ranges, inclusive (sampleRateHz: 8000 or 16000). */
const VAD_RANGES: Record<Exclude<keyof VadOptions, 'sampleRateHz'>, readonly [number, number]> = {
  onsetMs: [0, 5000],
  hangoverMs: [0, 10000],
  marginDb: [0, 60],
  minSpeechDbfs: [-120, 0],
  floorAttackDbPerS: [0, 1000],
  floorReleaseDbPerS: [0, 1000],
  initialFloorDbfs: [-100, 0],
  floorWindowMs: [0, 60000],
};

/** The order the addon takes them in (native/vad.h VadParams). */
const VAD_PARAM_ORDER = [
  'sampleRateHz', 'onsetMs', 'hangoverMs', 'marginDb', 'minSpeechDbfs',
  'floorAttackDbPerS', 'floorReleaseDbPerS', 'initialFloorDbfs', 'floorWindowMs',
] as const satisfies readonly (keyof VadOptions)[];

/** Options with defaults filled in; TypeError/RangeError naming the option on a bad value. Unknown keys are ignored. */
export function resolveVadOptions(options: VadOptions = {}): Required<VadOptions> {
  if (options === null || typeof options !== 'object') {
    throw new TypeError(`vad options must be an object (got ${describe(options)})`);
  }
  const resolved: Required<VadOptions> = { ...VAD_DEFAULTS };
  const rate = options.sampleRateHz;
  if (rate !== undefined) {
    if (typeof rate !== 'number') throw new TypeError(`vad.sampleRateHz must be a number (got ${describe(rate)})`);
    if (rate !== 8000 && rate !== 16000) throw new RangeError(`vad.sampleRateHz must be 8000 or 16000 (got ${rate})`);
    resolved.sampleRateHz = rate;
  }
  for (const key of Object.keys(VAD_RANGES) as (keyof typeof VAD_RANGES)[]) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value !== 'number') throw new TypeError(`vad.${key} must be a number (got ${describe(value)})`);
    const [lo, hi] = VAD_RANGES[key];
    if (!(value >= lo && value <= hi)) throw new RangeError(`vad.${key} must be from ${lo} to ${hi} (got ${value})`);
    resolved[key] = value;
  }
  return resolved;
}

function vadParams(options: Required<VadOptions>): Float64Array {
  const params = new Float64Array(VAD_PARAM_ORDER.length);
  VAD_PARAM_ORDER.forEach((key, i) => {
    params[i] = options[key];
  });
  // The addon's own gate stops at its lowest level; anything lower means "no gate".
  params[VAD_PARAM_ORDER.indexOf('minSpeechDbfs')] = Math.max(options.minSpeechDbfs, MIN_LEVEL_DBFS);
  return params;
}

export const VadEvent = { None: 0, SpeechStart: 1, SpeechEnd: 2 } as const;
export type VadEvent = (typeof VadEvent)[keyof typeof VadEvent];

export interface VadFrameResult {
  levelDbfs: number;
  /** The noise floor this frame was judged against. */
  floorDbfs: number;
  /** Inside a turn (from the onset frame, through the hangover, until the end frame). */
  isSpeech: boolean;
  event: VadEvent;
}

/**
 * Energy VAD for one stream, one 20 ms frame per call. SpeechStart is reported on the frame where onsetMs is
 * reached: the speech began at that frame's start time - onsetFrames*20 ms + 20 ms (onsetFrames = ceil(onsetMs/20)),
 * i.e. frameTime - onsetMs + 20 ms for the default. SpeechEnd is reported hangoverMs after the last speech frame.
 */
export class Vad {
  readonly options: Required<VadOptions>;
  readonly samplesPerFrame: number;
  private readonly native: NativeVad;
  private readonly scratch = new Float32Array(2);

  constructor(options?: VadOptions) {
    this.options = Object.freeze(resolveVadOptions(options));
    this.samplesPerFrame = (this.options.sampleRateHz / 1000) * FRAME_MS;
    this.native = new addon.Vad(vadParams(this.options));
  }

  process(frame: Int16Array): VadFrameResult {
    const code = this.native.process(frame, this.scratch);
    return {
      levelDbfs: this.scratch[0] ?? MIN_LEVEL_DBFS,
      floorDbfs: this.scratch[1] ?? MIN_LEVEL_DBFS,
      isSpeech: (code & 4) !== 0,
      event: (code & 3) as VadEvent,
    };
  }

  reset(): void {
    this.native.reset();
  }
}

// ---------- the batched inbound entry ----------

export interface InboundBatcherOptions {
  /** Calls at once (each slot has its own VAD state). 1..65536. */
  maxSlots: number;
  /** Frames one process() takes. 1..65536. */
  maxFramesPerTick: number;
}

/**
 * Hot-path batched entry: one N-API crossing per 20 ms tick for every call's frames (mu-law decode + level + VAD).
 * The typed arrays are views of one buffer allocated in the constructor: fill `codes` and `slots` for frames
 * 0..count-1, call process(count), read the outputs. Frames of one slot must appear in time order within a tick.
 */
export class InboundBatcher {
  /** maxFramesPerTick * 160 mu-law bytes, frame i at i*160. */
  readonly codes: Uint8Array;
  /** Slot of frame i. */
  readonly slots: Uint32Array;
  /** Outputs, valid after process(count) until the next process(): decoded 8 kHz PCM, frame i at i*160. */
  readonly pcm: Int16Array;
  readonly levelsDbfs: Float32Array;
  /** VadEvent per frame. */
  readonly events: Uint8Array;
  /** 1 when frame i is inside a turn (incl. hangover). */
  readonly speech: Uint8Array;
  readonly maxSlots: number;
  readonly maxFramesPerTick: number;
  private readonly native: NativeInboundBatcher;

  constructor(opts: InboundBatcherOptions) {
    if (opts === null || typeof opts !== 'object') {
      throw new TypeError(`InboundBatcher options must be an object (got ${describe(opts)})`);
    }
    this.native = new addon.InboundBatcher(opts.maxSlots, opts.maxFramesPerTick);
    this.codes = this.native.codes;
    this.slots = this.native.slots;
    this.pcm = this.native.pcm;
    this.levelsDbfs = this.native.levelsDbfs;
    this.events = this.native.events;
    this.speech = this.native.speech;
    this.maxSlots = this.native.maxSlots;
    this.maxFramesPerTick = this.native.maxFramesPerTick;
  }

  /** Slots allocated now. */
  get slotsInUse(): number {
    return this.native.slotsInUse;
  }

  /** A call's slot with its own VAD state (8 kHz); RangeError when all are in use. */
  allocSlot(vad?: VadOptions): number {
    return this.native.allocSlot(vadParams(resolveVadOptions(vad)));
  }

  /** Frees a slot; RangeError if it is out of range or not allocated. */
  freeSlot(slot: number): void {
    this.native.freeSlot(slot);
  }

  /** Per-tick path: decode + VAD for frames 0..count-1 in one crossing. RangeError if count > maxFramesPerTick
   * or a frame names a slot that is not allocated (checked before any state changes). */
  process(count: number): void {
    this.native.process(count);
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (ArrayBuffer.isView(value)) return value.constructor.name;
  if (typeof value === 'number') return `number ${value}`;
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'object';
  return typeof value;
}
