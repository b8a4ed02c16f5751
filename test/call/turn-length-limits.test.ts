// Turns from VAD events: the start is moved back by the onset time, the hangover's silence is trimmed from the end,
// turns shorter than minTurnMs are dropped, and maxTurnMs forces an end (no new turn until the VAD hears the end).
// Driven with synthetic VAD events, so the rules are checked without the DSP.
import { describe, expect, it } from 'vitest';
import type { CallerTurn } from '../../src/call/agent-contract.js';
import { TurnAudioPool } from '../../src/call/turn-audio-pool.js';
import { TurnDetector, VAD_EVENT_SPEECH_END, VAD_EVENT_SPEECH_START, type TurnDetectorOptions } from '../../src/call/turns.js';

const ONSET_MS = 100;
const HANGOVER_MS = 400;

function makeDetector(overrides: Partial<TurnDetectorOptions> = {}, isPlaying = () => false) {
  const turns: CallerTurn[] = [];
  const bargeIns: number[] = [];
  const dropped: number[] = [];
  const detector = new TurnDetector(
    { onsetMs: ONSET_MS, hangoverMs: HANGOVER_MS, minTurnMs: 300, maxTurnMs: 30_000, bargeIn: { enabled: true, minSpeechMs: 200 }, ...overrides },
    { isAgentPlaying: isPlaying, onBargeIn: (at) => bargeIns.push(at), onTurn: (t) => turns.push(t), onTurnDropped: (d) => dropped.push(d) },
  );
  return { detector, turns, bargeIns, dropped };
}

/**
 * Feeds frames from..from+n-1 (frame i at i*20 ms, every sample = i so the audio can be traced), with the VAD's
 * events at the given frame indexes; frames inside `speech` ([first, end) frame ranges) are at -20 dBFS, the rest
 * at -60 dBFS.
 */
function feed(detector: TurnDetector, n: number, events: Record<number, number>, from = 0, speech: [number, number][] = [[0, 1e9]]): void {
  const pcm = new Int16Array(160);
  for (let i = from; i < from + n; i++) {
    pcm.fill(i);
    const isSpeech = speech.some(([a, b]) => i >= a && i < b);
    detector.onFrame(events[i] ?? 0, isSpeech ? -20 : -60, pcm, i * 20);
  }
}

describe('TurnDetector', () => {
  it('starts a turn at the onset minus the onset time and ends it at the hangover, with its audio', () => {
    const { detector, turns } = makeDetector();
    // speech from frame 50 (1000 ms): onset reported at frame 54 (100 ms of speech), speech ends at frame 150
    // (3000 ms), end reported 400 ms later at frame 169
    feed(detector, 200, { 54: VAD_EVENT_SPEECH_START, 169: VAD_EVENT_SPEECH_END }, 0, [[50, 150]]);
    expect(turns.length).toBe(1);
    const turn = turns[0]!;
    expect(turn.startMs).toBe(1000);
    expect(turn.endMs).toBe(3000);
    expect(turn.endReason).toBe('silence');
    // audio: 2 lead-in frames (48, 49) + speech 50..149 + 100 ms tail (150..154)
    const firstFrame = turn.pcm8k[0];
    expect(firstFrame).toBe(48);
    expect(turn.pcm8k[turn.pcm8k.length - 1]).toBe(154);
    expect(turn.durationMs).toBe((154 - 48 + 1) * 20);
    expect(turn.peakDbfs).toBeCloseTo(-20);
    expect(turn.meanDbfs).toBeLessThan(-20);
    expect(turn.meanDbfs).toBeGreaterThan(-21);
    expect(turn.turnId).toBe(1);
  });

  it('drops a turn shorter than minTurnMs', () => {
    const { detector, turns, dropped } = makeDetector({ minTurnMs: 300 });
    // onset at frame 14 -> start 200 ms; end event at frame 34 -> speech end 700 - 400 = 300 ms: 100 ms long
    feed(detector, 60, { 14: VAD_EVENT_SPEECH_START, 34: VAD_EVENT_SPEECH_END });
    expect(turns.length).toBe(0);
    expect(dropped).toEqual([100]);
    // a long enough one right after is kept, numbered 1
    feed(detector, 100, { 64: VAD_EVENT_SPEECH_START, 99: VAD_EVENT_SPEECH_END }, 60);
    expect(turns.map((t) => t.turnId)).toEqual([1]);
  });

  it('forces an end at maxTurnMs and starts nothing new until the VAD reports the end', () => {
    const { detector, turns } = makeDetector({ maxTurnMs: 2000 });
    // onset at frame 4 (start 0 ms); the caller talks for 6 s; the VAD's end comes at frame 320
    feed(detector, 400, { 4: VAD_EVENT_SPEECH_START, 320: VAD_EVENT_SPEECH_END, 350: VAD_EVENT_SPEECH_START, 390: VAD_EVENT_SPEECH_END });
    expect(turns.length).toBe(2);
    expect(turns[0]!.endReason).toBe('max-length');
    expect(turns[0]!.endMs - turns[0]!.startMs).toBe(2000);
    expect(turns[0]!.durationMs).toBe(2000); // 0 .. 1999 ms (no lead-in before the stream's start)
    // the next turn is the new speech at frame 350, not the rest of the long one
    expect(turns[1]!.startMs).toBe(350 * 20 + 20 - ONSET_MS);
  });

  it('collects a 25 s turn whole across pooled chunks, and gives every chunk back when it ends', () => {
    const pool = new TurnAudioPool({ chunkMs: 500 });
    const { detector, turns } = makeDetector({ pool });
    feed(detector, 1300, { 4: VAD_EVENT_SPEECH_START, 1270: VAD_EVENT_SPEECH_END });
    expect(turns.length).toBe(1);
    const pcm = turns[0]!.pcm8k;
    for (let f = 0; f < pcm.length / 160; f++) expect(pcm[f * 160]).toBe(f);
    expect(pool.freeChunks).toBeGreaterThanOrEqual(Math.ceil(pcm.length / pool.chunkSamples)); // all back, hangover included
  });

  it('a second turn reuses the first turn\'s chunks', () => {
    const pool = new TurnAudioPool({ chunkMs: 500 });
    const { detector, turns } = makeDetector({ pool });
    feed(detector, 200, { 4: VAD_EVENT_SPEECH_START, 150: VAD_EVENT_SPEECH_END });
    const afterFirst = pool.freeChunks;
    feed(detector, 200, { 204: VAD_EVENT_SPEECH_START, 350: VAD_EVENT_SPEECH_END }, 200);
    expect(turns.length).toBe(2);
    expect(pool.freeChunks).toBe(afterFirst);
    for (let f = 0; f < turns[1]!.pcm8k.length / 160; f++) expect(turns[1]!.pcm8k[f * 160]).toBe(turns[1]!.pcm8k[0]! + f);
  });
});

