// Talking over the agent, through the real server (echo agent, one edge thread, barge-in on as by default). Each call
// is built from a reference call: its first utterance, about a second of silence (the turn ends and its echo starts),
// then its second utterance spoken while that echo is still playing. The server must send `clear` within 600 ms of
// the interrupting speech's first sound (measured from when the Caller actually wrote that frame to when the clear
// arrived), send no frame of the old playback after it, and go on: the interrupting turn is echoed in its turn.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerEvent, CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import {
  FRAME_MS,
  firstSoundFrame,
  framesOf,
  loadReferenceCall,
  runCall,
  silenceFrames,
  splice,
  waitUntilNoCalls,
  type ReferenceCallName,
  type VersionCounters,
} from './reference-calls.js';

/** The bound of issue 4: from the caller's first sound over a playback to the clear. */
const CLEAR_WITHIN_MS = 600;
/** Silence between the first utterance and the interruption: the turn ends (VAD hangover) and its echo starts. */
const PAUSE_FRAMES = 60;
/** After the interruption: its turn ends and its echo begins, and the caller hears that start. */
const AFTER_FRAMES = 75;
const TAIL_MS = 1_500;
/** The Caller's event times are rounded to the millisecond (its frames' are not): a clear at 7025.4 reads 7025. */
const EVENT_ROUNDING_MS = 0.5;

interface Interruption {
  name: ReferenceCallName;
  audio: Uint8Array;
  /** Frames of the first utterance (and of its echo, if it were not cut). */
  firstUtteranceFrames: number;
  /** First frame of the interrupting speech that carries sound, and the frame after its last. */
  speechFrame: number;
  speechEndFrame: number;
}

function buildInterruption(name: ReferenceCallName): Interruption {
  const call = loadReferenceCall(name);
  const [[, firstEnd], [secondStart, secondEnd]] = call.utteranceFrames as [[number, number], [number, number]];
  const first = framesOf(call.audio, 0, firstEnd + 5);
  const pause = silenceFrames(PAUSE_FRAMES);
  const second = framesOf(call.audio, secondStart - 3, secondEnd + 3);
  const audio = splice(first, pause, second, silenceFrames(AFTER_FRAMES));
  const secondAt = first.length / 160 + PAUSE_FRAMES;
  const speechFrame = firstSoundFrame(audio, secondAt);
  if (speechFrame < 0) throw new Error(`${name}: no sound in the second utterance`);
  return { name, audio, firstUtteranceFrames: firstEnd - call.utteranceFrames[0]![0], speechFrame, speechEndFrame: secondAt + (second.length / 160) };
}

interface Observed {
  call: Interruption;
  result: CallerResult;
  /** ms since the socket opened (the Caller's clock) when the frames were written. */
  speechSentAtMs: number;
  speechEndSentAtMs: number;
  clearAtMs: number;
}

const interruptions = [buildInterruption('conv-en'), buildInterruption('conv-he')];
const observed = new Map<string, Observed>();
let server: RunningServer;
let countersAfter: VersionCounters;

async function play(call: Interruption): Promise<Observed> {
  let speechSentAtMs = NaN;
  let speechEndSentAtMs = NaN;
  let clearAtMs = NaN;
  const result = await runCall(server, call.audio, {
    tailMs: TAIL_MS,
    onMediaSent: (frame, sentAtMs) => {
      if (frame === call.speechFrame) speechSentAtMs = sentAtMs;
      if (frame === call.speechEndFrame - 1) speechEndSentAtMs = sentAtMs;
    },
    onEvent: (event: CallerEvent) => {
      if (event.type === 'clear-in' && Number.isNaN(clearAtMs)) clearAtMs = event.tMs;
    },
  });
  return { call, result, speechSentAtMs, speechEndSentAtMs, clearAtMs };
}

beforeAll(async () => {
  server = await startServer({ env: { EDGE_THREADS: '1', LOG_LEVEL: 'warn', BARGE_IN: 'on' } });
  for (const o of await Promise.all(interruptions.map(play))) observed.set(o.call.name, o);
  countersAfter = await waitUntilNoCalls(server, 5_000);
}, 40_000);

afterAll(async () => {
  await server?.stop();
});

function observedOf(call: Interruption): Observed {
  const o = observed.get(call.name);
  if (o === undefined) throw new Error(`${call.name} did not run`);
  return o;
}

