// Re-entry in the call engine. A barge-in's `clear` can find a slow client, and the edge then closes the socket
// synchronously: the call ends inside the batched inbound flush, possibly while its own session is in the middle of
// pushing frames. Its freed DSP slot must not be pushed to again (the native batch refuses a whole pass for one stale
// slot: every call on the thread would lose its frames), the other calls' frames in that pass must still reach them,
// and a new call that takes the slot must not inherit anything. And a session whose end() throws part-way must still
// give back its slot, its playout ring, its turn audio and its registry entry.
import { describe, expect, it } from 'vitest';
import type { CallerTurn } from '../../src/call/agent-contract.js';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';
import { InboundBatcher } from '../../src/audio/dsp.js';
import { threadFrameRingPool } from '../../src/call/frame-ring-pool.js';
import { createSessionFactory } from '../../src/call/registry.js';
import { threadTurnAudioPool } from '../../src/call/turn-audio-pool.js';
import { engineConfig, FakeCaller, RecordingEchoAgent, readFixture, silenceFrames, SILENT_LOG, toFrames, type TestEngine } from './support.js';

/** An engine whose batch holds `maxFramesPerBatch` frames, so that pushes flush (and dispatch) inside onMedia. */
function smallBatchEngine(maxFramesPerBatch: number): TestEngine {
  const time = new ManualTimeSource(0);
  const clock = new FrameClock({ time });
  const batcher = new InboundBatcher({ maxSlots: 8, maxFramesPerTick: maxFramesPerBatch });
  const agents: RecordingEchoAgent[] = [];
  const factory = createSessionFactory({
    config: engineConfig({ bargeIn: { enabled: true, minSpeechMs: 100 } }),
    clock, batcher, log: SILENT_LOG, maxFramesPerBatch, idleTimeoutMs: 60_000,
    agentFactory: () => {
      const agent = new RecordingEchoAgent();
      agents.push(agent);
      return agent;
    },
  });
  return { time, clock, batcher, factory, agents };
}

const speech = toFrames(readFixture('conv-en.8k.ul'));
const turnShape = (turns: CallerTurn[]) => turns.map((t) => [t.startMs, t.endMs, t.durationMs, t.pcm8k.length]);

/** The neighbour's turns when it streams the fixture alone on such an engine. */
function turnsAlone(): CallerTurn[] {
  const engine = smallBatchEngine(2);
  const caller = new FakeCaller(engine, 'B');
  caller.connect();
  for (const frame of [...speech, ...silenceFrames(100)]) {
    caller.sendFrame(frame);
    engine.time.advance(20);
  }
  return engine.agents[0]!.turns;
}

describe('a call that ends inside the inbound flush', () => {
  it('leaves the other call\'s frames, turns and a new call on its freed slot untouched', () => {
    const engine = smallBatchEngine(2);
    const victim = new FakeCaller(engine, 'A');
    const neighbour = new FakeCaller(engine, 'B');
    victim.connect();
    neighbour.connect();
    // The victim's socket is a slow client: its barge-in `clear` closes it synchronously (as the edge does).
    victim.transport.onSend = (msg) => {
      if (msg.event === 'clear') victim.transport.close(1006);
    };
    let victimEndedAtFrame = -1;
    const frames = [...speech, ...silenceFrames(100)];
    for (let i = 0; i < frames.length; i++) {
      neighbour.sendFrame(frames[i]!);
      // The victim's frames come two per tick (as Twilio sends after a network hiccup), so with a batch of two its
      // second push flushes its first, whose barge-in ends the call while the session is still inside onMedia. Its
      // second sentence talks over the echo of its first.
      for (const k of [2 * i, 2 * i + 1]) {
        if (victimEndedAtFrame >= 0 || k >= frames.length) continue;
        victim.sendFrame(frames[k]!);
        if (victim.transport.isClosed) victimEndedAtFrame = k;
      }
      engine.time.advance(20);
    }
    expect(victimEndedAtFrame).toBeGreaterThan(0); // the barge-in happened and ended the call mid-stream
    const stats = engine.factory.registry.stats();
    expect(stats.clockHandlerErrors).toBe(0);
    expect(stats.inboundSinkErrors).toBe(0);
    expect(stats.inboundStalePushes).toBeGreaterThan(0); // the frame the session pushed after its own end
    expect(stats.liveSessions).toBe(1);
    expect(turnShape(engine.agents[1]!.turns)).toEqual(turnShape(turnsAlone()));

    // a new call takes the freed slot and hears only its own audio
    const newcomer = new FakeCaller(engine, 'C');
    newcomer.connect();
    for (const frame of [...speech, ...silenceFrames(100)]) {
      newcomer.sendFrame(frame);
      engine.time.advance(20);
    }
    expect(turnShape(engine.agents[2]!.turns)).toEqual(turnShape(turnsAlone()));
    expect(engine.factory.registry.stats().clockHandlerErrors).toBe(0);
  });

  it('gives back the slot, the ring, the turn audio and the registry entry when end() throws part-way', () => {
    const engine = smallBatchEngine(4);
    const ringsBefore = threadFrameRingPool.stats.blocksInUse;
    const chunksBefore = threadTurnAudioPool.chunksInUse;
    const caller = new FakeCaller(engine, 'D');
    caller.connect();
    // mid-turn: the turn detector holds audio chunks, the playout its ring
    for (const frame of speech.slice(0, 60)) {
      caller.sendFrame(frame);
      engine.time.advance(20);
    }
    expect(threadTurnAudioPool.chunksInUse).toBeGreaterThan(chunksBefore);
    caller.transport.close = () => {
      throw new Error('socket close failed');
    };
    expect(() => caller.stop()).toThrow('socket close failed');
    expect(engine.factory.registry.activeCalls).toBe(0);
    expect(engine.factory.registry.stats().liveSessions).toBe(0);
    expect(engine.batcher.slotsInUse).toBe(0);
    expect(threadFrameRingPool.stats.blocksInUse).toBe(ringsBefore);
    expect(threadTurnAudioPool.chunksInUse).toBe(chunksBefore);
  });
});
