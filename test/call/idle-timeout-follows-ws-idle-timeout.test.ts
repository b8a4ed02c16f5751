// WS_IDLE_TIMEOUT_S reaches the call engine: a call whose stream sends nothing at all ends after that long
// (`idle`), and 0 switches the engine's idle end off as it switches off uWebSockets.js's.
import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';
import { InboundBatcher } from '../../src/audio/dsp.js';
import { createSessionFactory } from '../../src/call/registry.js';
import { engineConfig, FakeCaller, RecordingEchoAgent, SILENT_LOG, silenceFrames, type TestEngine } from './support.js';

function engineWithIdleTimeout(idleTimeoutS: number): TestEngine {
  const time = new ManualTimeSource(0);
  const clock = new FrameClock({ time });
  const batcher = new InboundBatcher({ maxSlots: 4, maxFramesPerTick: 64 });
  const agents: RecordingEchoAgent[] = [];
  const factory = createSessionFactory({
    config: { ...engineConfig(), ws: { idleTimeoutS } }, clock, batcher, log: SILENT_LOG, maxFramesPerBatch: 64,
    agentFactory: () => {
      const agent = new RecordingEchoAgent();
      agents.push(agent);
      return agent;
    },
  });
  return { time, clock, batcher, factory, agents };
}

/** A call that sends one second of media, then nothing; the manual clock runs `silentS` seconds on. */
function goSilent(engine: TestEngine, silentS: number): FakeCaller {
  const caller = new FakeCaller(engine);
  caller.connect();
  for (const frame of silenceFrames(50)) {
    caller.sendFrame(frame);
    engine.time.advance(20);
  }
  for (let ms = 0; ms < silentS * 1000; ms += 100) engine.time.advance(100);
  return caller;
}

describe('the call engine\'s idle timeout', () => {
  it('ends a silent call after WS_IDLE_TIMEOUT_S', () => {
    const engine = engineWithIdleTimeout(8);
    const caller = goSilent(engine, 7);
    expect(caller.transport.isClosed).toBe(false);
    for (let ms = 0; ms < 2_000; ms += 100) engine.time.advance(100);
    expect(caller.transport.isClosed).toBe(true);
    expect(engine.agents[0]!.endReason).toBe('idle');
    expect(engine.factory.registry.stats().idleTimeouts).toBe(1);
  });

  it('never ends a call for silence when WS_IDLE_TIMEOUT_S is 0', () => {
    const engine = engineWithIdleTimeout(0);
    const caller = goSilent(engine, 120);
    expect(caller.transport.isClosed).toBe(false);
    expect(engine.factory.registry.activeCalls).toBe(1);
    caller.stop();
  });
});
