// Only real interruptions interrupt (src/call/turns.ts): with the default BARGE_IN_MIN_SPEECH_MS a cough (a 250 ms
// noise burst) or an "uh-huh" (250 ms of the reference speech) over the agent's line does not clear it, while the
// caller's real second utterance still clears it within 600 ms of its labelled start. Times are stream times (the
// harness's manual clock runs with the stream). The seams: a barge-in whose turn is then dropped as too short tells
// the agent (onBargeInDropped, so that a held line can resume), and an agent that knows the caller's words
// (streaming ASR) holds a barge-in off for a backchannel or makes it at once for real words.
import { describe, expect, it } from 'vitest';
import type { BargeInWords } from '../../src/call/agent-contract.js';
import { mulawDecode, mulawEncode } from '../../src/audio/dsp.js';
import { DEFAULT_BARGE_IN_MIN_SPEECH_MS } from '../../src/config.js';
import { engineConfig, FakeCaller, makeEngine, readFixture, readLabels, RecordingEchoAgent, silenceFrames, stream, toFrames } from './support.js';

const labels = readLabels();
const conv = readFixture('conv-en.8k.ul');
const convFrames = toFrames(conv);
const FRAME_MS = 20;
const atFrame = (ms: number): number => Math.round(ms / FRAME_MS);

/** A cough: white noise (a fixed seed) with a 15 ms attack and an exponential decay, loud (-10 dBFS peak). */
function cough(durationMs: number): Uint8Array[] {
  const n = durationMs * 8;
  const pcm = new Int16Array(n);
  let seed = 7;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const t = i / 8;
    const envelope = t < 15 ? t / 15 : Math.exp(-(t - 15) / (durationMs / 3));
    pcm[i] = Math.round(((seed / 0x7fffffff) * 2 - 1) * 12_000 * envelope);
  }
  return toFrames(mulawEncode(pcm));
}

/** An "uh-huh": 250 ms of the reference speech (voiced all through: the VAD hears it as speech). */
function uhHuh(): Uint8Array[] {
  const fromMs = 600;
  return toFrames(conv.subarray(fromMs * 8, (fromMs + 250) * 8));
}

/** The reference call's first utterance (its echo plays from ~6 s for ~4.8 s), then `over` placed at `atMs`, then silence. */
function firstUtteranceThen(over: Array<{ atMs: number; frames: Uint8Array[] }>, totalMs = 12_500): Uint8Array[] {
  const frames = [...convFrames.slice(0, atFrame(6_900)), ...silenceFrames(atFrame(totalMs) - atFrame(6_900))];
  for (const { atMs, frames: burst } of over) frames.splice(atFrame(atMs), burst.length, ...burst);
  return frames;
}

const defaults = () => engineConfig({ bargeIn: { enabled: true, minSpeechMs: DEFAULT_BARGE_IN_MIN_SPEECH_MS }, playout: { leadFrames: 3 } });

describe('interruptions that are real', () => {
  it('a cough and an uh-huh over the agent do not cut its line', () => {
    // the bursts really are loud enough to be heard by the VAD as speech (they would barge in at the old 200 ms)
    expect(Math.max(...Array.from(mulawDecode(cough(250)[2]!), Math.abs))).toBeGreaterThan(5000);
    const engine = makeEngine(defaults());
    const caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], firstUtteranceThen([{ atMs: 7_000, frames: cough(250) }, { atMs: 8_500, frames: uhHuh() }]));
    const agent = engine.agents[0]!;
    expect(caller.transport.count('clear')).toBe(0);
    expect(agent.bargeIns).toHaveLength(0);
    // echo-1 played whole, to its mark
    const echo1 = agent.turns[0]!;
    expect(caller.transport.marks()[0]).toBe('echo-1');
    const mediaBeforeMark = caller.transport.sent.slice(0, caller.transport.sent.findIndex((m) => m.event === 'mark')).filter((m) => m.event === 'media');
    expect(mediaBeforeMark.length * FRAME_MS).toBe(echo1.durationMs);
  });

  it('the same cough cuts the line at the old 200 ms (the test can fail), and the agent is told its turn was dropped', () => {
    const dropped: number[] = [];
    const engine = makeEngine(engineConfig({ bargeIn: { enabled: true, minSpeechMs: 200 } }), {
      agent: () => Object.assign(new RecordingEchoAgent(), { onBargeInDropped: () => dropped.push(Date.now()) }),
    });
    const caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], firstUtteranceThen([{ atMs: 7_000, frames: cough(250) }]));
    expect(caller.transport.count('clear')).toBe(1);
    expect(engine.agents[0]!.bargeIns).toHaveLength(1);
    expect(engine.agents[0]!.turns).toHaveLength(1); // the cough's turn was too short to keep
    expect(dropped).toHaveLength(1);
  });

  it('a real interruption still clears within 600 ms of its start (stream time)', () => {
    const engine = makeEngine(defaults());
    const caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], [...convFrames, ...silenceFrames(300)]);
    const { sent } = caller.transport;
    const clearAt = sent.findIndex((m) => m.event === 'clear');
    expect(clearAt).toBeGreaterThan(0);
    expect(sent.filter((m) => m.event === 'clear')).toHaveLength(1);
    const speechStartMs = labels['conv-en']!.utterances_s[1]![0] * 1000;
    const clearMs = caller.sentAtMs[clearAt]!;
    expect(clearMs).toBeGreaterThan(speechStartMs);
    expect(clearMs - speechStartMs).toBeLessThanOrEqual(600);
    expect(engine.agents[0]!.bargeIns).toHaveLength(1);
    expect(engine.agents[0]!.turns[1]!.wasBargeIn).toBe(true);
  });

  describe('an agent that knows the words (streaming ASR) decides', () => {
    const withWords = (words: BargeInWords) => {
      const engine = makeEngine(defaults(), { agent: () => Object.assign(new RecordingEchoAgent(), { bargeInWords: () => words }) });
      const caller = new FakeCaller(engine);
      caller.connect();
      stream(engine, [caller], [...convFrames, ...silenceFrames(300)]);
      return { caller, agent: engine.agents[0]! };
    };

    it('only backchannel words: no barge-in, however long the speech', () => {
      const { caller, agent } = withWords('backchannel');
      expect(caller.transport.count('clear')).toBe(0);
      expect(agent.bargeIns).toHaveLength(0);
    });

    it('real words: the barge-in comes at once, before the speech time is reached', () => {
      const byWords = withWords('words');
      const bySpeech = withWords('unknown');
      const clearMs = (c: FakeCaller) => c.sentAtMs[c.transport.sent.findIndex((m) => m.event === 'clear')]!;
      expect(byWords.agent.bargeIns).toHaveLength(1);
      expect(bySpeech.agent.bargeIns).toHaveLength(1);
      expect(clearMs(bySpeech.caller) - clearMs(byWords.caller)).toBeGreaterThanOrEqual(DEFAULT_BARGE_IN_MIN_SPEECH_MS - 100 - FRAME_MS);
    });
  });
});
