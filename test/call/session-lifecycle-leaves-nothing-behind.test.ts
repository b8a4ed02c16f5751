// A session is removed on `stop`, on the socket's close (abrupt disconnects included, mid-playback, before `start`),
// on idle timeout and on the agent's hang-up, and leaves nothing behind: the registry returns to zero, the DSP slot
// is freed, the clock has no subscriber and no timer, in-flight agent work is aborted, and nothing is sent after.
import { describe, expect, it } from 'vitest';
import type { Agent, AgentContext } from '../../src/call/agent-contract.js';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';
import { InboundBatcher } from '../../src/audio/dsp.js';
import { createSessionFactory } from '../../src/call/registry.js';
import { engineConfig, FakeCaller, FakeTransport, makeEngine, readFixture, silenceFrames, SILENT_LOG, stream, toFrames, type TestEngine } from './support.js';

function expectNothingLeft(engine: TestEngine): void {
  expect(engine.factory.registry.activeCalls).toBe(0);
  expect(engine.factory.registry.stats().liveSessions).toBe(0);
  expect(engine.batcher.slotsInUse).toBe(0);
  expect(engine.clock.subscribers).toBe(0);
  expect(engine.clock.isRunning).toBe(false);
  expect(engine.time.pendingTimers).toBe(0);
  expect(engine.clock.stats.handlerErrors).toBe(0);
}

const conv = toFrames(readFixture('conv-en.8k.ul'));

