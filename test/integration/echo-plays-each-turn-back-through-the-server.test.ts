// The reference calls (English and Hebrew, two utterances each) played into the real server (`node dist/src/main.js`,
// the echo agent, two edge threads) by the Twilio-like Caller, both at once. Barge-in is off: in both calls the second
// utterance starts while the first echo still plays, and this file is about what a playback is, not about cutting it.
// Each call must come back as two playbacks, each its turn's length and the caller's own audio, paced over its own
// duration (not dumped), every frame 160 bytes for the right stream, each followed by a mark that the server then
// counts as heard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import {
  FRAME_BYTES,
  FRAME_MS,
  arrivalSpanMs,
  bestFrameAlignedMatch,
  loadReferenceCall,
  runCall,
  waitUntilNoCalls,
  type ReferenceCall,
  type VersionCounters,
} from './reference-calls.js';

/** After the last utterance: its echo (under 4 s in both calls) starts within about a second and must be heard. */
const TAIL_MS = 6_000;

const calls: ReferenceCall[] = [loadReferenceCall('conv-en'), loadReferenceCall('conv-he')];
const results = new Map<string, CallerResult>();
let server: RunningServer;
let countersAfter: VersionCounters;

beforeAll(async () => {
  server = await startServer({ env: { EDGE_THREADS: '2', LOG_LEVEL: 'warn', BARGE_IN: 'off' } });
  const finished = await Promise.all(calls.map((call) => runCall(server, call.audio, { tailMs: TAIL_MS })));
  calls.forEach((call, i) => results.set(call.name, finished[i] as CallerResult));
  countersAfter = await waitUntilNoCalls(server, 5_000);
}, 40_000);

afterAll(async () => {
  await server?.stop();
});

function resultOf(call: ReferenceCall): CallerResult {
  const result = results.get(call.name);
  if (result === undefined) throw new Error(`${call.name} did not run`);
  return result;
}

/** What a failure should show: the call's playbacks and event log. */
function describeCall(result: CallerResult): string {
  return JSON.stringify({
    playbacks: result.playbacks.map((p) => ({ frames: p.length, firstMs: p[0], spanMs: Math.round(arrivalSpanMs(p)) })),
    marks: result.marksReceived,
    events: result.events,
  });
}

describe.each(calls)('$name through the real server', (call) => {
  it('gives two turns: two playbacks, each followed by its own mark', () => {
    const result = resultOf(call);
    expect(result.playbacks.length, describeCall(result)).toBe(2);
    expect(result.marksReceived, describeCall(result)).toHaveLength(2);
    expect(new Set(result.marksReceived).size).toBe(2);
    // the caller returned each mark (after the audio before it had played), and nothing was cleared
    expect(result.marksEchoed).toEqual(result.marksReceived);
    expect(result.clears).toBe(0);
    // playback, mark, playback, mark: a mark closes each playback before the next one begins
    const order = result.events.filter((e) => e.type === 'playback-start' || e.type === 'mark-in').map((e) => e.type);
    expect(order).toEqual(['playback-start', 'mark-in', 'playback-start', 'mark-in']);
  });

  it("plays each echo for its labelled utterance's length (within 25%)", () => {
    const result = resultOf(call);
    expect(result.playbacks.length, describeCall(result)).toBe(call.utteranceFrames.length);
    call.utteranceFrames.forEach(([first, end], i) => {
      const utteranceFrames = end - first;
      const echoFrames = result.playbacks[i]?.length ?? 0;
      expect(Math.abs(echoFrames - utteranceFrames) / utteranceFrames, `echo ${i + 1}: ${echoFrames} frames for an utterance of ${utteranceFrames}`)
        .toBeLessThanOrEqual(0.25);
    });
  });

  it("echoes the caller's own audio, in order", () => {
    const result = resultOf(call);
    let at = 0;
    let previousFrame = -1;
    result.playbacks.forEach((arrivals, i) => {
      const echo = result.receivedMulaw.subarray(at * FRAME_BYTES, (at + arrivals.length) * FRAME_BYTES);
      at += arrivals.length;
      const match = bestFrameAlignedMatch(call.audio, echo);
      // mu-law -> PCM -> mu-law keeps every code but negative zero: the echo is a stretch of what the caller said
      expect(match.equalShare, `echo ${i + 1}`).toBeGreaterThan(0.95);
      const [first, end] = call.utteranceFrames[i] as [number, number];
      expect(match.frame, `echo ${i + 1} starts in utterance ${i + 1}`).toBeGreaterThanOrEqual(first - 10);
      expect(match.frame).toBeLessThan(end);
      expect(match.frame).toBeGreaterThan(previousFrame);
      previousFrame = match.frame;
    });
  });

  it('paces each playback over its own audio length instead of dumping it', () => {
    const result = resultOf(call);
    expect(result.playbacks.length).toBeGreaterThan(0);
    for (const arrivals of result.playbacks) {
      const audioMs = arrivals.length * FRAME_MS;
      const spanMs = arrivalSpanMs(arrivals);
      // Only a few frames (the buffer lead) may arrive at once; the rest come one per 20 ms.
      expect(spanMs, describeCall(result)).toBeGreaterThanOrEqual(0.75 * audioMs);
      // and no stall stretches it far beyond its length
      expect(spanMs, describeCall(result)).toBeLessThanOrEqual(1.25 * audioMs + 500);
    }
  });

  it('sends every frame as 160 bytes of mu-law for the call\'s own streamSid', () => {
    const result = resultOf(call);
    const frames = result.playbacks.reduce((n, p) => n + p.length, 0);
    expect(result.framesReceived).toBe(frames);
    expect(result.framesReceived).toBeGreaterThan(0);
    expect(result.badFrameSize).toBe(0);
    expect(result.wrongStreamSid).toBe(0);
    expect(result.invalidMessages).toBe(0);
    expect(result.receivedMulaw.length).toBe(result.framesReceived * FRAME_BYTES);
    // and the call ended as Twilio ends one: our stop, a normal close
    expect(result.closeCode).toBe(1000);
  });
});

it('counts the marks Twilio returned as heard, and holds no call afterwards', () => {
  const marksReturned = calls.reduce((n, call) => n + resultOf(call).marksEchoed.length, 0);
  const framesReceived = calls.reduce((n, call) => n + resultOf(call).framesReceived, 0);
  expect(countersAfter.activeCalls).toBe(0);
  expect(countersAfter.callsTotal).toBe(calls.length);
  expect(countersAfter.call).toMatchObject({
    liveSessions: 0,
    turns: 2 * calls.length,
    marksSent: marksReturned,
    marksHeard: marksReturned,
    marksFlushed: 0,
    bargeIns: 0,
    framesOut: framesReceived,
    dropped: 0,
  });
});
