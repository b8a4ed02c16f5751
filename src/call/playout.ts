// One call's outbound audio: a queue of 20 ms mu-law frames, sent to Twilio on the thread clock's ticks.
// Each tick sends exactly the frames that are due, keeping at most `leadFrames` frames ahead of real time in
// Twilio's buffer (so a `clear` silences the line within about leadFrames x 20 ms); a late tick has a higher
// tick index and so catches up in the same pass. After an utterance's last frame, a `mark` named for it: Twilio
// returns it when the caller has heard it. A `clear` empties the queue and makes Twilio return every pending mark
// at once: those marks mean "flushed", never "heard". How much was heard when a clear happens is computed from what
// was sent less what is still buffered at Twilio (the lead), per utterance.
//
// Memory: frames live in one ring, a block from the thread's FrameRingPool (taken at call start, given back at its
// end; replaced by a ring of its own, doubled, only when an utterance outgrows it), and go to the wire from there
// through the stream's MediaFrameWriter (its JSON written once, the payload encoded into it per frame): the per-tick
// path allocates nothing (a mark or a clear makes its string).
import type { HeardInfo, PlayedInfo, UtteranceProgress } from './agent-contract.js';
import type { StreamAudioTap } from './audio-tap.js';
import { MediaFrameWriter, serializeClear, serializeMark } from '../twilio/outbound-serializers.js';
import { threadFrameRingPool, type FrameRingPool } from './frame-ring-pool.js';
import type { CallTransport, ThreadCallStats } from './types.js';
import { FRAME_BYTES, MULAW_SILENCE_BYTE } from '../twilio/media-format.js';

/** The most frames the playout keeps in Twilio's buffer ahead of real time (PLAYOUT_LEAD_FRAMES; 1 s). */
export const MAX_PLAYOUT_LEAD_FRAMES = 50;

/** The one rule for a playout lead (config, the registry and the playout all check it with this). */
export function checkLeadFrames(leadFrames: number, name = 'leadFrames'): void {
  if (!Number.isInteger(leadFrames) || leadFrames < 0 || leadFrames > MAX_PLAYOUT_LEAD_FRAMES) {
    throw new RangeError(`${name} must be an integer from 0 to ${MAX_PLAYOUT_LEAD_FRAMES} (got ${leadFrames})`);
  }
}
/** Marks sent before a clear that Twilio has not returned yet; bounded in case Twilio never returns them. */
const MAX_FLUSHED_MARKS = 256;
const MAX_AWAITING_MARKS = 256;

export type PlayoutCounters = Pick<ThreadCallStats, 'framesOut' | 'dropped' | 'marksSent' | 'marksHeard' | 'marksFlushed'>;

export interface PlayoutOptions {
  transport: CallTransport;
  streamSid: string;
  /** Frames allowed in Twilio's buffer beyond the one playing (config PLAYOUT_LEAD_FRAMES). */
  leadFrames: number;
  stats: PlayoutCounters;
  frameMs?: number;
  /** A ring of its own with this many frames instead of a block from the pool (tests of the ring's growth). */
  initialCapacityFrames?: number;
  /** Where the first ring comes from; default the thread's pool. */
  ringPool?: FrameRingPool;
  /**
   * An utterance's first frame was just written to the transport (once per utterance with audio; never for one
   * cleared before it started). Called after the tick's frames are written, with the time of that write.
   */
  onUtteranceStarted?: (utteranceId: string, sentAtMs: number) => void;
  /** The clock sentAtMs is read from (the thread clock's; default performance.now()). */
  nowMs?: () => number;
  /** Where every frame sent (and every clear) is also told, for the call's recording (RECORD_AUDIO); null: none. */
  audioTap?: Pick<StreamAudioTap, 'onAgentFrame' | 'onAgentClear'> | null;
}

interface Utterance {
  readonly id: string;
  /** Absolute frame index of its first frame. */
  readonly startFrame: number;
  /** Absolute frame index after its last frame; valid once ended. */
  endFrame: number;
  isEnded: boolean;
  /** Its first frame was written (or it ended with none). */
  isStarted: boolean;
}

export type MarkResult =
  | { kind: 'heard'; played: PlayedInfo }
  | { kind: 'flushed'; name: string }
  | { kind: 'unknown'; name: string };

export class Playout {
  readonly leadFrames: number;
  /** Frames the transport took (a dropped frame is not counted: see stats.dropped). */
  framesSent = 0;