describe('session lifecycle', () => {
  it('ends on stop: closes the socket, frees everything, ignores later messages', () => {
    const engine = makeEngine();
    const caller = new FakeCaller(engine);
    caller.connect();
    expect(engine.factory.registry.activeCalls).toBe(1);
    expect(engine.batcher.slotsInUse).toBe(1);
    stream(engine, [caller], conv.slice(0, 100));
    caller.stop();
    expect(caller.transport.isClosed).toBe(true);
    expect(caller.transport.closeCode).toBe(1000);
    expect(engine.agents[0]!.endReason).toBe('stop');
    expect(engine.agents[0]!.ctx!.signal.aborted).toBe(true);
    expectNothingLeft(engine);
    caller.sendFrame(conv[0]!);
    caller.stop();
    expectNothingLeft(engine);
    expect(engine.factory.registry.stats().framesIn).toBe(100);
  });

  it('ends on an abrupt close in the middle of a playback, aborting the turn in flight; nothing is sent after', () => {
    const engine = makeEngine(engineConfig({ bargeIn: { enabled: false, minSpeechMs: 200 } }));
    const caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], [...conv.slice(0, 300), ...silenceFrames(60)]); // first turn, its echo under way
    const agent = engine.agents[0]!;
    expect(agent.turns.length).toBe(1);
    expect(caller.transport.media().length).toBeGreaterThan(0);
    const sentBefore = caller.transport.sent.length;
    caller.transport.close(1006); // the socket drops: the edge calls onTransportClosed
    expect(agent.endReason).toBe('closed');
    expect(agent.signals[0]!.aborted).toBe(true);
    expectNothingLeft(engine);
    agent.ctx!.play(new Uint8Array(1600), 'late'); // a late reply after the end is a no-op
    agent.ctx!.endUtterance('late');
    engine.time.advance(1000);
    expect(caller.transport.sent.length).toBe(sentBefore);
  });

  it('ends a socket that never started, and one closed in the middle of a clock pass', () => {
    const engine = makeEngine();
    const idle = new FakeCaller(engine, 'idle');
    idle.session.onMessage({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    idle.transport.close();
    const callers = Array.from({ length: 12 }, (_, i) => new FakeCaller(engine, `c${i}`));
    callers.forEach((c) => c.connect());
    expect(engine.factory.registry.activeCalls).toBe(12);
    stream(engine, callers, conv.slice(0, 50));
    // close half of them from inside a playout write (i.e. during a clock pass), the rest afterwards
    callers.slice(0, 6).forEach((c) => {
      c.sendFrame(conv[60]!);
      c.transport.onSend = () => c.transport.close();
    });
    stream(engine, callers, [...conv.slice(50, 320), ...silenceFrames(100)]);
    callers.forEach((c) => c.transport.close());
    expectNothingLeft(engine);
    // 13 sessions, 12 of them started (the calls count as the edge's, which owns the streams): 12 agents, all ended
    expect(engine.agents.length).toBe(12);
    expect(engine.agents.every((agent) => agent.endReason !== undefined)).toBe(true);
  });

  it('ends every call on thread shutdown (1001 going away)', () => {
    const engine = makeEngine();
    const callers = Array.from({ length: 3 }, (_, i) => new FakeCaller(engine, `s${i}`));
    callers.forEach((c) => c.connect());
    stream(engine, callers, conv.slice(0, 40));
    engine.factory.registry.shutdown();
    for (const c of callers) expect(c.transport.closeCode).toBe(1001);
    expect(engine.agents.map((a) => a.endReason)).toEqual(['shutdown', 'shutdown', 'shutdown']);
    expectNothingLeft(engine);
  });

  it('ends on idle timeout when nothing arrives', () => {
    const engine = makeEngine(engineConfig(), { idleTimeoutMs: 5_000 });
    const caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], silenceFrames(10));
    engine.time.advance(3_000);
    expect(engine.factory.registry.activeCalls).toBe(1);
    engine.time.advance(4_000);
    expect(engine.agents[0]!.endReason).toBe('idle');
    expect(caller.transport.isClosed).toBe(true);
    expect(engine.factory.registry.stats().idleTimeouts).toBe(1);
    expectNothingLeft(engine);
  });

  it('ends when the agent hangs up, and survives an agent that throws or rejects', async () => {
    const time = new ManualTimeSource(0);
    const clock = new FrameClock({ time });
    const batcher = new InboundBatcher({ maxSlots: 4, maxFramesPerTick: 64 });
    let ctx: AgentContext | undefined;
    const agent: Agent = {
      onCallStart: (c) => {
        ctx = c;
      },
      onTurn: () => Promise.reject(new Error('provider down')),
      onDtmf: (digit) => {
        if (digit === '#') ctx!.hangUp('caller pressed #');
        else throw new Error('bad digit');
      },
      onBargeIn: () => {},
      onCallEnd: () => {},
    };
    const factory = createSessionFactory({ config: engineConfig(), clock, batcher, log: SILENT_LOG, agentFactory: () => agent, maxFramesPerBatch: 64 });
    const engine: TestEngine = { time, clock, batcher, factory, agents: [] };
    const caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], [...conv.slice(0, 300), ...silenceFrames(50)]);
    caller.dtmf('5'); // throws inside the agent
    await Promise.resolve();
    expect(factory.registry.stats().agentErrors).toBe(2); // the rejected turn and the throwing digit
    expect(factory.registry.activeCalls).toBe(1);
    caller.dtmf('#');
    expect(caller.transport.isClosed).toBe(true);
    expectNothingLeft(engine);
  });

  it('tells the agent about DTMF digits', () => {
    const engine = makeEngine();
    const caller = new FakeCaller(engine);
    caller.connect();
    caller.dtmf('1');
    caller.dtmf('*');
    expect(engine.agents[0]!.digits).toEqual(['1', '*']);
    caller.stop();
    expectNothingLeft(engine);
  });

  it('ignores a second start and media before start', () => {
    const engine = makeEngine();
    const transport = new FakeTransport();
    const session = engine.factory(transport);
    session.onMessage({ event: 'media', sequenceNumber: 1, streamSid: 'MZ', track: 'inbound', chunk: 1, timestampMs: 0, payload: new Uint8Array(160).fill(0xff) });
    expect(engine.factory.registry.stats().framesIn).toBe(0);
    const caller = new FakeCaller(engine, 'B');
    caller.connect();
    caller.connect();
    expect(engine.agents.length).toBe(1);
    caller.stop();
    transport.close();
    session.onTransportClosed();
    expectNothingLeft(engine);
  });
});

describe('engine settings', () => {
  it('are checked when the engine is built, with messages naming the setting', () => {
    const build = (config: ReturnType<typeof engineConfig>) => () =>
      createSessionFactory({ config, clock: new FrameClock({ time: new ManualTimeSource(0) }), batcher: new InboundBatcher({ maxSlots: 1, maxFramesPerTick: 8 }), maxFramesPerBatch: 8, log: SILENT_LOG });
    expect(build(engineConfig({ playout: { leadFrames: -1 } }))).toThrow('config.playout.leadFrames must be an integer from 0 to 50 (got -1)');
    expect(build(engineConfig({ turns: { minTurnMs: 500, maxTurnMs: 400 } }))).toThrow('config.turns.maxTurnMs must be greater than minTurnMs (got 400 <= 500)');
    expect(build(engineConfig({ bargeIn: { enabled: true, minSpeechMs: Number.NaN } }))).toThrow('config.bargeIn.minSpeechMs must be >= 0 (got NaN)');
  });
});
