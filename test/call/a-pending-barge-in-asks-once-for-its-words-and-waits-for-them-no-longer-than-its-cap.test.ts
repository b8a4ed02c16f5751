// The words of a pending barge-in (TurnDetector with streaming, src/call/turns.ts): once the caller has spoken over
// the agent for wordsAfterMs, every sample of the turn so far is handed over and the listener is asked for the words,
// once. Its answer decides: 'words' barge in on the next frame (decidedBy 'words'), 'backchannel' holds the barge-in
// off until backchannelMaxMs of speech, 'pending' holds it at most wordsWaitMs of stream time after asking, then the
// speech time decides (decidedBy 'speech'). Without streaming, or when the listener cannot ask, nothing waits: the
// speech time decides at minSpeechMs as before. Driven with synthetic VAD events and levels, frame by frame.
import { describe, expect, it } from 'vitest';
import type { BargeInDecision, BargeInWords } from '../../src/call/agent-contract.js';
import { TurnDetector, VAD_EVENT_SPEECH_END, VAD_EVENT_SPEECH_START, type BargeInOptions } from '../../src/call/turns.js';

const FRAME_MS = 20;
// speech from frame 50; the VAD's onset (100 ms) is reported on frame 54: the turn starts at 1000 ms with 100 ms of speech
const SPEECH_FROM = 50;
const ONSET_FRAME = 54;
const TURN_START_MS = 1000;
/** The frame on which a turn that is loud from frame 50 has `ms` of speech (100 at the onset frame, +20 a frame). */
const frameWithSpeech = (ms: number): number => ONSET_FRAME + Math.ceil((ms - 100) / FRAME_MS);

interface Options {
  bargeIn?: Partial<BargeInOptions>;
  audioBatchMs?: number;
  /** What askBargeInWords answers; undefined: the listener has no askBargeInWords. */
  canAsk?: boolean;
  /** The listener's answer to bargeInWords, by frame (the words may come in later). */
  words?: (frame: number, asked: boolean) => BargeInWords;
  /** Whether the agent plays when the turn begins (default true). */
  isAgentPlaying?: boolean;
}

function run(options: Options, speechFrames: number, totalFrames = 300) {
  let frame = 0;
  const bargeIns: Array<{ frame: number; atMs: number; decidedBy: BargeInDecision }> = [];
  const asks: Array<{ frame: number; turnId: number; streamedSamples: number; turnSamples: number }> = [];
  let streamed = 0;
  let isAsked = false;
  const started: boolean[] = [];
  const detector = new TurnDetector(
    {
      onsetMs: 100, hangoverMs: 700, minTurnMs: 300, maxTurnMs: 30_000,
      bargeIn: { enabled: true, minSpeechMs: 350, wordsAfterMs: 200, wordsWaitMs: 400, backchannelMaxMs: 1000, ...options.bargeIn },
      audioBatchMs: options.audioBatchMs ?? 100,
    },
    {
      isAgentPlaying: () => options.isAgentPlaying ?? true,
      onBargeIn: (atMs, decidedBy) => bargeIns.push({ frame, atMs, decidedBy }),
      onTurnStarted: (_turnId, _startMs, mayAskWords) => started.push(mayAskWords),
      onTurn: () => undefined,
      onTurnAudio: (_turnId, pcm) => { streamed += pcm.length; },
      bargeInWords: () => options.words?.(frame, isAsked) ?? 'unknown',
      ...(options.canAsk !== undefined ? {
        askBargeInWords: (turnId: number) => {
          // the turn so far: the pre-roll (onset + 40 ms lead-in, less the onset frame) and every frame since
          asks.push({ frame, turnId, streamedSamples: streamed, turnSamples: (frame - SPEECH_FROM + 3) * 160 });
          isAsked = options.canAsk!;
          return options.canAsk!;
        },
      } : {}),
    },
  );
  const pcm = new Int16Array(160);
  const endFrame = SPEECH_FROM + speechFrames + 35; // the VAD's hangover: 700 ms of quiet after the speech
  for (frame = 0; frame < totalFrames; frame++) {
    const isSpeech = frame >= SPEECH_FROM && frame < SPEECH_FROM + speechFrames;
    const event = frame === ONSET_FRAME ? VAD_EVENT_SPEECH_START : frame === endFrame ? VAD_EVENT_SPEECH_END : 0;
    detector.onFrame(event, isSpeech ? -20 : -60, pcm, frame * FRAME_MS);
  }
  return { bargeIns, asks, started };
}

