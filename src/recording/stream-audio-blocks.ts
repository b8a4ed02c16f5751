// The edge thread's side of a call's recording (RECORD_AUDIO=on): per stream and per channel, a one-second block of
// mu-law filled frame by frame at the frame's place on the stream's clock (silence where nothing was placed), and
// posted whole as soon as the channel moves past it; at the stream's end the partial blocks and an end message go.
// Nothing here decodes, touches a file or waits: that is the writer's job, off the edge thread. A frame goes into its
// block with one TypedArray.set (a memcpy; frames on the 20 ms grid never straddle a block), an agent frame is first
// copied out of the playout's ring into a slot of its own, and a block is allocated once a second per channel.
//
// Caller channel: each inbound frame at its stream time (the session's, gap fill and skipped gaps included, so that
// its sample index is the stream time). Agent channel: each frame the playout sent, at the tick Twilio plays it; a
// frame waits in a small ring until that tick has come (its audio is then final), so a clear can take back what was
// sent but never played. Both channels stay within a few seconds of the clock's ticks: a caller whose timestamps run
// ahead is held to MAX_CALLER_LEAD_SAMPLES ahead of the agent channel, and one that sends nothing is filled with
// silence once it is MAX_CALLER_LAG_SAMPLES behind, so the writer never waits long for either.
import type { CallAudioTaps, StreamAudioTap } from '../call/audio-tap.js';
import { MAX_PLAYOUT_LEAD_FRAMES } from '../call/playout.js';
import { FRAME_BYTES, FRAME_MS, MULAW_SILENCE_BYTE, SAMPLE_RATE_HZ, SAMPLES_PER_FRAME } from '../twilio/media-format.js';
import { AGENT_CHANNEL, BLOCK_SAMPLES, CALLER_CHANNEL, MAX_BLOCKS_PER_STREAM, type AudioChannel, type RecordingMessage } from './messages.js';

/** How far (samples) the caller channel may run ahead of the clock (timestamps are the caller's claim). */
export const MAX_CALLER_LEAD_SAMPLES = 2 * SAMPLE_RATE_HZ;
/** How far (samples) the caller channel may fall behind the clock before silence is placed (Twilio omits silence). */
export const MAX_CALLER_LAG_SAMPLES = 3 * SAMPLE_RATE_HZ;
/** Frames sent but not yet played the agent channel holds beyond the playout's lead: the tick's own and one spare. */
const PENDING_BEYOND_LEAD_FRAMES = 2;
const SAMPLES_PER_MS = SAMPLE_RATE_HZ / 1000;
/** The last sample a stream's recording may hold. */
const MAX_STREAM_SAMPLES = MAX_BLOCKS_PER_STREAM * BLOCK_SAMPLES;

/** Where the blocks go (the thread root posts them to the writer). Must not throw. */
export type RecordingPost = (message: RecordingMessage) => void;

/** The taps of one edge thread's calls; `leadFrames` is the playout's (PLAYOUT_LEAD_FRAMES; default the largest). */
export function createAudioTaps(post: RecordingPost, options: { leadFrames?: number } = {}): CallAudioTaps {
  const pendingFrames = Math.min(options.leadFrames ?? MAX_PLAYOUT_LEAD_FRAMES, MAX_PLAYOUT_LEAD_FRAMES) + PENDING_BEYOND_LEAD_FRAMES;
  return { open: (callSid, streamSid, startedAtClockMs) => new StreamAudioBlocks(callSid, streamSid, startedAtClockMs, post, pendingFrames) };
}

/** One channel of one stream: position-addressed, never going back. */
class ChannelBlocks {
  /** Samples written so far: the next sample's index on the stream's clock. */
  position = 0;
  private block: Uint8Array | null = null;
  private blockIndex = 0;

  constructor(private readonly emit: (blockIndex: number, mulaw: Uint8Array) => void) {}

  /** Per-frame path: all of `frame` at sample `at` (or at the position, if that is later). */
  write(frame: Uint8Array, at: number): void {
    if (at > this.position) this.skipTo(at);
    const length = frame.length;
    if (this.position + length > MAX_STREAM_SAMPLES) return;
    const index = Math.floor(this.position / BLOCK_SAMPLES);
    const inBlock = this.position - index * BLOCK_SAMPLES;
    if (inBlock + length <= BLOCK_SAMPLES) {
      if (this.block === null || index !== this.blockIndex) this.startBlock(index);
      this.block!.set(frame, inBlock);
      this.position += length;
      if (inBlock + length === BLOCK_SAMPLES) this.flush();
      return;
    }
    // off the 20 ms grid, across a block's end: byte by byte
    let from = 0;
    let left = length;
    while (left > 0) {
      const index = Math.floor(this.position / BLOCK_SAMPLES);
      if (this.block === null || index !== this.blockIndex) this.startBlock(index);
      const block = this.block!;
      let inBlock = this.position - index * BLOCK_SAMPLES;
      const n = Math.min(left, BLOCK_SAMPLES - inBlock);
      for (let i = 0; i < n; i++) block[inBlock++] = frame[from + i]!;
      from += n;
      left -= n;
      this.position += n;
      if (inBlock === BLOCK_SAMPLES) this.flush();
    }
  }

  /** Silence up to sample `at`: every block passed on the way goes out (whole seconds of silence included). */
  skipTo(at: number): void {
    const target = Math.min(at, MAX_STREAM_SAMPLES);
    while (this.position < target) {
      const index = Math.floor(this.position / BLOCK_SAMPLES);
      if (this.block === null || index !== this.blockIndex) this.startBlock(index);
      const blockEnd = (index + 1) * BLOCK_SAMPLES;
      if (target >= blockEnd) {
        this.position = blockEnd;
        this.flush();
      } else {
        this.position = target;
      }
    }
  }

