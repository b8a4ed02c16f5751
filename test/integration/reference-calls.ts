// What the integration tests share: the reference calls from test/fixtures (raw 8 kHz mu-law, the bytes of Twilio
// media payloads) with their labelled utterances, ways to cut and splice them into new calls in whole 20 ms frames,
// the Caller pointed at a running server, and a poll of /version until the server's calls are gone.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Caller, type CallerOptions, type CallerResult } from '../../src/cli/caller.js';
import { getJson, REPO_ROOT, type RunningServer } from '../helpers/server.js';

export const FRAME_BYTES = 160;
export const FRAME_MS = 20;
const MULAW_SILENCE = 0xff;
/** The other mu-law code for zero (negative zero). */
const MULAW_NEGATIVE_ZERO = 0x7f;

export type ReferenceCallName = 'conv-en' | 'conv-he';

export interface ReferenceCall {
  name: ReferenceCallName;
  audio: Uint8Array;
  /** Labelled utterances, in frames of the file: [first frame, end frame). */
  utteranceFrames: Array<[number, number]>;
}

interface LabelsFile {
  [name: string]: { utterances_s: Array<[number, number]>; total_s: number };
}

const FIXTURES = join(REPO_ROOT, 'test', 'fixtures');

export function loadReferenceCall(name: ReferenceCallName): ReferenceCall {
  const labels = JSON.parse(readFileSync(join(FIXTURES, 'labels.json'), 'utf8')) as LabelsFile;
  const entry = labels[name];
  if (entry === undefined) throw new Error(`labels.json has no ${name}`);
  const audio = new Uint8Array(readFileSync(join(FIXTURES, `${name}.8k.ul`)));
  const toFrame = (seconds: number): number => Math.round((seconds * 1000) / FRAME_MS);
  return { name, audio, utteranceFrames: entry.utterances_s.map(([start, end]) => [toFrame(start), toFrame(end)]) };
}

/** Frames [from, to) of `audio` (clamped to its length). */
export function framesOf(audio: Uint8Array, from: number, to: number): Uint8Array {
  return audio.subarray(Math.max(0, from) * FRAME_BYTES, Math.min(audio.length, to * FRAME_BYTES));
}

export function silenceFrames(frames: number): Uint8Array {
  return new Uint8Array(frames * FRAME_BYTES).fill(MULAW_SILENCE);
}

/** Joins pieces (each a whole number of frames) into one call's audio. */
export function splice(...pieces: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(pieces.reduce((n, piece) => n + piece.length, 0));
  let at = 0;
  for (const piece of pieces) {
    if (piece.length % FRAME_BYTES !== 0) throw new Error(`a piece of ${piece.length} bytes is not whole frames`);
    out.set(piece, at);
    at += piece.length;
  }
  return out;
}

/** The first frame at or after `from` that is not digital silence (the reference calls are silent between utterances). */
export function firstSoundFrame(audio: Uint8Array, from: number): number {
  for (let frame = from; frame * FRAME_BYTES < audio.length; frame++) {
    const bytes = framesOf(audio, frame, frame + 1);
    if (bytes.some((code) => code !== MULAW_SILENCE && code !== MULAW_NEGATIVE_ZERO)) return frame;
  }
  return -1;
}

export function mediaUrl(server: RunningServer): string {
  return `${server.wsBaseUrl}/ws/twilio-media`;
}

/** Plays `audio` into the server like Twilio (paced, marks returned once played), then stop after `tailMs`. */
export function runCall(server: RunningServer, audio: Uint8Array, options: Partial<CallerOptions> = {}): Promise<CallerResult> {
  return new Caller({ url: mediaUrl(server), audio, ...options }).run();
}

export interface VersionCounters {
  /** The edge's live media sockets, summed over threads. */
  activeCalls: number;
  /** The call engine's counters, summed over threads. */
  call: Record<string, number>;
  /** The edge's sockets that have not sent an accepted start (not calls). */
  socketsAwaitingStart: number;
  /** Calls (streams whose start was accepted) since the server started: the edge's count. */
  callsTotal: number;
}

export async function readCounters(server: RunningServer): Promise<VersionCounters> {
  const { body } = await getJson(`${server.baseUrl}/version`);
  const edge = (body['counters'] ?? {}) as Record<string, number>;
  return { activeCalls: Number(body['activeCalls']), call: (body['call'] ?? {}) as Record<string, number>, socketsAwaitingStart: Number(edge['socketsAwaitingStart']), callsTotal: Number(edge['callsTotal']) };
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

/** Polls /version until neither the edge nor the call engine holds a call; returns the last reading either way. */
export async function waitUntilNoCalls(server: RunningServer, timeoutMs: number): Promise<VersionCounters> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const counters = await readCounters(server);
    const isEmpty = counters.activeCalls === 0 && counters.call['liveSessions'] === 0 && counters.socketsAwaitingStart === 0;
    if (isEmpty || Date.now() > deadline) return counters;
    await sleep(100);
  }
}

/** Arrival span of a playback's frames (first to last), in ms. */
export function arrivalSpanMs(arrivals: number[]): number {
  return arrivals.length < 2 ? 0 : (arrivals[arrivals.length - 1] as number) - (arrivals[0] as number);
}

/**
 * Where `echo` (whole frames) sits in `audio` with the most equal bytes, searching frame-aligned offsets; returns the
 * share of equal bytes there (1 = the echo is exactly a stretch of the caller's audio).
 */
export function bestFrameAlignedMatch(audio: Uint8Array, echo: Uint8Array): { frame: number; equalShare: number } {
  const echoFrames = Math.floor(echo.length / FRAME_BYTES);
  const audioFrames = Math.floor(audio.length / FRAME_BYTES);
  let best = { frame: -1, equalShare: 0 };
  for (let start = 0; start + echoFrames <= audioFrames; start++) {
    let equal = 0;
    const base = start * FRAME_BYTES;
    for (let i = 0; i < echoFrames * FRAME_BYTES; i++) if (audio[base + i] === echo[i]) equal++;
    const share = equal / (echoFrames * FRAME_BYTES);
    if (share > best.equalShare) best = { frame: start, equalShare: share };
  }
  return best;
}
