// The thread's inbound batch: every call's media frames, copied into the DSP batcher's preallocated input, then one
// N-API crossing per clock pass (mu-law decode + VAD for all of them) and the results dispatched to each call in time
// order. A crossing costs far more than the work on 160 bytes, so one per frame would not scale; one per pass serves
// hundreds of frames. Nothing here allocates per frame.

const FRAME_BYTES = 160;
const SAMPLES_PER_FRAME = 160;
const MULAW_SILENCE_BYTE = 0xff;

/** The slice of src/audio/dsp.ts's InboundBatcher this module uses (a fake can stand in for it in tests). */
export interface InboundBatcherLike {
  allocSlot(vad?: object): number;
  freeSlot(slot: number): void;
  readonly codes: Uint8Array;
  readonly slots: Uint32Array;
  readonly pcm: Int16Array;
  readonly levelsDbfs: Float32Array;
  readonly events: Uint8Array;
  process(count: number): void;
}

/** Where a slot's processed frames go (the call's session). */
export interface InboundFrameSink {
  /** Per-frame path: one decoded frame (pcm[offset .. offset+160)), its VAD event and level, and its stream time. */
  onInboundFrame(event: number, levelDbfs: number, pcm: Int16Array, offset: number, frameStartMs: number): void;
}

export interface InboundCounters {
  dspBatches: number;
  dspFrames: number;
}

export class InboundBatch {
  readonly maxFrames: number;
  private readonly batcher: InboundBatcherLike;
  private readonly codes: Uint8Array;
  private readonly frameTimesMs: Float64Array;
  private readonly sinks: (InboundFrameSink | null)[] = [];
  private readonly counters: InboundCounters;
  private count = 0;

  constructor(batcher: InboundBatcherLike, maxFrames: number, counters: InboundCounters) {
    if (batcher.codes.length < maxFrames * FRAME_BYTES || batcher.slots.length < maxFrames) {
      throw new RangeError(`the batcher holds fewer than maxFrames (${maxFrames}) frames`);
    }
    this.batcher = batcher;
    this.maxFrames = maxFrames;
    this.codes = batcher.codes;
    this.frameTimesMs = new Float64Array(maxFrames);
    this.counters = counters;
  }

  /** Frames waiting for the next flush. */
  get pending(): number {
    return this.count;
  }

  /** A slot (its own VAD state) for a call; throws RangeError when the batcher is full. */
  allocSlot(sink: InboundFrameSink, vad?: object): number {
    const slot = this.batcher.allocSlot(vad);
    while (this.sinks.length <= slot) this.sinks.push(null);
    this.sinks[slot] = sink;
    return slot;
  }

  /** Releases a slot; its pending frames are processed first, so a new call never inherits them. */
  freeSlot(slot: number): void {
    if (this.sinks[slot] === undefined || this.sinks[slot] === null) return;
    this.flush();
    this.sinks[slot] = null;
    this.batcher.freeSlot(slot);
  }

  /** Per-frame path: a frame's mu-law bytes (160; a shorter one is padded with silence) -> the batch input for `slot`. */
  pushPayload(slot: number, payload: Uint8Array, frameStartMs: number): void {
    if (this.count === this.maxFrames) this.flush();
    const i = this.count;
    const offset = i * FRAME_BYTES;
    if (payload.length === FRAME_BYTES) {
      this.codes.set(payload, offset);
    } else {
      const n = Math.min(payload.length, FRAME_BYTES);
      for (let k = 0; k < n; k++) this.codes[offset + k] = payload[k]!;
      this.codes.fill(MULAW_SILENCE_BYTE, offset + n, offset + FRAME_BYTES);
    }
    this.batcher.slots[i] = slot;
    this.frameTimesMs[i] = frameStartMs;
    this.count = i + 1;
  }

  /** Per-frame path: a silence frame for `slot` (fills a gap in Twilio's timestamps). */
  pushSilence(slot: number, frameStartMs: number): void {
    if (this.count === this.maxFrames) this.flush();
    const i = this.count;
    this.codes.fill(MULAW_SILENCE_BYTE, i * FRAME_BYTES, (i + 1) * FRAME_BYTES);
    this.batcher.slots[i] = slot;
    this.frameTimesMs[i] = frameStartMs;
    this.count = i + 1;
  }

  /** Per-frame path (once per clock pass): one DSP crossing for every pending frame, then each to its call, in order. */
  flush(): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    const batcher = this.batcher;
    batcher.process(n);
    this.counters.dspBatches++;
    this.counters.dspFrames += n;
    const { slots, events, levelsDbfs, pcm } = batcher;
    const sinks = this.sinks;
    const times = this.frameTimesMs;
    for (let i = 0; i < n; i++) {
      const sink = sinks[slots[i]!];
      if (sink === null || sink === undefined) continue; // the call ended during this dispatch
      sink.onInboundFrame(events[i]!, levelsDbfs[i]!, pcm, i * SAMPLES_PER_FRAME, times[i]!);
    }
  }
}