  /** Posts the block being filled, if any (at the end: the partial one). */
  flush(): void {
    const block = this.block;
    if (block === null) return;
    this.block = null;
    this.emit(this.blockIndex, block);
  }

  private startBlock(index: number): void {
    this.flush();
    this.block = new Uint8Array(BLOCK_SAMPLES).fill(MULAW_SILENCE_BYTE);
    this.blockIndex = index;
  }
}

export class StreamAudioBlocks implements StreamAudioTap {
  private readonly caller: ChannelBlocks;
  private readonly agent: ChannelBlocks;
  /** The ring of agent frames sent and not yet played (its size: the playout's lead and two). */
  private readonly pendingFrames: Uint8Array[];
  private readonly pendingTicks: Float64Array;
  private readonly pendingSize: number;
  /** Ring slot of the oldest pending agent frame, and how many there are. */
  private pendingHead = 0;
  private pendingCount = 0;
  /** The clock tick at stream time 0 (NaN until the first tick). */
  private baseTick = Number.NaN;
  private isClosed = false;

  constructor(
    private readonly callSid: string,
    private readonly streamSid: string,
    private readonly startedAtClockMs: number,
    private readonly post: RecordingPost,
    pendingFrames = MAX_PLAYOUT_LEAD_FRAMES + PENDING_BEYOND_LEAD_FRAMES,
  ) {
    this.pendingSize = pendingFrames;
    this.pendingFrames = Array.from({ length: pendingFrames }, () => new Uint8Array(FRAME_BYTES));
    this.pendingTicks = new Float64Array(pendingFrames);
    this.caller = new ChannelBlocks((blockIndex, mulaw) => this.emitBlock(CALLER_CHANNEL, blockIndex, mulaw));
    this.agent = new ChannelBlocks((blockIndex, mulaw) => this.emitBlock(AGENT_CHANNEL, blockIndex, mulaw));
    post({ kind: 'audio-start', callSid, streamSid, atMs: Date.now() });
  }

  /** Per-frame path. */
  onCallerFrame(payload: Uint8Array, streamMs: number): void {
    if (this.isClosed) return;
    const at = Math.min(Math.round(streamMs * SAMPLES_PER_MS), this.agent.position + MAX_CALLER_LEAD_SAMPLES);
    // a frame is 20 ms of stream time whatever its length (the session's rule); Twilio's are 160 bytes
    this.caller.write(payload.length <= SAMPLES_PER_FRAME ? payload : payload.subarray(0, SAMPLES_PER_FRAME), at);
  }

  /** Per-frame path. */
  onAgentFrame(ring: Uint8Array, offset: number, playTick: number): void {
    if (this.isClosed) return;
    if (this.pendingCount === this.pendingSize) this.commitOldest(); // cannot happen within the playout's lead
    const slot = (this.pendingHead + this.pendingCount) % this.pendingSize;
    // a view and a memcpy: about twice as fast as a 160-byte loop (measured; the view is young garbage)
    this.pendingFrames[slot]!.set(ring.subarray(offset, offset + FRAME_BYTES));
    this.pendingTicks[slot] = playTick;
    this.pendingCount++;
  }

  onAgentClear(positionTick: number): void {
    // frames for ticks after the clear never play (a frame already playing at the clear stays)
    const firstUnplayed = Math.ceil(positionTick);
    while (this.pendingCount > 0) {
      const last = (this.pendingHead + this.pendingCount - 1) % this.pendingSize;
      if (this.pendingTicks[last]! < firstUnplayed) return;
      this.pendingCount--;
    }
  }

  /** Per-frame path: frames due by this tick are final; silence fills both channels up to it. */
  onTick(tickIndex: number, dueMs: number): void {
    if (this.isClosed) return;
    if (Number.isNaN(this.baseTick)) this.baseTick = tickIndex - Math.max(0, Math.round((dueMs - this.startedAtClockMs) / FRAME_MS));
    while (this.pendingCount > 0 && this.pendingTicks[this.pendingHead]! <= tickIndex) this.commitOldest();
    this.agent.skipTo((tickIndex + 1 - this.baseTick) * SAMPLES_PER_FRAME);
    const callerFloor = this.agent.position - MAX_CALLER_LAG_SAMPLES;
    if (this.caller.position < callerFloor) this.caller.skipTo(callerFloor);
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.pendingCount = 0; // sent but not played when the stream ended: never heard
    this.caller.flush();
    this.agent.flush();
    const endSample = Math.max(this.caller.position, this.agent.position);
    this.post({ kind: 'audio-end', callSid: this.callSid, streamSid: this.streamSid, endSample, atMs: Date.now() });
  }

  private commitOldest(): void {
    const slot = this.pendingHead;
    const tick = this.pendingTicks[slot]!;
    const at = Number.isNaN(this.baseTick) ? this.agent.position : Math.max(0, (tick - this.baseTick) * SAMPLES_PER_FRAME);
    this.agent.write(this.pendingFrames[slot]!, at);
    this.pendingHead = (slot + 1) % this.pendingSize;
    this.pendingCount--;
  }

  private emitBlock(channel: AudioChannel, blockIndex: number, mulaw: Uint8Array): void {
    this.post({ kind: 'audio-block', callSid: this.callSid, streamSid: this.streamSid, channel, blockIndex, mulaw });
  }
}