function describeCall(o: Observed): string {
  return JSON.stringify({
    speechSentAtMs: Math.round(o.speechSentAtMs),
    speechEndSentAtMs: Math.round(o.speechEndSentAtMs),
    clearAtMs: o.clearAtMs,
    playbacks: o.result.playbacks.map((p) => ({ frames: p.length, firstMs: p[0], lastMs: p[p.length - 1] })),
    maxSendLateMs: Math.round(o.result.maxSendLateMs),
    events: o.result.events,
  });
}

describe.each(interruptions)('$name: speaking over the first echo', (call) => {
  it('was speaking over a playing echo (the setup holds)', () => {
    const o = observedOf(call);
    const firstEcho = o.result.playbacks[0] ?? [];
    expect(firstEcho.length, describeCall(o)).toBeGreaterThan(0);
    // the echo was playing when the caller started speaking
    expect(firstEcho[0]!, describeCall(o)).toBeLessThan(o.speechSentAtMs);
  });

  it(`brings a clear within ${CLEAR_WITHIN_MS} ms of the caller's first sound`, () => {
    const o = observedOf(call);
    expect(o.result.clears, describeCall(o)).toBe(1);
    const latencyMs = o.clearAtMs - o.speechSentAtMs;
    expect(latencyMs, describeCall(o)).toBeGreaterThan(0);
    expect(latencyMs, describeCall(o)).toBeLessThanOrEqual(CLEAR_WITHIN_MS);
  });

  it('sends no frame of the old playback after the clear', () => {
    const o = observedOf(call);
    const firstEcho = o.result.playbacks[0] ?? [];
    // the first echo was cut: fewer frames than its turn, the last of them before the clear
    expect(firstEcho.length, describeCall(o)).toBeLessThan(call.firstUtteranceFrames * 0.75);
    // (a pass may send a frame and then, from the same pass's inbound batch, the clear: microseconds apart)
    expect(firstEcho[firstEcho.length - 1]!, describeCall(o)).toBeLessThanOrEqual(o.clearAtMs + EVENT_ROUNDING_MS);
    // Until the interrupting speech has ended no new echo can start, so any frame in between would be an old one.
    const framesAfterClear = o.result.playbacks.flat().filter((t) => t > o.clearAtMs + EVENT_ROUNDING_MS && t < o.speechEndSentAtMs);
    expect(framesAfterClear, describeCall(o)).toEqual([]);
    // the cut echo's mark, if it had been sent, was returned at the clear and is not counted as heard (below)
  });

  it('goes on: the interrupting turn is echoed after it ends', () => {
    const o = observedOf(call);
    expect(o.result.playbacks.length, describeCall(o)).toBe(2);
    const secondEcho = o.result.playbacks[1] ?? [];
    expect(secondEcho[0]!, describeCall(o)).toBeGreaterThan(o.speechEndSentAtMs);
    expect(o.result.wrongStreamSid).toBe(0);
    expect(o.result.badFrameSize).toBe(0);
    expect(o.result.closeCode).toBe(1000);
  });
});

it('counts one barge-in per call, and a cut echo is never counted as heard', () => {
  expect(countersAfter.activeCalls).toBe(0);
  expect(countersAfter.callsTotal).toBe(interruptions.length);
  expect(countersAfter.call).toMatchObject({ liveSessions: 0, bargeIns: interruptions.length });
  for (const call of interruptions) {
    const o = observedOf(call);
    // the cut echo's last frame was never sent, so neither was its mark: every mark came after the clear
    const marksBeforeClear = o.result.events.filter((e) => e.type === 'mark-in' && e.tMs < o.clearAtMs);
    expect(marksBeforeClear, describeCall(o)).toEqual([]);
  }
  // what Twilio returned is heard (the interrupting turn's whole echo, when it finished in time) or flushed
  const returned = interruptions.reduce((n, call) => n + observedOf(call).result.marksEchoed.length, 0);
  expect((countersAfter.call['marksHeard'] ?? 0) + (countersAfter.call['marksFlushed'] ?? 0)).toBe(returned);
});

it('measures with the frame schedule intact (the Caller was not stalled)', () => {
  // Not a timing assertion on the server: a Caller that ran far behind its schedule would make the numbers above
  // meaningless, and this says so instead of failing obscurely.
  for (const call of interruptions) expect(observedOf(call).result.maxSendLateMs, call.name).toBeLessThan(40 * FRAME_MS);
});
