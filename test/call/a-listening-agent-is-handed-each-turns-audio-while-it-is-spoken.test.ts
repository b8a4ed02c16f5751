// The streaming seam of the turn detector (audioBatchMs > 0): the turn's number is known at its onset, its audio goes
// out in batches while it is spoken (the pre-roll's lead-in first), and what was handed over is exactly the turn's
// audio at its end; a turn too short is abandoned and its number goes to the next onset, so the kept turns have no
// gaps. Driven with synthetic VAD events (each frame's samples carry its index, so the audio can be traced).
import { describe, expect, it } from 'vitest';
import type { CallerTurn } from '../../src/call/agent-contract.js';
import { TurnAudioPool } from '../../src/call/turn-audio-pool.js';
import { TurnDetector, VAD_EVENT_SPEECH_END, VAD_EVENT_SPEECH_START, type TurnDetectorOptions } from '../../src/call/turns.js';

type Heard = { kind: 'started'; turnId: number; startMs: number } | { kind: 'audio'; turnId: number; samples: number[] }
  | { kind: 'abandoned'; turnId: number } | { kind: 'turn'; turn: CallerTurn };

function makeDetector(overrides: Partial<TurnDetectorOptions> = {}) {
  const heard: Heard[] = [];
  const detector = new TurnDetector(
    { onsetMs: 100, hangoverMs: 400, minTurnMs: 300, maxTurnMs: 30_000, bargeIn: { enabled: false, minSpeechMs: 200 }, audioBatchMs: 100, ...overrides },
    {
      isAgentPlaying: () => false, onBargeIn: () => {}, onTurn: (turn) => heard.push({ kind: 'turn', turn }),
      onTurnStarted: (turnId, startMs) => heard.push({ kind: 'started', turnId, startMs }),
      // the view is valid only during the call: keep a copy
      onTurnAudio: (turnId, pcm8k) => heard.push({ kind: 'audio', turnId, samples: Array.from(pcm8k) }),
      onTurnAbandoned: (turnId) => heard.push({ kind: 'abandoned', turnId }),
    },
  );
  return { detector, heard };
}

function feed(detector: TurnDetector, n: number, events: Record<number, number>, from = 0): void {
  const pcm = new Int16Array(160);
  for (let i = from; i < from + n; i++) {
    pcm.fill(i);
    detector.onFrame(events[i] ?? 0, -20, pcm, i * 20);
  }
}

const streamedOf = (heard: Heard[], turnId: number): number[] =>
  heard.flatMap((h) => (h.kind === 'audio' && h.turnId === turnId ? h.samples : []));
const turnsOf = (heard: Heard[]): CallerTurn[] => heard.flatMap((h) => (h.kind === 'turn' ? [h.turn] : []));

describe('a listening agent is handed each turn while it is spoken', () => {
  it('gets the turn in 100 ms batches, lead-in first, that add up to exactly the turn it is then given', () => {
    const { detector, heard } = makeDetector();
    // speech 50..149, onset reported at 54, end at 169 (see turn-length-limits.test.ts)
    feed(detector, 120, { 54: VAD_EVENT_SPEECH_START });
    // while the caller is still speaking: started, then whole batches, the first one opening with the lead-in (frame 48)
    expect(heard[0]).toEqual({ kind: 'started', turnId: 1, startMs: 1000 });
    const during = heard.filter((h) => h.kind === 'audio');
    expect(during.length).toBeGreaterThan(5);
    for (const batch of during) expect(batch.kind === 'audio' && batch.samples.length).toBe(800);
    expect(streamedOf(heard, 1)[0]).toBe(48);
    // what the silence end will trim is never streamed before the turn is known to go on past it
    expect(streamedOf(heard, 1).at(-1)!).toBeLessThanOrEqual(119 - 15);
    feed(detector, 80, { 169: VAD_EVENT_SPEECH_END }, 120);
    const [turn] = turnsOf(heard);
    expect(turn?.turnId).toBe(1);
    expect(streamedOf(heard, 1)).toEqual(Array.from(turn!.pcm8k));
    // the last batch comes before the turn itself
    expect(heard.at(-1)?.kind).toBe('turn');
  });

  it('abandons a turn too short to keep and gives its number to the next onset', () => {
    const { detector, heard } = makeDetector();
    // 100 ms of speech (dropped), then a kept turn, then another kept turn
    feed(detector, 60, { 14: VAD_EVENT_SPEECH_START, 34: VAD_EVENT_SPEECH_END });
    feed(detector, 100, { 64: VAD_EVENT_SPEECH_START, 99: VAD_EVENT_SPEECH_END }, 60);
    feed(detector, 100, { 164: VAD_EVENT_SPEECH_START, 199: VAD_EVENT_SPEECH_END }, 160);
    expect(heard.filter((h) => h.kind !== 'audio').map((h) => (h.kind === 'turn' ? `turn ${h.turn.turnId}` : `${h.kind} ${h.turnId}`)))
      .toEqual(['started 1', 'abandoned 1', 'started 1', 'turn 1', 'started 2', 'turn 2']);
    const turns = turnsOf(heard);
    // turn 1's audio is only the kept turn's (the abandoned one's batches came before its abandonment)
    const abandonedAt = heard.findIndex((h) => h.kind === 'abandoned');
    expect(streamedOf(heard.slice(abandonedAt), 1)).toEqual(Array.from(turns[0]!.pcm8k));
    expect(streamedOf(heard, 2)).toEqual(Array.from(turns[1]!.pcm8k));
  });

  it('hands over the held-back part too when a turn is forced to end at its maximum length', () => {
    const { detector, heard } = makeDetector({ maxTurnMs: 2000 });
    feed(detector, 200, { 4: VAD_EVENT_SPEECH_START });
    const [turn] = turnsOf(heard);
    expect(turn?.endReason).toBe('max-length');
    expect(streamedOf(heard, 1)).toEqual(Array.from(turn!.pcm8k));
  });

  it('never hands a batch across two of the pool chunks (views of chunks shorter than a batch)', () => {
    const { detector, heard } = makeDetector({ pool: new TurnAudioPool({ chunkMs: 60 }) });
    feed(detector, 200, { 54: VAD_EVENT_SPEECH_START, 169: VAD_EVENT_SPEECH_END });
    const [turn] = turnsOf(heard);
    for (const h of heard) if (h.kind === 'audio') expect(h.samples.length).toBeLessThanOrEqual(480);
    expect(streamedOf(heard, 1)).toEqual(Array.from(turn!.pcm8k));
  });

  it('calls none of the streaming hooks when streaming is off', () => {
    const { detector, heard } = makeDetector({ audioBatchMs: 0 });
    feed(detector, 200, { 14: VAD_EVENT_SPEECH_START, 34: VAD_EVENT_SPEECH_END, 64: VAD_EVENT_SPEECH_START, 169: VAD_EVENT_SPEECH_END });
    expect(heard.map((h) => h.kind)).toEqual(['turn']);
  });

  it('refuses a batch that is not a whole number of frames', () => {
    expect(() => makeDetector({ audioBatchMs: 30 })).toThrow('audioBatchMs must be 0 or a positive multiple of 20 (got 30)');
  });
});