  private readonly transport: CallTransport;
  private readonly streamSid: string;
  private readonly stats: PlayoutCounters;
  private readonly frameMs: number;
  private capacityFrames: number;
  private ring: Uint8Array;
  /** The pool the current ring is a block of (null once replaced by a ring of its own). */
  private ringPool: FrameRingPool | null;
  private readonly mediaFrames: MediaFrameWriter;
  /** Absolute index of the next frame to send. */
  private readFrame = 0;
  /** Absolute byte count written (frame f occupies bytes f*160 .. f*160+159). */
  private writeBytes = 0;
  /** Utterances with frames still to send or a mark still to send, oldest first. */
  private readonly queue: Utterance[] = [];
  /** Utterances whose mark was sent and not yet returned, oldest first. */
  private readonly awaitingMark: Utterance[] = [];
  /** Names of marks made void by a clear: when Twilio returns them, they count as flushed. */
  private readonly flushedMarks: string[] = [];
  /** Tick (fractional) at which Twilio will have played everything sent so far. */
  private playheadEnd = 0;
  private lastTick = -1;
  private lastDueMs = 0;
  private isDisposed = false;
  private readonly onUtteranceStarted: ((utteranceId: string, sentAtMs: number) => void) | undefined;
  private readonly nowMs: () => number;
  /** startFrame of the oldest utterance not yet started (Infinity: none): one comparison per frame sent. */
  private nextStartFrame = Infinity;
  /** Utterances started during the current sendDue, announced once its frames are written. */
  private readonly startedNow: string[] = [];
  private readonly sendDueBound = (): void => this.sendDue();
  private readonly audioTap: Pick<StreamAudioTap, 'onAgentFrame' | 'onAgentClear'> | null;

  constructor(options: PlayoutOptions) {
    checkLeadFrames(options.leadFrames);
    this.transport = options.transport;
    this.streamSid = options.streamSid;
    this.leadFrames = options.leadFrames;
    this.stats = options.stats;
    this.frameMs = options.frameMs ?? 20;
    if (options.initialCapacityFrames !== undefined) {
      this.ringPool = null;
      this.capacityFrames = Math.max(4, options.initialCapacityFrames);
      this.ring = new Uint8Array(this.capacityFrames * FRAME_BYTES);
    } else {
      this.ringPool = options.ringPool ?? threadFrameRingPool;
      this.capacityFrames = this.ringPool.blockFrames;
      this.ring = this.ringPool.acquire();
    }
    this.mediaFrames = new MediaFrameWriter(options.streamSid);
    this.onUtteranceStarted = options.onUtteranceStarted;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.audioTap = options.audioTap ?? null;
  }

  /** Frames waiting to be sent (complete or partial). */
  get queuedFrames(): number {
    return Math.ceil(this.writeBytes / FRAME_BYTES) - this.readFrame;
  }

  /** Anything queued, an utterance still open, or audio still buffered at Twilio at `nowMs`. */
  isPlayingAt(nowMs: number): boolean {
    if (this.isDisposed) return false;
    if (this.queue.length > 0 || this.queuedFrames > 0) return true;
    return this.playheadEnd > this.positionAt(nowMs);
  }

  /** Appends audio to utterance `utteranceId` (a new id ends the previous one). */
  enqueue(mulaw: Uint8Array, utteranceId: string): void {
    if (this.isDisposed) return;
    let utt = this.queue.length > 0 ? this.queue[this.queue.length - 1]! : undefined;
    if (utt === undefined || utt.isEnded || utt.id !== utteranceId) {
      if (utt !== undefined && !utt.isEnded) this.endOpen(utt);
      utt = { id: utteranceId, startFrame: this.writeBytes / FRAME_BYTES, endFrame: -1, isEnded: false, isStarted: false };
      this.queue.push(utt);
      if (this.nextStartFrame === Infinity) this.nextStartFrame = utt.startFrame;
    }
    if (mulaw.length === 0) return;
    this.ensureCapacity(Math.ceil((this.writeBytes + mulaw.length) / FRAME_BYTES) - this.readFrame);
    // Copy in at most two spans (the ring may wrap).
    const ringBytes = this.ring.length;
    let src = 0;
    while (src < mulaw.length) {
      const pos = this.writeBytes % ringBytes;
      const n = Math.min(mulaw.length - src, ringBytes - pos);
      this.ring.set(src === 0 && n === mulaw.length ? mulaw : mulaw.subarray(src, src + n), pos);
      src += n;
      this.writeBytes += n;
    }
  }

  /** No more audio for `utteranceId`: its last frame is padded with silence, and its mark follows it. */
  endUtterance(utteranceId: string): void {
    if (this.isDisposed) return;
    const utt = this.queue.length > 0 ? this.queue[this.queue.length - 1]! : undefined;
    if (utt === undefined || utt.isEnded || utt.id !== utteranceId) return;
    this.endOpen(utt);
  }

