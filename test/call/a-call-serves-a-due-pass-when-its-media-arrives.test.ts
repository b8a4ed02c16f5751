// A call's session asks the thread clock to serve a due pass after each media frame it takes in (serveIfDue): on a
// busy loop the pass goes out between socket reads instead of after the whole batch of them. Here time moves on
// without any timer firing (the loop is reading), and a media frame alone brings the due pass.
import { describe, expect, it } from 'vitest';
import { FrameClock } from '../../src/audio/clock.js';
import { InboundBatcher } from '../../src/audio/dsp.js';
import { createSessionFactory } from '../../src/call/registry.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';
import { engineConfig, FakeCaller, RecordingEchoAgent, SILENT_LOG, silenceFrames, type TestEngine } from './support.js';

/** A clock source whose time can move on while no timer fires: the loop is busy with socket reads. */
class BusyLoopTimeSource extends ManualTimeSource {
  busyMs = 0;
  override nowMs(): number {
    return super.nowMs() + this.busyMs;
  }
}

function engineOn(time: BusyLoopTimeSource): TestEngine {
  const clock = new FrameClock({ time, earlyToleranceMs: 0 });
  const batcher = new InboundBatcher({ maxSlots: 4, maxFramesPerTick: 64 });
  const agents: RecordingEchoAgent[] = [];
  const factory = createSessionFactory({
    config: engineConfig(), clock, batcher, log: SILENT_LOG, maxFramesPerBatch: 64,
    agentFactory: () => {
      const agent = new RecordingEchoAgent();
      agents.push(agent);
      return agent;
    },
  });
  return { time, clock, batcher, factory, agents };
}

/** A started call on its own engine, its first `frames` frames sent on the clock's own time. */
function callAfter(frames: number): { time: BusyLoopTimeSource; engine: TestEngine; caller: FakeCaller; next: () => void } {
  const time = new BusyLoopTimeSource(0);
  const engine = engineOn(time);
  const caller = new FakeCaller(engine);
  caller.connect();
  const silence = silenceFrames(frames + 4);
  let sent = 0;
  const next = (): void => caller.sendFrame(silence[sent++]!);
  for (let i = 0; i < frames; i++) {
    next();
    time.advance(20);
  }
  return { time, engine, caller, next };
}

describe('a call and the clock between reads', () => {
  it('serves the due pass when a media frame arrives, before the clock\'s timer fires', () => {
    const { time, engine, caller, next } = callAfter(5);
    const passesBefore = engine.clock.stats.passes;
    const timersBefore = time.pendingTimers;
    expect(timersBefore).toBe(1);
    // 25 ms on with the loop busy: a sub-tick is due, its timer has not fired
    time.busyMs += 25;
    expect(engine.clock.stats.passes).toBe(passesBefore);
    next();
    expect(engine.clock.stats.passes).toBe(passesBefore + 1);
    expect(engine.clock.stats.lastPassStartMs).toBe(time.nowMs());
    // nothing more is due: the next frame brings no pass
    next();
    expect(engine.clock.stats.passes).toBe(passesBefore + 1);
    caller.stop();
  });

  it('leaves the pass to its timer when a frame arrives before it is due', () => {
    const { time, engine, caller, next } = callAfter(1);
    const passesBefore = engine.clock.stats.passes;
    time.busyMs += 0.5; // well before the next sub-tick (5 ms apart)
    next();
    expect(engine.clock.stats.passes).toBe(passesBefore);
    time.advance(20);
    expect(engine.clock.stats.passes).toBeGreaterThan(passesBefore);
    caller.stop();
  });
});
