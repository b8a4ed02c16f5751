// A stream's clock comes from what it sent, not what it claims. A media timestamp that stands still or runs back
// still moves stream time by 20 ms a frame, so TURN_MAX_MS still ends a turn and its audio stays under the cap; a
// timestamp that jumps by seconds on every frame is filled with silence only within a budget (2 s per jump, 5x real
// time overall), so one stream cannot make the thread VAD-check 100 frames per message; and a liar's neighbour on
// the same thread gets exactly the turns it gets alone.
import { describe, expect, it } from 'vitest';
import type { CallerTurn } from '../../src/call/agent-contract.js';
import { threadTurnAudioPool } from '../../src/call/turn-audio-pool.js';
import { mulawEncode } from '../fakes/audio.js';
import { engineConfig, FakeCaller, makeEngine, readFixture, silenceFrames, toFrames, type TestEngine } from './support.js';

const MAX_TURN_MS = 3_000;
const MAX_TURN_SAMPLES = MAX_TURN_MS * 8;

/** `n` frames of loud, speech-like noise (a syllable-rate envelope, so the VAD's floor never catches up with it). */
function loudFrames(n: number): Uint8Array[] {
  const pcm = new Int16Array(n * 160);
  let seed = 12345;
  for (let i = 0; i < pcm.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const envelope = 0.6 + 0.4 * Math.sin((2 * Math.PI * 4 * i) / 8000);
    pcm[i] = Math.round(((seed / 2 ** 32) * 2 - 1) * 12_000 * envelope);
  }
  return toFrames(new Uint8Array(mulawEncode(pcm)));
}

function liarEngine(): TestEngine {
  return makeEngine(engineConfig({ turns: { minTurnMs: 300, maxTurnMs: MAX_TURN_MS }, bargeIn: { enabled: false, minSpeechMs: 200 } }));
}

/** Sends `frames` on `caller` with `timestampOf(i)` as each frame's claimed time, 20 ms of manual time apart. */
function sendClaiming(engine: TestEngine, caller: FakeCaller, frames: Uint8Array[], timestampOf: (i: number) => number, onEach?: () => void): void {
  for (let i = 0; i < frames.length; i++) {
    caller.mediaMs = timestampOf(i);
    caller.sendFrame(frames[i]!);
    engine.time.advance(20);
    onEach?.();
  }
}

function expectCappedTurns(turns: CallerTurn[]): void {
  for (const turn of turns) {
    expect(turn.pcm8k.length).toBeLessThanOrEqual(MAX_TURN_SAMPLES);
    expect(turn.durationMs).toBeLessThanOrEqual(MAX_TURN_MS);
  }
}

describe('a stream whose media timestamps lie', () => {
  it('ends a turn at TURN_MAX_MS when the timestamp stands still, and never holds more than the cap of turn audio', () => {
    const engine = liarEngine();
    const caller = new FakeCaller(engine);
    caller.connect();
    const chunksBefore = threadTurnAudioPool.chunksInUse;
    let peakChunks = 0;
    // 20 s of loud audio, every frame claiming time 0
    sendClaiming(engine, caller, loudFrames(1000), () => 0, () => {
      peakChunks = Math.max(peakChunks, threadTurnAudioPool.chunksInUse - chunksBefore);
    });
    const turns = engine.agents[0]!.turns;
    expect(turns.length).toBeGreaterThanOrEqual(1);
    expect(turns[0]!.endReason).toBe('max-length');
    expectCappedTurns(turns);
    // one turn at a time, at most MAX_TURN_MS of 1 s chunks (+1 for the one being filled)
    expect(peakChunks).toBeLessThanOrEqual(MAX_TURN_MS / 1000 + 1);
    const stats = engine.factory.registry.stats();
    expect(stats.timestampsCorrected).toBe(999);
    expect(stats.turnsForcedEnd).toBeGreaterThanOrEqual(1);
    caller.stop();
    expect(threadTurnAudioPool.chunksInUse).toBe(chunksBefore);
  });

  it('treats a timestamp that runs backwards like one that stands still', () => {
    const engine = liarEngine();
    const caller = new FakeCaller(engine);
    caller.connect();
    sendClaiming(engine, caller, loudFrames(500), (i) => 1_000_000 - i * 20);
    const turns = engine.agents[0]!.turns;
    expect(turns.length).toBeGreaterThanOrEqual(1);
    expect(turns[0]!.endReason).toBe('max-length');
    expectCappedTurns(turns);
    caller.stop();
  });

  it('fills a jump of seconds on every frame only within the budget: 2 s per jump, 5x real time in all', () => {
    const engine = liarEngine();
    const caller = new FakeCaller(engine);
    caller.connect();
    const frames = 200;
    sendClaiming(engine, caller, silenceFrames(frames), (i) => i * 10_000); // each frame 10 s after the one before
    const stats = engine.factory.registry.stats();
    expect(stats.framesIn).toBe(frames);
    // the first jump may take the whole 2 s budget; after that 5 frames of fill per 20 ms of real time
    const maxFill = 100 + 5 * frames;
    expect(stats.gapFramesFilled).toBeLessThanOrEqual(maxFill);
    expect(stats.dspFrames).toBeLessThanOrEqual(frames + maxFill);
    // what was not filled is counted: 499 frames of each 10 s jump
    expect(stats.gapFramesSkipped).toBe((frames - 1) * 499 - stats.gapFramesFilled);
    caller.stop();
  });

  it('gives its neighbour on the same thread exactly the turns the neighbour gets alone', () => {
    const speech = [...toFrames(readFixture('conv-en.8k.ul')), ...silenceFrames(100)];
    const turnsOf = (withLiar: boolean): CallerTurn[] => {
      const engine = liarEngine();
      const honest = new FakeCaller(engine, 'H');
      honest.connect();
      const liar = withLiar ? new FakeCaller(engine, 'L') : null;
      liar?.connect();
      const noise = loudFrames(speech.length);
      for (let i = 0; i < speech.length; i++) {
        honest.sendFrame(speech[i]!);
        if (liar !== null) {
          liar.mediaMs = (i % 2) * 60_000; // jumps a minute forward, then back to 0, on every frame
          liar.sendFrame(noise[i]!);
        }
        engine.time.advance(20);
      }
      return engine.agents[0]!.turns;
    };
    const alone = turnsOf(false);
    const beside = turnsOf(true);
    expect(alone.length).toBe(2);
    expect(beside.map((t) => [t.startMs, t.endMs, t.durationMs])).toEqual(alone.map((t) => [t.startMs, t.endMs, t.durationMs]));
    for (let t = 0; t < alone.length; t++) {
      expect(Buffer.from(beside[t]!.pcm8k.buffer).equals(Buffer.from(alone[t]!.pcm8k.buffer))).toBe(true);
    }
  });
});
