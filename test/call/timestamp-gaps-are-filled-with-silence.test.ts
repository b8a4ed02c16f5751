// Time comes from Twilio's media timestamps, not from counting frames. Twilio may leave silent frames out; the gap
// is filled with silence before the VAD, so a call whose silent frames are all missing gives the same turns, with
// the same times and audio, as the full call, and a turn still ends when nothing at all follows it.
import { describe, expect, it } from 'vitest';
import type { CallerTurn } from '../../src/call/agent-contract.js';
import { engineConfig, FakeCaller, makeEngine, readFixture, silenceFrames, stream, toFrames } from './support.js';

function isDigitalSilence(frame: Uint8Array): boolean {
  return frame.every((b) => b === 0xff || b === 0x7f);
}

function run(skipSilent: boolean): { turns: CallerTurn[]; gapFramesFilled: number; marks: string[] } {
  const engine = makeEngine(engineConfig({ bargeIn: { enabled: false, minSpeechMs: 200 } }));
  const caller = new FakeCaller(engine);
  caller.connect();
  const frames = [...toFrames(readFixture('conv-en.8k.ul')), ...silenceFrames(250)];
  stream(engine, [caller], frames, { skip: skipSilent ? (i) => isDigitalSilence(frames[i]!) : undefined });
  return { turns: engine.agents[0]!.turns, gapFramesFilled: engine.factory.registry.stats().gapFramesFilled, marks: caller.transport.marks() };
}

describe('media timestamps', () => {
  it('gives the same turns when Twilio leaves every silent frame out', () => {
    const full = run(false);
    const gappy = run(true);
    expect(full.gapFramesFilled).toBe(0);
    expect(gappy.gapFramesFilled).toBeGreaterThan(250); // the pauses and the trailing silence
    expect(gappy.turns.length).toBe(2);
    expect(full.turns.length).toBe(2);
    for (let t = 0; t < 2; t++) {
      const a = full.turns[t]!;
      const b = gappy.turns[t]!;
      expect(b.startMs).toBe(a.startMs);
      expect(b.endMs).toBe(a.endMs);
      expect(b.durationMs).toBe(a.durationMs);
      expect(Buffer.from(b.pcm8k.buffer).equals(Buffer.from(a.pcm8k.buffer))).toBe(true);
    }
    // both echoes still played (the last turn ended although no frame followed it)
    expect(gappy.marks).toEqual(['echo-1', 'echo-2']);
  });

  it('fills a gap from the next frame\'s timestamp, before that frame reaches the VAD', () => {
    const engine = makeEngine();
    const caller = new FakeCaller(engine);
    caller.connect();
    const frames = silenceFrames(20);
    caller.sendFrame(frames[0]!);
    engine.time.advance(20);
    caller.mediaMs += 5 * 20; // five frames missing
    caller.sendFrame(frames[1]!);
    engine.time.advance(20);
    const stats = engine.factory.registry.stats();
    expect(stats.gapFramesFilled).toBe(5);
    expect(stats.framesIn).toBe(2);
    expect(stats.dspFrames).toBe(7);
  });
});
