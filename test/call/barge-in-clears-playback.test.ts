// Talking over the agent: with barge-in on, the caller's second utterance (which starts while the first echo is
// still playing) empties the queue, sends `clear` within 600 ms of the speech's start, aborts the agent's turn
// signal, tells the agent how much was heard (frames sent less the lead), and no old frame follows the clear.
// With barge-in off, the echo plays to its end.
import { describe, expect, it } from 'vitest';
import { engineConfig, FakeCaller, makeEngine, readFixture, readLabels, silenceFrames, stream, toFrames } from './support.js';

const labels = readLabels();

describe('barge-in', () => {
  it('clears the playback, aborts the turn in flight and records what was heard', () => {
    const engine = makeEngine(engineConfig({ bargeIn: { enabled: true, minSpeechMs: 200 }, playout: { leadFrames: 3 } }));
    const caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], [...toFrames(readFixture('conv-en.8k.ul')), ...silenceFrames(300)]);
    const agent = engine.agents[0]!;
    const { sent } = caller.transport;
    const { sentAtMs } = caller;

    const clears = sent.flatMap((m, i) => (m.event === 'clear' ? [i] : []));
    expect(clears.length).toBe(1);
    const clearAt = clears[0]!;
    // within 600 ms of the second utterance's labelled start (manual time runs with stream time here)
    const speechStartMs = labels['conv-en']!.utterances_s[1]![0] * 1000;
    expect(sentAtMs[clearAt]! - speechStartMs).toBeLessThanOrEqual(600);
    expect(sentAtMs[clearAt]!).toBeGreaterThan(speechStartMs);

    // the agent heard about it: echo-1 partly played, minus the lead still buffered at Twilio
    expect(agent.bargeIns.length).toBe(1);
    const [progress] = agent.bargeIns[0]!.utterances;
    expect(progress!.utteranceId).toBe('echo-1');
    expect(progress!.framesSent).toBeLessThan(progress!.framesQueued);
    expect(progress!.framesSent - progress!.framesHeard).toBeLessThanOrEqual(3 + 1);
    expect(progress!.framesHeard).toBeGreaterThan(0);
    // frames of echo-1 sent before the clear = framesSent
    expect(sent.slice(0, clearAt).filter((m) => m.event === 'media').length).toBe(progress!.framesSent);
    // the first turn's signal was aborted by the barge-in
    expect(agent.signals[0]!.aborted).toBe(true);

    // no old frames after the clear: the next media is the second echo, sent only after the second turn ended
    const secondTurn = agent.turns[1]!;
    expect(secondTurn.wasBargeIn).toBe(true);
    const nextMedia = sent.findIndex((m, i) => i > clearAt && m.event === 'media');
    expect(sentAtMs[nextMedia]!).toBeGreaterThanOrEqual(secondTurn.endMs);
    const afterClear = sent.slice(clearAt + 1).filter((m) => m.event === 'media').length;
    expect(afterClear * 20).toBe(secondTurn.durationMs);
    expect(caller.transport.marks()).toEqual(['echo-2']); // echo-1 never finished: no mark for it
    expect(engine.factory.registry.stats().bargeIns).toBe(1);
  });

  it('lets the echo play to its end when switched off', () => {
    const engine = makeEngine(engineConfig({ bargeIn: { enabled: false, minSpeechMs: 200 } }));
    const caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], [...toFrames(readFixture('conv-en.8k.ul')), ...silenceFrames(300)]);
    expect(caller.transport.count('clear')).toBe(0);
    expect(engine.agents[0]!.bargeIns.length).toBe(0);
    expect(caller.transport.marks()).toEqual(['echo-1', 'echo-2']);
  });

  it('does not fire while the agent is silent', () => {
    const engine = makeEngine(engineConfig({ bargeIn: { enabled: true, minSpeechMs: 200 } }));
    const caller = new FakeCaller(engine);
    caller.connect();
    // only the first utterance: the caller is quiet while its echo plays
    stream(engine, [caller], [...toFrames(readFixture('conv-en.8k.ul')).slice(0, 300), ...silenceFrames(400)]);
    expect(caller.transport.count('clear')).toBe(0);
    expect(caller.transport.marks()).toEqual(['echo-1']);
  });
});
