// The thread's inbound batch: every call's media frames, copied into the DSP batcher's preallocated input, then one
// N-API crossing per clock pass (mu-law decode + VAD for all of them) and the results dispatched to each call in time
// order. A crossing costs far more than the work on 160 bytes, so one per frame would not scale; one per pass serves
// hundreds of frames. Nothing here allocates per frame.
// Re-entry: a call can end while its own frames are being dispatched (a barge-in's `clear` finds a slow client and the
// socket closes synchronously), and its session may still hold its slot number in a local. So a push for a slot that is
// no longer live is ignored (the native batch would refuse the whole pass for one stale slot), a slot freed during a
// dispatch goes back to the native free list only after it (no new call can take it and receive the old call's
// frames), the dispatch reads slot ids and times from its own copy (a push during it cannot redirect a frame to another
// call), a flush asked for during a dispatch runs right after it, and a sink that throws loses its frame, not the pass.
import { FRAME_BYTES, MULAW_SILENCE_BYTE, SAMPLES_PER_FRAME } from '../twilio/media-format.js';


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
  /**
   * Per-frame path: one decoded frame (160 samples: a view of the batch's output, valid during the call only), its VAD
   * event and level, and its stream time.
   */
  onInboundFrame(event: number, levelDbfs: number, frame: Int16Array, frameStartMs: number): void;
}

export interface InboundCounters {
  dspBatches: number;
  dspFrames: number;
  /**
   * Frames pushed that could not be taken: their slot had been freed (a call that ended while its session was still
   * pushing), or the batch was full during a dispatch (it cannot be processed until the dispatch ends).
   */
  inboundStalePushes: number;
  /** Exceptions thrown by a call's sink during a dispatch (caught: the other calls' frames still go out). */
  inboundSinkErrors: number;
}

export class InboundBatch {
  readonly maxFrames: number;
  private readonly batcher: InboundBatcherLike;
  private readonly codes: Uint8Array;
  private readonly frameTimesMs: Float64Array;
  /** The dispatch's own copy of slot ids and frame times (pushes during a dispatch write the batch input). */
  private readonly dispatchSlots: Uint32Array;
  private readonly dispatchTimesMs: Float64Array;
  private readonly sinks: (InboundFrameSink | null)[] = [];
  /** One view per batch position of the batcher's decoded output, made once: a sink copies a frame with one set(). */
  private readonly pcmFrames: Int16Array[];
  private readonly counters: InboundCounters;
  private count = 0;
  private isDispatching = false;
  private isFlushWanted = false;
  /** Slots freed during a dispatch, returned to the batcher when it ends. */
  private readonly slotsToFree: number[] = [];

  constructor(batcher: InboundBatcherLike, maxFrames: number, counters: InboundCounters) {
    // the per-position frame views below must each be a whole frame
    if (batcher.codes.length < maxFrames * FRAME_BYTES || batcher.slots.length < maxFrames || batcher.pcm.length < maxFrames * SAMPLES_PER_FRAME) {
      throw new RangeError(`the batcher holds fewer than maxFrames (${maxFrames}) frames`);
    }
    this.batcher = batcher;
    this.maxFrames = maxFrames;
    this.codes = batcher.codes;
    this.frameTimesMs = new Float64Array(maxFrames);
    this.dispatchSlots = new Uint32Array(maxFrames);
    this.dispatchTimesMs = new Float64Array(maxFrames);
    this.counters = counters;
    this.pcmFrames = Array.from({ length: maxFrames }, (_, i) => batcher.pcm.subarray(i * SAMPLES_PER_FRAME, (i + 1) * SAMPLES_PER_FRAME));
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

  /** Is `slot` allocated to a call right now? */
  isLive(slot: number): boolean {
    const sink = this.sinks[slot];
    return sink !== undefined && sink !== null;
  }

  /**
   * Releases a slot; its pending frames are processed first, so a new call never inherits them. During a dispatch
   * the slot stops receiving frames at once and returns to the batcher when the dispatch ends.
   */
  freeSlot(slot: number): void {
    if (!this.isLive(slot)) return;
    this.flush();
    this.sinks[slot] = null;
    if (this.isDispatching) this.slotsToFree.push(slot);
    else this.batcher.freeSlot(slot);
  }

  /**
   * Per-frame path: room for one more frame of a live slot: false for a stale slot, or when the batch is full during a
   * dispatch (it cannot be processed until the dispatch ends; the frame is lost and counted).
   */
  private hasRoomFor(slot: number): boolean {
    if (this.count === this.maxFrames) {
      if (this.isDispatching) {
        this.counters.inboundStalePushes++;
        return false;
      }
      this.flush(); // may end calls (this one too): liveness is checked after it
    }
    const sink = this.sinks[slot];
    if (sink === undefined || sink === null) {
      this.counters.inboundStalePushes++;
      return false;
    }
    return true;
  }

  /** Per-frame path: a frame's mu-law bytes (160; a shorter one is padded with silence) -> the batch input for `slot`. */
  pushPayload(slot: number, payload: Uint8Array, frameStartMs: number): void {
    if (!this.hasRoomFor(slot)) return;
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
    if (!this.hasRoomFor(slot)) return;
    const i = this.count;
    this.codes.fill(MULAW_SILENCE_BYTE, i * FRAME_BYTES, (i + 1) * FRAME_BYTES);
    this.batcher.slots[i] = slot;
    this.frameTimesMs[i] = frameStartMs;
    this.count = i + 1;
  }

  /** Per-frame path (once per clock pass): one DSP crossing for every pending frame, then each to its call, in order. */
  flush(): void {
    if (this.isDispatching) {
      this.isFlushWanted = true; // the batcher's outputs are being read: process the new frames right after
      return;
    }
    try {
      do {
        this.isFlushWanted = false;
        this.processAndDispatch();
      } while (this.isFlushWanted);
    } finally {
      // only now: a frame pushed for a slot before it was freed has been processed (freeSlot asked for a flush)
      const freed = this.slotsToFree;
      for (let k = 0; k < freed.length; k++) this.batcher.freeSlot(freed[k]!);
      freed.length = 0;
    }
  }

  private processAndDispatch(): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    const batcher = this.batcher;
    batcher.process(n);
    this.counters.dspBatches++;
    this.counters.dspFrames += n;
    const { events, levelsDbfs } = batcher;
    const pcmFrames = this.pcmFrames;
    const slots = this.dispatchSlots;
    const times = this.dispatchTimesMs;
    slots.set(batcher.slots.subarray(0, n));
    times.set(this.frameTimesMs.subarray(0, n));
    const sinks = this.sinks;
    this.isDispatching = true;
    try {
      for (let i = 0; i < n; i++) {
        const sink = sinks[slots[i]!];
        if (sink === null || sink === undefined) continue; // the call ended during this dispatch
        try {
          sink.onInboundFrame(events[i]!, levelsDbfs[i]!, pcmFrames[i]!, times[i]!);
        } catch {
          this.counters.inboundSinkErrors++;
        }
      }
    } finally {
      this.isDispatching = false;
    }
  }
}
