// The echo agent through a whole session on a manual clock: each reference conversation gives its two turns, each
// echo is as long as the labelled utterance (within 25%), paced one frame per tick (not dumped), every frame is
// 160 bytes of mu-law with the stream's sid, and a mark follows each playback.
import { describe, expect, it } from 'vitest';
import { engineConfig, FakeCaller, makeEngine, readFixture, readLabels, silenceFrames, stream, toFrames } from './support.js';

const labels = readLabels();

describe('echo through a session', () => {
  for (const name of ['conv-en', 'conv-he']) {
    it(`${name}: two turns, each echoed back at its own length, paced, with a mark after each`, () => {
      // barge-in off: the caller's second utterance starts while the first echo still plays
      const engine = makeEngine(engineConfig({ bargeIn: { enabled: false, minSpeechMs: 200 } }));
      const caller = new FakeCaller(engine);
      caller.connect();
      stream(engine, [caller], [...toFrames(readFixture(`${name}.8k.ul`)), ...silenceFrames(400)], { returnMarks: true });

      const agent = engine.agents[0]!;
      expect(agent.turns.length).toBe(2);
      const { sent } = caller.transport;
      const { sentAtMs } = caller;
      for (const m of sent) {
        expect(m.streamSid).toBe(caller.streamSid);
        if (m.event === 'media') expect(m.payload.length).toBe(160);
      }
      expect(caller.transport.marks()).toEqual(['echo-1', 'echo-2']);
      const utterances = labels[name]!.utterances_s;
      let from = 0;
      for (let u = 0; u < 2; u++) {
        const markAt = sent.findIndex((m, i) => i >= from && m.event === 'mark');
        const media = sent.slice(from, markAt).filter((m) => m.event === 'media');
        const echoMs = media.length * 20;
        const [startS, endS] = utterances[u]!;
        const labelledMs = (endS - startS) * 1000;
        expect(Math.abs(echoMs - labelledMs) / labelledMs).toBeLessThan(0.25);
        expect(echoMs).toBe(agent.turns[u]!.durationMs);
        // the turn's timing matches the labels (onset within 150 ms)
        expect(Math.abs(agent.turns[u]!.startMs - startS * 1000)).toBeLessThanOrEqual(150);
        // paced: the frames went out over (about) their own length, not at once
        const spanMs = sentAtMs[markAt - 1]! - sentAtMs[from]!;
        expect(spanMs).toBeGreaterThanOrEqual(echoMs - 20 * (3 + 2));
        expect(spanMs).toBeLessThanOrEqual(echoMs);
        from = markAt + 1;
      }
      // Twilio returned both marks: both heard
      expect(agent.played.map((p) => p.utteranceId)).toEqual(['echo-1', 'echo-2']);
      const stats = engine.factory.registry.stats();
      expect(stats.turns).toBe(2);
      expect(stats.marksHeard).toBe(2);
      expect(stats.framesOut).toBe(caller.transport.media().length);
      // each echo starts after its turn ended
      caller.stop();
      expect(engine.factory.registry.activeCalls).toBe(0);
    });
  }
});
