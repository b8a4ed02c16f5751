// The playout tells when an utterance's first frame goes to the wire (the AI agent's "first frame sent" latency
// stage): not when the audio is enqueued, once per utterance, on the tick that writes it, after the write; never for
// an utterance with no audio or one cleared before it started. Through a session, the agent hears of it.
import { describe, expect, it } from 'vitest';
import type { Agent, AgentContext } from '../../src/call/agent-contract.js';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';
import { InboundBatcher } from '../../src/audio/dsp.js';
import { Playout } from '../../src/call/playout.js';
import { createSessionFactory } from '../../src/call/registry.js';
import { createThreadCallStats } from '../../src/call/types.js';
import { engineConfig, FakeCaller, FakeTransport, silenceFrames, SILENT_LOG, stream, type TestEngine } from './support.js';

function setup(leadFrames = 3) {
  const transport = new FakeTransport();
  const started: Array<{ id: string; atMs: number; mediaBefore: number }> = [];
  let now = 0;
  const playout = new Playout({
    transport, streamSid: 'MZtest', leadFrames, stats: createThreadCallStats(), initialCapacityFrames: 8,
    nowMs: () => now,
    onUtteranceStarted: (id, atMs) => started.push({ id, atMs, mediaBefore: transport.media().length }),
  });
  const tick = (index: number): void => {
    now = index * 20 + 0.5;
    playout.onTick(index, index * 20);
  };
  return { transport, playout, started, tick };
}

const audio = (frames: number, fill = 0x10): Uint8Array => new Uint8Array(frames * 160).fill(fill);

describe('Playout: utterance started', () => {
  it('reports the first frame when it is written, not when it is enqueued', () => {
    const { transport, playout, started, tick } = setup(3);
    playout.enqueue(audio(2), 'u1');
    expect(started).toEqual([]);
    tick(5);
    expect(started.map((s) => [s.id, s.atMs])).toEqual([['u1', 100.5]]);
    // announced after the tick's frames were written
    expect(started[0]!.mediaBefore).toBe(2);
    expect(transport.media()[0]!.payload[0]).toBe(0x10);
    // more audio for the same utterance is not a new start
    playout.enqueue(audio(3), 'u1');
    playout.endUtterance('u1');
    for (let t = 6; t < 12; t++) tick(t);
    expect(started.map((s) => s.id)).toEqual(['u1']);
  });

  it('reports an utterance queued behind another when its own first frame goes out', () => {
    const { transport, playout, started, tick } = setup(0);
    playout.play(audio(4, 0x11), 'first');
    playout.play(audio(2, 0x22), 'second');
    tick(0);
    tick(1);
    tick(2);
    expect(started.map((s) => s.id)).toEqual(['first']);
    tick(3); // the last frame of 'first'
    expect(started.map((s) => s.id)).toEqual(['first']);
    tick(4); // the first frame of 'second'
    expect(started.map((s) => [s.id, s.atMs])).toEqual([['first', 0.5], ['second', 80.5]]);
    expect(transport.media()[4]!.payload[0]).toBe(0x22);
  });

  it('reports each of several short utterances written in one catch-up pass, in order', () => {
    const { playout, started, tick } = setup(3);
    playout.play(audio(1), 'a');
    playout.play(new Uint8Array(0), 'empty'); // no audio: never reported
    playout.play(audio(1), 'b');
    playout.play(audio(1), 'c');
    tick(0);
    expect(started.map((s) => s.id)).toEqual(['a', 'b', 'c']);
  });

  it('does not report an utterance cleared before its first frame went out', () => {
    const { playout, started, tick } = setup(0);
    playout.play(audio(3), 'playing');
    tick(0);
    playout.play(audio(3), 'never-heard');
    playout.clear(20, 20);
    for (let t = 1; t < 6; t++) tick(t);
    expect(started.map((s) => s.id)).toEqual(['playing']);
    // after the clear, a new utterance is reported as usual
    playout.play(audio(2), 'next');
    tick(6);
    expect(started.map((s) => s.id)).toEqual(['playing', 'next']);
  });
});

describe('a session tells its agent when an utterance started', () => {
  it('calls Agent.onUtteranceStarted on the tick its first frame is sent, with the clock time of that send', () => {
    const time = new ManualTimeSource(0);
    const clock = new FrameClock({ time });
    const batcher = new InboundBatcher({ maxSlots: 4, maxFramesPerTick: 64 });
    const starts: Array<{ id: string; atMs: number; framesSent: number }> = [];
    let caller: FakeCaller | undefined;
    const agent: Agent & { ctx?: AgentContext } = {
      onCallStart(ctx) {
        this.ctx = ctx;
      },
      onTurn() {},
      onDtmf(digit) {
        if (digit === '1') this.ctx!.play(new Uint8Array(160 * 10).fill(0x10), 'reply');
      },
      onBargeIn() {},
      onUtteranceStarted(id, atMs) {
        starts.push({ id, atMs, framesSent: caller!.transport.media().length });
      },
      onCallEnd() {},
    };
    const factory = createSessionFactory({ config: engineConfig(), clock, batcher, log: SILENT_LOG, agentFactory: () => agent, maxFramesPerBatch: 64 });
    const engine: TestEngine = { time, clock, batcher, factory, agents: [] };
    caller = new FakeCaller(engine);
    caller.connect();
    stream(engine, [caller], silenceFrames(5));
    const askedAtMs = time.nowMs();
    caller.dtmf('1');
    expect(starts).toEqual([]); // enqueued, not yet sent
    stream(engine, [caller], silenceFrames(5));
    expect(starts.map((s) => s.id)).toEqual(['reply']);
    const start = starts[0]!;
    expect(start.framesSent).toBeGreaterThan(0);
    expect(start.atMs).toBeGreaterThan(askedAtMs);
    expect(start.atMs).toBeLessThanOrEqual(askedAtMs + 20);
    // the time is when the first frame was sent (the caller's transport records the manual time of each send)
    const firstFrameIndex = caller.transport.sent.findIndex((m) => m.event === 'media');
    expect(start.atMs).toBe(caller.sentAtMs[firstFrameIndex]);
    caller.stop();
  });
});
