// The held reply's audio (src/agent/barge-in-hold.ts): the pieces an utterance was enqueued in are kept up to
// MAX_RESUMABLE_FRAMES (past it the utterance is not resumable and its audio is let go), a resume reads the kept
// audio from any frame, across the pieces' boundaries, and starts RESUME_BACKUP_FRAMES before the last heard frame
// (never before the start); a hold whose verdict never comes fires once after its bound.
import { describe, expect, it } from 'vitest';
import {
  audioFrames, audioFromFrame, BargeInHold, keepAudio, MAX_RESUMABLE_FRAMES, newResumableAudio, RESUME_BACKUP_FRAMES, resumeFrame,
} from '../../src/agent/barge-in-hold.js';

const FRAME_BYTES = 160;
/** `frames` frames whose bytes count up from `first` (so that any offset can be told apart). */
function piece(frames: number, first: number): Uint8Array {
  return Uint8Array.from({ length: frames * FRAME_BYTES }, (_, i) => (first + i) % 251);
}

describe('a held reply', () => {
  it('reads its audio back from any frame, across the pieces it was enqueued in', () => {
    const audio = newResumableAudio();
    const pieces = [piece(3, 0), piece(5, 1), piece(2, 2)];
    for (const p of pieces) keepAudio(audio, p);
    const whole = Buffer.concat(pieces);
    expect(audioFrames(audio)).toBe(10);
    for (const from of [0, 2, 3, 4, 8, 9, 10, 12]) {
      expect(Buffer.from(audioFromFrame(audio, from)).equals(whole.subarray(Math.min(10, from) * FRAME_BYTES))).toBe(true);
    }
  });

  it('resumes RESUME_BACKUP_FRAMES before the last heard frame, never before the start', () => {
    expect(resumeFrame(50)).toBe(50 - RESUME_BACKUP_FRAMES);
    expect(resumeFrame(5)).toBe(0);
    expect(resumeFrame(0)).toBe(0);
  });

  it('keeps at most MAX_RESUMABLE_FRAMES of audio: a longer utterance is not resumable and holds nothing', () => {
    const audio = newResumableAudio();
    keepAudio(audio, piece(MAX_RESUMABLE_FRAMES - 1, 0));
    expect(audio.isResumable).toBe(true);
    keepAudio(audio, piece(2, 0));
    expect(audio.isResumable).toBe(false);
    expect(audio.audioBytes).toBe(0);
    expect(audio.audio).toEqual([]);
    keepAudio(audio, piece(1, 0));
    expect(audio.audioBytes).toBe(0);
  });

  it('a hold without a verdict fires once after its bound; one that ended does not', async () => {
    let expired = 0;
    const hold = new BargeInHold<string>(() => expired++, 30);
    hold.add('a', 10);
    hold.add('a', 99); // already held: its heard frames stay
    expect(hold.entries).toEqual([{ item: 'a', framesHeard: 10 }]);
    const ended = new BargeInHold<string>(() => expired++, 30);
    ended.end();
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect(expired).toBe(1);
  });
});
