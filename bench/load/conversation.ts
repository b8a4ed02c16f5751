/**
 * The load conversations, both the reference call conv-en in a loop, cut at the middle of each pause:
 * - `listening` (the default): padded with silence after each utterance long enough for the server's echo of it to
 *   play out in full before the caller speaks again, so no call ever barges in and every playback is measured whole.
 *   The server still listens the whole time: silence frames keep arriving while it plays.
 * - `talk-over`: no padding, conv-en as recorded, looped. conv-en leaves 2 s between utterances and an echo lasts as
 *   long as its turn (3.8-4.8 s), so the caller speaks again while every echo plays: the server clears and starts a
 *   playback every few seconds, as real callers make it do.
 */
import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FRAME_BYTES, FRAME_MS, MULAW_SILENCE_BYTE } from '../../src/twilio/media-format.js';

const MULAW_NEGATIVE_ZERO = 0x7f;

export interface Utterance {
  /** Loop frame index of the first frame holding the utterance's first sample. */
  startFrame: number;
  /** Loop frame index of the frame holding its last sample: the last media frame of the caller's utterance. */
  endFrame: number;
  /**
   * The plain energy rule: its first and last frame that is not digital silence (labels.json's ends run on into
   * 17-20 frames of digital silence after the last word of conv-en).
   */
  voicedFirstFrame: number;
  voicedLastFrame: number;
}

export type ConversationKind = 'listening' | 'talk-over';
export const CONVERSATION_KINDS: readonly ConversationKind[] = ['listening', 'talk-over'];

export interface LoadConversation {
  name: string;
  kind: ConversationKind;
  loopFrames: number;
  /** Base64 of each loop frame's 160 bytes, as ASCII bytes (216 each), ready to copy into a message. */
  payloadAscii: Buffer[];
  /** Whether each loop frame is digital silence (all 0xFF once -0 is folded into +0). */
  isSilent: Uint8Array;
  utterances: Utterance[];
  /** Loop frames where a call may start without cutting into an utterance or its echo. */
  startFrames: number[];
  /** Normalised base64 payload of a non-silent frame -> the loop frames that carry it. */
  contentIndex: Map<string, number[]>;
}

function isDigitalSilence(source: Buffer, frame: number): boolean {
  for (let b = frame * FRAME_BYTES; b < (frame + 1) * FRAME_BYTES; b++) {
    const code = source[b]!;
    if (code !== MULAW_SILENCE_BYTE && code !== MULAW_NEGATIVE_ZERO) return false;
  }
  return true;
}

export function findRepoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'test', 'fixtures'))) return dir;
    dir = dirname(dir);
  }
  throw new Error('cannot find the repository root (package.json next to test/fixtures) above ' + fileURLToPath(import.meta.url));
}

interface Labels { [name: string]: { utterances_s: [number, number][]; total_s: number } }

export interface ConversationOptions {
  name?: string;               // fixture name in test/fixtures (default conv-en)
  echoHangoverMs?: number;     // the server's VAD hangover assumed when padding (default 600)
  echoSlackMs?: number;        // extra silence after each expected echo (default 1500)
  kind?: ConversationKind;     // default listening; talk-over adds no padding
}

export function loadConversation(options: ConversationOptions = {}): LoadConversation {
  const name = options.name ?? 'conv-en';
  const hangoverMs = options.echoHangoverMs ?? 600;
  const slackMs = options.echoSlackMs ?? 1500;
  const kind = options.kind ?? 'listening';
  const root = findRepoRoot();
  const raw = readFileSync(join(root, 'test', 'fixtures', `${name}.8k.ul`));
  const labels = JSON.parse(readFileSync(join(root, 'test', 'fixtures', 'labels.json'), 'utf8')) as Labels;
  const label = labels[name];
  if (!label) throw new Error(`labels.json has no entry for ${name}`);

  const sourceFrames = Math.ceil(raw.length / FRAME_BYTES);
  const source = Buffer.alloc(sourceFrames * FRAME_BYTES, MULAW_SILENCE_BYTE);
  raw.copy(source);
  const utts = label.utterances_s;

  const frames: Buffer[] = [];
  const utterances: Utterance[] = [];
  const silentFrame = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE_BYTE);
  let segStartFrame = 0;
  for (let u = 0; u < utts.length; u++) {
    const [startS, endS] = utts[u]!;
    const next = utts[u + 1];
    const cutS = next ? (endS + next[0]) / 2 : sourceFrames * (FRAME_MS / 1000);
    const segEndFrame = Math.min(sourceFrames, Math.round((cutS * 1000) / FRAME_MS));
    const loopBase = frames.length - segStartFrame;
    for (let f = segStartFrame; f < segEndFrame; f++) frames.push(source.subarray(f * FRAME_BYTES, (f + 1) * FRAME_BYTES));
    const startFrame = Math.floor((startS * 1000) / FRAME_MS);
    const endFrame = Math.floor((endS * 1000 - 0.001) / FRAME_MS);
    let voicedFirst = startFrame;
    let voicedLast = endFrame;
    while (voicedFirst < endFrame && isDigitalSilence(source, voicedFirst)) voicedFirst++;
    while (voicedLast > voicedFirst && isDigitalSilence(source, voicedLast)) voicedLast--;
    utterances.push({
      startFrame: loopBase + startFrame, endFrame: loopBase + endFrame,
      voicedFirstFrame: loopBase + voicedFirst, voicedLastFrame: loopBase + voicedLast,
    });
    // Silence until the echo (hangover + as long as the utterance) has played, plus slack.
    const echoEndMs = endS * 1000 + hangoverMs + (endS - startS) * 1000 + slackMs;
    const padFrames = kind === 'talk-over' ? 0 : Math.max(0, Math.ceil((echoEndMs - segEndFrame * FRAME_MS) / FRAME_MS));
    for (let i = 0; i < padFrames; i++) frames.push(silentFrame);
    segStartFrame = segEndFrame;
  }

  const loopFrames = frames.length;
  const payloadAscii: Buffer[] = [];
  const isSilent = new Uint8Array(loopFrames);
  const contentIndex = new Map<string, number[]>();
  for (let i = 0; i < loopFrames; i++) {
    const frame = frames[i]!;
    payloadAscii.push(Buffer.from(frame.toString('base64'), 'latin1'));
    const norm = Buffer.from(frame);
    let silent = true;
    for (let b = 0; b < norm.length; b++) {
      if (norm[b] === MULAW_NEGATIVE_ZERO) norm[b] = MULAW_SILENCE_BYTE;
      if (norm[b] !== MULAW_SILENCE_BYTE) silent = false;
    }
    isSilent[i] = silent ? 1 : 0;
    if (!silent) {
      const key = norm.toString('base64');
      const list = contentIndex.get(key);
      if (list) list.push(i); else contentIndex.set(key, [i]);
    }
  }

  // A call may start anywhere except inside an utterance (from 100 ms before it to its end + hangover):
  // a turn cut in half would echo a fragment nobody can check.
  const forbidden = new Uint8Array(loopFrames);
  const hangFrames = Math.ceil(hangoverMs / FRAME_MS);
  for (const u of utterances) {
    for (let f = Math.max(0, u.startFrame - 5); f <= Math.min(loopFrames - 1, u.endFrame + hangFrames); f++) forbidden[f] = 1;
  }
  const startFrames: number[] = [];
  for (let f = 0; f < loopFrames; f++) if (!forbidden[f]) startFrames.push(f);

  return { name, kind, loopFrames, payloadAscii, isSilent, utterances, startFrames, contentIndex };
}