  /** A whole utterance and its mark. */
  play(mulaw: Uint8Array, utteranceId: string): void {
    this.enqueue(mulaw, utteranceId);
    this.endUtterance(utteranceId);
  }

  /**
   * Per-frame path: called on this call's clock tick; sends the due frames and any mark that is due. The usual tick
   * of a playing call sends one frame and nothing after it: sent at once, without a cork, whose callback into JS costs
   * more than the one write it would group (uWS writes a lone message in one syscall anyway); a tick with more (the
   * lead at a playback's start, a last frame and its mark, a catch-up) is corked into one write.
   */
  onTick(tickIndex: number, dueMs: number): void {
    this.lastTick = tickIndex;
    this.lastDueMs = dueMs;
    if (this.isDisposed) return;
    const head = this.queue.length > 0 ? this.queue[0]! : undefined;
    if (head !== undefined && head.isEnded && this.readFrame >= head.endFrame) {
      this.transport.cork(this.sendDueBound); // a mark is due
      return;
    }
    if (this.readFrame >= Math.floor(this.writeBytes / FRAME_BYTES)) return; // nothing to send
    // frames the lead lets out now: sendDue's loop condition, with its restart of a playhead that ran dry
    const room = tickIndex + 1 + this.leadFrames - (this.playheadEnd < tickIndex ? tickIndex : this.playheadEnd);
    if (room <= 0) return;
    const isLastOfUtterance = head !== undefined && head.isEnded && this.readFrame + 1 >= head.endFrame;
    if (room <= 1 && !isLastOfUtterance) this.sendDue();
    else this.transport.cork(this.sendDueBound);
  }

  /** Per-frame path: the corked body of onTick. */
  private sendDue(): void {
    if (this.isDisposed) return;
    const tick = this.lastTick;
    if (this.playheadEnd < tick) this.playheadEnd = tick; // Twilio's buffer ran dry: playback restarts now
    const limit = tick + 1 + this.leadFrames;
    const sendableEnd = Math.floor(this.writeBytes / FRAME_BYTES);
    const stats = this.stats;
    this.sendDueMarks();
    while (!this.isDisposed && this.readFrame < sendableEnd && this.playheadEnd < limit) {
      const offset = (this.readFrame % this.capacityFrames) * FRAME_BYTES;
      const frame = this.mediaFrames.write(this.ring, offset);
      if (this.transport.sendUtf8(frame)) {
        stats.framesOut++;
        this.framesSent++;
        // Twilio plays it when what was sent before it has played: at the playhead's tick
        if (this.audioTap !== null) this.audioTap.onAgentFrame(this.ring, offset, Math.floor(this.playheadEnd));
      } else {
        stats.dropped++;
      }
      if (this.isDisposed) return; // the write closed the socket and ended the call
      this.readFrame++;
      this.playheadEnd++;
      if (this.readFrame > this.nextStartFrame) this.noteStarted();
      this.sendDueMarks();
    }
    if (this.startedNow.length > 0) this.announceStarted();
  }

  /** Marks every queued utterance whose first frame is now sent (one with no frames is started silently). */
  private noteStarted(): void {
    this.nextStartFrame = Infinity;
    for (const utt of this.queue) {
      if (utt.isStarted) continue;
      if (utt.isEnded && utt.endFrame === utt.startFrame) {
        utt.isStarted = true;
        continue;
      }
      if (utt.startFrame >= this.readFrame) {
        this.nextStartFrame = utt.startFrame;
        return;
      }
      utt.isStarted = true;
      if (this.onUtteranceStarted !== undefined) this.startedNow.push(utt.id);
    }
  }

  private announceStarted(): void {
    const sentAtMs = this.nowMs();
    const ids = this.startedNow.splice(0);
    for (const id of ids) {
      if (this.isDisposed) return;
      this.onUtteranceStarted!(id, sentAtMs);
    }
  }