describe('a pending barge-in and its words', () => {
  it('asks once, at wordsAfterMs of speech, after every sample of the turn so far was handed over', () => {
    const { asks } = run({ canAsk: true, words: (_f, asked) => (asked ? 'pending' : 'unknown') }, 100);
    expect(asks).toHaveLength(1);
    expect(asks[0]!.frame).toBe(frameWithSpeech(200));
    expect(asks[0]!.turnId).toBe(1);
    expect(asks[0]!.streamedSamples).toBe(asks[0]!.turnSamples);
  });

  it('real words barge in on the frame they are known, before the speech time', () => {
    const known = frameWithSpeech(200) + 3;
    const { bargeIns } = run({ canAsk: true, words: (f, asked) => (!asked ? 'unknown' : f >= known ? 'words' : 'pending') }, 100);
    expect(bargeIns).toEqual([{ frame: known, atMs: TURN_START_MS, decidedBy: 'words' }]);
    expect(known).toBeLessThan(frameWithSpeech(350));
  });

  it('words not known yet hold the barge-in past the speech time, but no longer than wordsWaitMs after asking', () => {
    const { bargeIns } = run({ canAsk: true, words: (_f, asked) => (asked ? 'pending' : 'unknown') }, 100);
    const askFrame = frameWithSpeech(200);
    // asked at the end of frame askFrame; the barge-in comes on the frame that ends 400 ms later
    expect(bargeIns).toEqual([{ frame: askFrame + 400 / FRAME_MS, atMs: TURN_START_MS, decidedBy: 'speech' }]);
    expect(askFrame + 400 / FRAME_MS).toBeGreaterThan(frameWithSpeech(350));
  });

  it('a shorter wait gives way to the speech time at minSpeechMs', () => {
    const { bargeIns } = run({ canAsk: true, bargeIn: { wordsWaitMs: 60 }, words: (_f, asked) => (asked ? 'pending' : 'unknown') }, 100);
    expect(bargeIns).toEqual([{ frame: frameWithSpeech(350), atMs: TURN_START_MS, decidedBy: 'speech' }]);
  });

  it('backchannel words hold off a backchannel-long turn for good, and a longer one until backchannelMaxMs of speech', () => {
    const backchannel = (_f: number, asked: boolean): BargeInWords => (asked ? 'backchannel' : 'unknown');
    // 600 ms of speech: well past minSpeechMs, no barge-in
    expect(run({ canAsk: true, words: backchannel }, 30).bargeIns).toEqual([]);
    // 2 s of speech ("yes, but ..."): the words covered only its start
    expect(run({ canAsk: true, words: backchannel }, 100).bargeIns).toEqual([{ frame: frameWithSpeech(1000), atMs: TURN_START_MS, decidedBy: 'speech' }]);
  });

  it('without streaming, when the listener cannot ask, or with wordsAfterMs 0, the speech time decides at minSpeechMs', () => {
    const pending = (): BargeInWords => 'pending';
    const atSpeechTime = [{ frame: frameWithSpeech(350), atMs: TURN_START_MS, decidedBy: 'speech' }];
    const batch = run({ canAsk: true, audioBatchMs: 0, words: pending }, 100);
    expect(batch.asks).toEqual([]);
    expect(batch.bargeIns).toEqual(atSpeechTime);
    const refused = run({ canAsk: false, words: pending }, 100);
    expect(refused.asks).toHaveLength(1);
    expect(refused.bargeIns).toEqual(atSpeechTime);
    const off = run({ canAsk: true, bargeIn: { wordsAfterMs: 0 }, words: pending }, 100);
    expect(off.asks).toEqual([]);
    expect(off.bargeIns).toEqual(atSpeechTime);
    // an agent that tells its words without being asked still decides as before ('backchannel' holds, unbounded)
    expect(run({ words: () => 'backchannel' }, 100).bargeIns).toEqual([]);
  });

  it('tells at the onset whether the turn may ask for its words: over the agent, with asking on and a listener that can ask', () => {
    expect(run({ canAsk: true }, 100).started).toEqual([true]);
    const notPlaying = run({ canAsk: true, isAgentPlaying: false }, 100);
    expect(notPlaying.started).toEqual([false]);
    expect(notPlaying.asks).toEqual([]);
    expect(run({ canAsk: true, bargeIn: { wordsAfterMs: 0 } }, 100).started).toEqual([false]);
    expect(run({ canAsk: true, bargeIn: { enabled: false } }, 100).started).toEqual([false]);
    expect(run({}, 100).started).toEqual([false]); // the listener has no askBargeInWords
  });

  it('refuses a negative setting', () => {
    expect(() => run({ bargeIn: { wordsWaitMs: -1 } }, 10)).toThrow('bargeIn.wordsWaitMs must be >= 0 (got -1)');
  });
});
