// Where the caller's utterances are in the audio it streams, found from the audio itself: each 20 ms frame's level
// (RMS, dBFS) against a threshold set from the file's own noise floor, so that a recording with room noise between
// sentences splits as well as one with digital silence. A frame is voiced when its level is at least
// VOICED_ABOVE_FLOOR_DB over the floor (the 10th percentile of frame levels) and at least MIN_VOICED_DBFS; voiced
// frames closer than MIN_PAUSE_MS belong to one utterance (pauses between words and clauses), and a run shorter than
// MIN_UTTERANCE_MS (a click) is none. The caller's --listen mode waits for the agent's reply in the middle of each
// pause after an utterance (listenPauseFrames).
import { FRAME_BYTES, FRAME_MS } from '../twilio/media-format.js';

/** Level over the noise floor for a frame to count as speech. */
export const VOICED_ABOVE_FLOOR_DB = 10;
/** A frame quieter than this is never speech, whatever the floor (digital silence has no floor). */
export const MIN_VOICED_DBFS = -55;
/**
 * Quiet shorter than this is a pause within an utterance: longer than the server's default VAD hangover (600 ms), so
 * that a pause the server does not take for the end of a turn is not one for the caller either.
 */
export const MIN_PAUSE_MS = 800;
/** Voiced runs shorter than this are not utterances. */
export const MIN_UTTERANCE_MS = 100;
/** The level given to a frame of digital silence. */
const SILENT_FRAME_DBFS = -120;
const FULL_SCALE = 32768;

/** One utterance, in frames of the file: [startFrame, endFrame). */
export interface FrameSpan {
  startFrame: number;
  endFrame: number;
}

/** G.711 mu-law code -> linear 16-bit sample. */
const MULAW_TO_LINEAR = new Int16Array(256);
for (let code = 0; code < 256; code++) {
  const u = ~code & 0xff;
  const exponent = (u >> 4) & 7;
  const magnitude = ((((u & 15) << 3) + 0x84) << exponent) - 0x84;
  MULAW_TO_LINEAR[code] = u & 0x80 ? -magnitude : magnitude;
}

/** Each 20 ms frame's RMS level in dBFS (a last partial frame over its own samples). */
export function frameLevelsDbfs(mulaw: Uint8Array): Float64Array {
  const frames = Math.ceil(mulaw.length / FRAME_BYTES);
  const levels = new Float64Array(frames);
  for (let f = 0; f < frames; f++) {
    const from = f * FRAME_BYTES;
    const to = Math.min(mulaw.length, from + FRAME_BYTES);
    let sumSquares = 0;
    for (let i = from; i < to; i++) sumSquares += MULAW_TO_LINEAR[mulaw[i]!]! ** 2;
    const rms = Math.sqrt(sumSquares / (to - from));
    levels[f] = rms > 0 ? Math.max(SILENT_FRAME_DBFS, 20 * Math.log10(rms / FULL_SCALE)) : SILENT_FRAME_DBFS;
  }
  return levels;
}

/** The utterances of a mu-law recording, in order. */
export function findUtterances(mulaw: Uint8Array): FrameSpan[] {
  const levels = frameLevelsDbfs(mulaw);
  if (levels.length === 0) return [];
  const sorted = Float64Array.from(levels).sort();
  const floorDbfs = sorted[Math.floor(0.1 * (sorted.length - 1))]!;
  const thresholdDbfs = Math.max(floorDbfs + VOICED_ABOVE_FLOOR_DB, MIN_VOICED_DBFS);
  const pauseFrames = Math.ceil(MIN_PAUSE_MS / FRAME_MS);
  const minFrames = Math.ceil(MIN_UTTERANCE_MS / FRAME_MS);
  const spans: FrameSpan[] = [];
  let current: FrameSpan | undefined;
  for (let f = 0; f < levels.length; f++) {
    if (levels[f]! < thresholdDbfs) continue;
    if (current && f - current.endFrame < pauseFrames) {
      current.endFrame = f + 1;
    } else {
      if (current && current.endFrame - current.startFrame >= minFrames) spans.push(current);
      current = { startFrame: f, endFrame: f + 1 };
    }
  }
  if (current && current.endFrame - current.startFrame >= minFrames) spans.push(current);
  return spans;
}

/**
 * Where a listening caller stops after each utterance to wait for the reply: the frame index in the middle of the
 * pause that follows it (the next utterance's start, or the end of the file, bounds the pause).
 */
export function listenPauseFrames(utterances: FrameSpan[], totalFrames: number): number[] {
  return utterances.map((u, i) => {
    const pauseEnd = utterances[i + 1]?.startFrame ?? totalFrames;
    return u.endFrame + Math.floor((pauseEnd - u.endFrame) / 2);
  });
}
