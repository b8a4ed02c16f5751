/**
 * The plain-JS energy VAD peer: a line-for-line port of the native one (native/vad.cc: frame RMS -> dBFS, a noise
 * floor that falls fast, rises slowly and never sits below the quietest level of a sliding window, onset after
 * `onsetMs` above floor + margin, end after `hangoverMs` below it), written the way a careful JS author would:
 * one pass over the Int16Array, no allocation but the small result object the native API also returns.
 * Constructed from the native Vad's resolved options, so both do the same work with the same parameters.
 */

export interface JsVadOptions {
  sampleRateHz: number;
  onsetMs: number;
  hangoverMs: number;
  marginDb: number;
  minSpeechDbfs: number;
  floorAttackDbPerS: number;    // how fast the floor may rise towards a louder level
  floorReleaseDbPerS: number;   // how fast it may fall towards a quieter one
  initialFloorDbfs: number;
  floorWindowMs: number;        // the floor never sits below the quietest level of this window
}

/** The native defaults (native/vad.h VadParams). */
export const JS_VAD_DEFAULTS: JsVadOptions = {
  sampleRateHz: 8000,
  onsetMs: 100,
  hangoverMs: 700,
  marginDb: 8,
  minSpeechDbfs: -45,
  floorAttackDbPerS: 3,
  floorReleaseDbPerS: 24,
  initialFloorDbfs: -50,
  floorWindowMs: 1500,
};

export interface JsVadFrameResult { levelDbfs: number; floorDbfs: number; isSpeech: boolean; event: 0 | 1 | 2 }

const FRAME_MS = 20; // the peer stands alone: a JS VAD as one would write it, with its own constants
const MIN_LEVEL_DBFS = -100;
const FULL_SCALE_SQ = 32768 * 32768;
const BLOCKS = 4;

export class JsEnergyVad {
  readonly options: JsVadOptions;
  private readonly onsetFrames: number;
  private readonly hangoverFrames: number;
  private readonly blockFrames: number;
  private readonly attackPerFrameDb: number;
  private readonly releasePerFrameDb: number;
  private readonly blockMins = new Float64Array(BLOCKS);
  private hasSeenFrame = false;
  private isInTurn = false;
  private activeRun = 0;
  private quietRun = 0;
  private floorDbfs = 0;
  private blocksFilled = 0;
  private blockNext = 0;
  private blockCount = 0;
  private blockMin = 0;

  constructor(options: Partial<JsVadOptions> = {}) {
    this.options = { ...JS_VAD_DEFAULTS, ...options };
    const o = this.options;
    this.onsetFrames = Math.max(1, Math.ceil(o.onsetMs / FRAME_MS));
    this.hangoverFrames = Math.max(1, Math.ceil(o.hangoverMs / FRAME_MS));
    const windowFrames = Math.ceil(o.floorWindowMs / FRAME_MS);
    this.blockFrames = windowFrames <= 0 ? 0 : Math.max(1, Math.ceil(windowFrames / BLOCKS));
    this.attackPerFrameDb = (o.floorAttackDbPerS * FRAME_MS) / 1000;
    this.releasePerFrameDb = (o.floorReleaseDbPerS * FRAME_MS) / 1000;
    this.reset();
  }

  /** Per-frame path: one pass, no allocation beyond the result. */
  process(frame: Int16Array): JsVadFrameResult {
    let sumSq = 0;
    for (let i = 0, n = frame.length; i < n; i++) {
      const s = frame[i]!;
      sumSq += s * s;
    }
    const level = sumSq === 0 ? MIN_LEVEL_DBFS : Math.max(MIN_LEVEL_DBFS, 10 * Math.log10(sumSq / frame.length / FULL_SCALE_SQ));
    const o = this.options;
    if (!this.hasSeenFrame) {
      this.hasSeenFrame = true;
      this.floorDbfs = Math.max(this.floorDbfs, level);
    }
    const floorUsed = this.floorDbfs;
    const isActive = level > this.floorDbfs + o.marginDb && level > o.minSpeechDbfs;

    // The floor falls fast, rises slowly, and never sits below the window's quietest level.
    if (level < this.floorDbfs) this.floorDbfs = Math.max(level, this.floorDbfs - this.releasePerFrameDb);
    else this.floorDbfs = Math.min(level, this.floorDbfs + this.attackPerFrameDb);
    if (this.blockFrames > 0) {
      this.blockMin = this.blockCount === 0 ? level : Math.min(this.blockMin, level);
      if (++this.blockCount === this.blockFrames) {
        this.blockMins[this.blockNext] = this.blockMin;
        this.blockNext = (this.blockNext + 1) % BLOCKS;
        this.blocksFilled = Math.min(this.blocksFilled + 1, BLOCKS);
        this.blockCount = 0;
      }
      if (this.blocksFilled === BLOCKS) {
        let windowMin = this.blockCount > 0 ? this.blockMin : this.blockMins[0]!;
        for (let i = 0; i < BLOCKS; i++) windowMin = Math.min(windowMin, this.blockMins[i]!);
        this.floorDbfs = Math.max(this.floorDbfs, windowMin);
      }
    }
    this.floorDbfs = Math.max(this.floorDbfs, MIN_LEVEL_DBFS);

    let event: 0 | 1 | 2 = 0;
    if (!this.isInTurn) {
      this.activeRun = isActive ? this.activeRun + 1 : 0;
      if (this.activeRun >= this.onsetFrames) {
        this.isInTurn = true;
        this.quietRun = 0;
        event = 1;
      }
    } else {
      this.quietRun = isActive ? 0 : this.quietRun + 1;
      if (this.quietRun >= this.hangoverFrames) {
        this.isInTurn = false;
        this.activeRun = 0;
        event = 2;
      }
    }
    return { levelDbfs: level, floorDbfs: floorUsed, isSpeech: this.isInTurn, event };
  }

  reset(): void {
    this.hasSeenFrame = false;
    this.isInTurn = false;
    this.activeRun = 0;
    this.quietRun = 0;
    this.floorDbfs = this.options.initialFloorDbfs;
    this.blocksFilled = 0;
    this.blockNext = 0;
    this.blockCount = 0;
    this.blockMin = 0;
  }
}
