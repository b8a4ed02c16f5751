// Pauses inside a turn (TurnDetector with audioBatchMs and pauseMs, for an agent that answers early): a quiet stretch
// of pauseMs inside a turn long enough to keep is reported once, after every sample of the turn so far was handed
// over (the held-back part too); the next loud frame reports the resumption; a quiet stretch shorter than pauseMs,
// or one in a turn still shorter than minTurnMs, is no pause. Driven with synthetic VAD events and levels.
import { describe, expect, it } from 'vitest';
import type { CallerTurn } from '../../src/call/agent-contract.js';
import { TurnDetector, VAD_EVENT_SPEECH_END, VAD_EVENT_SPEECH_START } from '../../src/call/turns.js';

type Heard = { kind: 'started' | 'audio' | 'paused' | 'resumed' | 'turn'; turnId: number; atMs?: number; samples?: number; lastSample?: number };

function makeDetector(pauseMs: number) {
  const heard: Heard[] = [];
  const turns: CallerTurn[] = [];
  const detector = new TurnDetector(
    { onsetMs: 100, hangoverMs: 700, minTurnMs: 300, maxTurnMs: 30_000, bargeIn: { enabled: false, minSpeechMs: 200 }, audioBatchMs: 100, pauseMs },
    {
      isAgentPlaying: () => false, onBargeIn: () => undefined,
      onTurn: (t) => { turns.push(t); heard.push({ kind: 'turn', turnId: t.turnId }); },
      onTurnStarted: (turnId) => heard.push({ kind: 'started', turnId }),
      onTurnAudio: (turnId, pcm) => heard.push({ kind: 'audio', turnId, samples: pcm.length, lastSample: pcm[pcm.length - 1]! }),
      onTurnPaused: (turnId, atMs) => heard.push({ kind: 'paused', turnId, atMs }),
      onTurnResumed: (turnId) => heard.push({ kind: 'resumed', turnId }),
    },
  );
  return { detector, heard, turns };
}

/** Frame i at i*20 ms, every sample = i; frames in `speech` at -20 dBFS, the rest at -60. */
function feed(detector: TurnDetector, n: number, events: Record<number, number>, speech: [number, number][]): void {
  const pcm = new Int16Array(160);
  for (let i = 0; i < n; i++) {
    pcm.fill(i);
    const isSpeech = speech.some(([a, b]) => i >= a && i < b);
    detector.onFrame(events[i] ?? 0, isSpeech ? -20 : -60, pcm, i * 20);
  }
}

describe('pauses inside a turn', () => {
  it('reports a pause once per quiet stretch, with the audio so far handed over, and the resumption', () => {
    const { detector, heard, turns } = makeDetector(240);
    // speech 50..80 (600 ms), quiet 80..100 (400 ms: a pause), speech 100..130, then quiet until the VAD's end
    feed(detector, 200, { 54: VAD_EVENT_SPEECH_START, 164: VAD_EVENT_SPEECH_END }, [[50, 80], [100, 130]]);
    const kinds = heard.filter((h) => h.kind !== 'audio').map((h) => h.kind);
    expect(kinds).toEqual(['started', 'paused', 'resumed', 'paused', 'turn']);
    const firstPause = heard.findIndex((h) => h.kind === 'paused');
    // quiet since frame 80 (1600 ms), reported at its 12th quiet frame
    expect(heard[firstPause]!.atMs).toBe(1600);
    // everything up to the frame the pause was seen on (frame 91) was handed over before it
    const before = heard.slice(0, firstPause).filter((h) => h.kind === 'audio');
    expect(before.at(-1)!.lastSample).toBe(91);
    // the streamed audio never repeats a sample and holds the whole turn (it may run past it by quiet frames)
    const streamed = heard.filter((h) => h.kind === 'audio').reduce((n, h) => n + h.samples!, 0);
    expect(streamed).toBeGreaterThanOrEqual(turns[0]!.pcm8k.length);
    expect(turns).toHaveLength(1);
  });

  it('no pause in a quiet stretch shorter than pauseMs, nor before the turn is long enough to keep, nor with pauses off', () => {
    const short = makeDetector(240);
    // quiet 80..90 is 200 ms only
    feed(short.detector, 200, { 54: VAD_EVENT_SPEECH_START, 164: VAD_EVENT_SPEECH_END }, [[50, 80], [90, 130]]);
    expect(short.heard.filter((h) => h.kind === 'paused' && h.atMs! < 2600)).toEqual([]);
    const early = makeDetector(240);
    // speech 50..55 (100 ms of turn) then quiet: the turn is under minTurnMs when the quiet stretch begins
    feed(early.detector, 100, { 54: VAD_EVENT_SPEECH_START }, [[50, 55]]);
    expect(early.heard.filter((h) => h.kind === 'paused')).toEqual([]);
    const off = makeDetector(0);
    feed(off.detector, 200, { 54: VAD_EVENT_SPEECH_START, 164: VAD_EVENT_SPEECH_END }, [[50, 80], [100, 130]]);
    expect(off.heard.filter((h) => h.kind === 'paused' || h.kind === 'resumed')).toEqual([]);
    expect(() => makeDetector(250)).toThrow(/multiple of 20/);
  });
});
