// A barge-in that may be nothing. When the caller speaks over the agent, the playback is cleared at once (the caller
// must not be talked over), but the reply is not thrown away yet: it is held until the interrupting turn is known. If
// that turn turns out to be nothing (dropped as too short by the turn detector, not worth transcribing, an empty or
// hallucinated transcript, or only a backchannel), the line resumes where the caller stopped hearing it, backed up by
// RESUME_BACKUP_FRAMES (240 ms) so that the word that was cut is heard again whole, followed by whatever of the reply
// was synthesized meanwhile and what is still to come; if it is a real turn, the reply is cut as before (the history
// keeps what was heard).
//
// Held, not re-synthesized: the reply's audio is already here (each sentence's mu-law, kept while it may still be
// needed), so a resume is exact to the frame and costs no provider round trip (a re-synthesis would add a TTS
// latency and could only guess the restart point from the text); the generation goes on while held, its audio
// buffered instead of played. Bounded: an utterance keeps at most MAX_RESUMABLE_FRAMES of audio (a longer one is
// not resumable: its barge-in cuts it as before), and a verdict that has not come MAX_HOLD_MS after the barge-in
// counts as a real turn (the held reply is cut and its audio let go).
import { FRAME_BYTES } from '../twilio/media-format.js';

/** What became of the line the caller spoke over (counted: aicrmd_interruptions_total). */
export type InterruptionVerdict = 'resumed' | 'cut' | 'expired' | 'stopped_by_words';

/** A resume starts this many frames (240 ms) before the caller's last heard frame, so the cut word is not clipped. */
export const RESUME_BACKUP_FRAMES = 12;
/** A held reply whose turn has no verdict after this long is cut (the turn ran long, or never reached ASR). */
export const MAX_HOLD_MS = 10_000;
/** The audio an utterance keeps for a resume: 30 s. */
export const MAX_RESUMABLE_FRAMES = 1500;

/** An utterance's audio as enqueued, kept for a resume (frame k is bytes k*160.. of the concatenation). */
export interface ResumableAudio {
  audio: Uint8Array[];
  audioBytes: number;
  /** False once the utterance outgrew MAX_RESUMABLE_FRAMES (its audio is let go). */
  isResumable: boolean;
}

export function newResumableAudio(): ResumableAudio {
  return { audio: [], audioBytes: 0, isResumable: true };
}

/** Keeps one more piece of the utterance's audio (the playout copied it; nobody reuses the pipeline's arrays). */
export function keepAudio(target: ResumableAudio, mulaw: Uint8Array): void {
  if (!target.isResumable) return;
  if (target.audioBytes + mulaw.length > MAX_RESUMABLE_FRAMES * FRAME_BYTES) {
    letGoAudio(target);
    return;
  }
  target.audio.push(mulaw);
  target.audioBytes += mulaw.length;
}

export function letGoAudio(target: ResumableAudio): void {
  target.audio = [];
  target.audioBytes = 0;
  target.isResumable = false;
}

/** Frames of the kept audio (the last one padded by the playout). */
export function audioFrames(target: ResumableAudio): number {
  return Math.ceil(target.audioBytes / FRAME_BYTES);
}

/** Where a resume starts, given the frames heard of the utterance. */
export function resumeFrame(framesHeard: number): number {
  return Math.max(0, framesHeard - RESUME_BACKUP_FRAMES);
}

/** The kept audio from frame `fromFrame` on, as one array (once per resume). */
export function audioFromFrame(target: ResumableAudio, fromFrame: number): Uint8Array {
  const from = Math.min(target.audioBytes, fromFrame * FRAME_BYTES);
  const out = new Uint8Array(target.audioBytes - from);
  let at = 0;
  let skip = from;
  for (const piece of target.audio) {
    if (skip >= piece.length) {
      skip -= piece.length;
      continue;
    }
    const part = skip > 0 ? piece.subarray(skip) : piece;
    out.set(part, at);
    at += part.length;
    skip = 0;
  }
  return out;
}

/** One utterance in a hold: how much of it the caller had heard when the barge-in cleared it. */
export interface HeldEntry<T> {
  readonly item: T;
  readonly framesHeard: number;
}

/** The utterances a barge-in cleared (and those the reply made since), oldest first, until the verdict. */
export class BargeInHold<T> {
  readonly entries: HeldEntry<T>[] = [];
  readonly startedAtMs = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor(onExpired: () => void, maxHoldMs: number = MAX_HOLD_MS) {
    this.timer = setTimeout(onExpired, maxHoldMs);
    this.timer.unref?.();
  }

  has(item: T): boolean {
    return this.entries.some((entry) => entry.item === item);
  }

  add(item: T, framesHeard: number): void {
    if (!this.has(item)) this.entries.push({ item, framesHeard });
  }

  /** The hold is over (a verdict, the call's end): its timer goes. */
  end(): void {
    clearTimeout(this.timer);
  }
}