describe('barge-in policy', () => {
  it('fires once the caller has spoken over the agent for minSpeechMs', () => {
    const { detector, bargeIns, turns } = makeDetector({ bargeIn: { enabled: true, minSpeechMs: 200 } }, () => true);
    // onset at frame 54 -> start 1000 ms; 200 ms of speech is reached at the end of frame 59
    feed(detector, 59, { 54: VAD_EVENT_SPEECH_START });
    expect(bargeIns).toEqual([]);
    feed(detector, 1, {}, 59);
    expect(bargeIns).toEqual([1000]);
    feed(detector, 60, { 100: VAD_EVENT_SPEECH_END }, 60);
    expect(bargeIns.length).toBe(1);
    expect(turns[0]!.wasBargeIn).toBe(true);
  });

  it('fires at the onset when minSpeechMs is within the onset time', () => {
    const { detector, bargeIns } = makeDetector({ bargeIn: { enabled: true, minSpeechMs: 50 } }, () => true);
    feed(detector, 55, { 54: VAD_EVENT_SPEECH_START });
    expect(bargeIns).toEqual([1000]);
  });

  it('does not fire when switched off, when the agent is silent, or when the speech is too short', () => {
    const off = makeDetector({ bargeIn: { enabled: false, minSpeechMs: 0 } }, () => true);
    feed(off.detector, 100, { 54: VAD_EVENT_SPEECH_START, 90: VAD_EVENT_SPEECH_END });
    expect(off.bargeIns).toEqual([]);
    expect(off.turns.length).toBe(1);

    const silent = makeDetector({}, () => false);
    feed(silent.detector, 100, { 54: VAD_EVENT_SPEECH_START, 90: VAD_EVENT_SPEECH_END });
    expect(silent.bargeIns).toEqual([]);

    const cough = makeDetector({ bargeIn: { enabled: true, minSpeechMs: 600 } }, () => true);
    // 220 ms of speech (frames 50..60), then the VAD's hangover (silence) ends the turn at frame 80: the time in
    // the turn passes 600 ms, but the speech does not
    feed(cough.detector, 100, { 54: VAD_EVENT_SPEECH_START, 80: VAD_EVENT_SPEECH_END }, 0, [[50, 61]]);
    expect(cough.bargeIns).toEqual([]);
    expect(cough.turns.length).toBe(0); // 220 ms, under minTurnMs (300): dropped as well
  });
});