  /** Sends the marks of ended utterances whose frames have all been sent. */
  private sendDueMarks(): void {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (!head.isEnded || this.readFrame < head.endFrame) return;
      this.queue.shift();
      if (this.transport.sendText(serializeMark(this.streamSid, head.id))) this.stats.marksSent++;
      else this.stats.dropped++;
      if (this.isDisposed) return;
      if (this.awaitingMark.length >= MAX_AWAITING_MARKS) this.awaitingMark.shift();
      this.awaitingMark.push(head);
    }
  }

  /**
   * Empties the queue and sends `clear`. Returns, per utterance still playing or queued, how much the caller heard:
   * frames sent, less those still in Twilio's buffer at `nowMs`. Marks already sent will come back as flushed.
   */
  clear(nowMs: number, atMs: number): HeardInfo {
    const utterances: UtteranceProgress[] = [];
    let framesHeard = 0;
    if (this.isDisposed) return { atMs, utterances, framesHeard };
    const position = this.positionAt(nowMs);
    this.audioTap?.onAgentClear(position);
    const unplayed = Math.max(0, this.playheadEnd - position);
    const playedEnd = this.readFrame - Math.ceil(unplayed - 1e-6); // absolute index after the last frame played
    const writeEnd = Math.ceil(this.writeBytes / FRAME_BYTES);
    const describe = (utt: Utterance): void => {
      const endFrame = utt.isEnded ? utt.endFrame : writeEnd;
      const framesQueued = endFrame - utt.startFrame;
      const framesSent = clamp(this.readFrame - utt.startFrame, 0, framesQueued);
      const heard = clamp(playedEnd - utt.startFrame, 0, framesSent);
      framesHeard += heard;
      utterances.push({ utteranceId: utt.id, framesQueued, framesSent, framesHeard: heard, wasEnded: utt.isEnded });
    };
    for (const utt of this.awaitingMark) {
      describe(utt);
      this.flushedMarks.push(utt.id);
    }
    for (const utt of this.queue) describe(utt);
    if (this.flushedMarks.length > MAX_FLUSHED_MARKS) this.flushedMarks.splice(0, this.flushedMarks.length - MAX_FLUSHED_MARKS);
    this.awaitingMark.length = 0;
    this.queue.length = 0;
    this.nextStartFrame = Infinity;
    this.readFrame = writeEnd;
    this.writeBytes = writeEnd * FRAME_BYTES;
    this.playheadEnd = Math.min(this.playheadEnd, position); // nothing is buffered at Twilio after the clear
    this.transport.cork(() => {
      if (!this.isDisposed) this.transport.sendText(serializeClear(this.streamSid));
    });
    return { atMs, utterances, framesHeard };
  }

  /** Twilio returned a mark: heard when it was pending, flushed when a clear made it void. */
  onMark(name: string): MarkResult {
    const flushedAt = this.flushedMarks.indexOf(name);
    if (flushedAt >= 0) {
      this.flushedMarks.splice(flushedAt, 1);
      this.stats.marksFlushed++;
      return { kind: 'flushed', name };
    }
    for (let i = 0; i < this.awaitingMark.length; i++) {
      const utt = this.awaitingMark[i]!;
      if (utt.id !== name) continue;
      this.awaitingMark.splice(i, 1);
      this.stats.marksHeard++;
      return { kind: 'heard', played: { utteranceId: utt.id, frames: utt.endFrame - utt.startFrame } };
    }
    return { kind: 'unknown', name };
  }

  /** Drops everything (end of call); later calls are no-ops. */
  dispose(): void {
    this.isDisposed = true;
    this.queue.length = 0;
    this.awaitingMark.length = 0;
    this.flushedMarks.length = 0;
    this.startedNow.length = 0;
    this.giveBackRing();
    this.ring = new Uint8Array(0);
    this.capacityFrames = 0;
  }

  /** Where playback is at `nowMs`, in ticks (fractional), on this call's phase of the clock. */
  private positionAt(nowMs: number): number {
    if (this.lastTick < 0) return 0;
    return this.lastTick + Math.max(0, nowMs - this.lastDueMs) / this.frameMs;
  }

  private endOpen(utt: Utterance): void {
    const rem = this.writeBytes % FRAME_BYTES;
    if (rem !== 0) {
      const pad = FRAME_BYTES - rem;
      const pos = this.writeBytes % this.ring.length; // a frame never straddles the ring's end
      this.ring.fill(MULAW_SILENCE_BYTE, pos, pos + pad);
      this.writeBytes += pad;
    }
    utt.isEnded = true;
    utt.endFrame = this.writeBytes / FRAME_BYTES;
  }

  private giveBackRing(): void {
    this.ringPool?.release(this.ring);
    this.ringPool = null;
  }

  /** Grows the ring (doubling) so that it holds `frames` frames from readFrame on. */
  private ensureCapacity(frames: number): void {
    if (frames <= this.capacityFrames) return;
    let capacity = this.capacityFrames;
    while (capacity < frames) capacity *= 2;
    const ring = new Uint8Array(capacity * FRAME_BYTES);
    const end = Math.ceil(this.writeBytes / FRAME_BYTES);
    for (let f = this.readFrame; f < end; f++) {
      const from = (f % this.capacityFrames) * FRAME_BYTES;
      ring.set(this.ring.subarray(from, from + FRAME_BYTES), (f % capacity) * FRAME_BYTES);
    }
    this.giveBackRing();
    this.ring = ring;
    this.capacityFrames = capacity;
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
