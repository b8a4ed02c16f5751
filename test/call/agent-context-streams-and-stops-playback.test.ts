// What an agent can do with its call (the interface the AI pipeline will use): play a greeting at the start, stream
// an utterance in parts (one synthesized sentence at a time) with its mark after the last part, learn when Twilio
// confirms it was played, and stop its own playback (clear) learning how much was heard.
import { describe, expect, it } from 'vitest';
import type { Agent, AgentContext, HeardInfo, PlayedInfo } from '../../src/call/agent-contract.js';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';
import { InboundBatcher } from '../../src/audio/dsp.js';
import { createSessionFactory } from '../../src/call/registry.js';
import { engineConfig, FakeCaller, silenceFrames, SILENT_LOG, stream, type TestEngine } from './support.js';

class ScriptedAgent implements Agent {
  ctx!: AgentContext;
  played: PlayedInfo[] = [];
  stopped: HeardInfo | undefined;
  onCallStart(ctx: AgentContext): void {
    this.ctx = ctx;
    ctx.play(new Uint8Array(160 * 25).fill(0x10), 'greeting');
  }
  onTurn(): void {}
  onDtmf(digit: string): void {
    if (digit === '1') this.ctx.enqueue(new Uint8Array(1000).fill(0x20), 'reply');
    if (digit === '2') this.ctx.enqueue(new Uint8Array(1000).fill(0x21), 'reply');
    if (digit === '3') this.ctx.endUtterance('reply');
    if (digit === '9') this.stopped = this.ctx.stopPlayback();
  }
  onBargeIn(): void {}
  onUtterancePlayed(played: PlayedInfo): void {
    this.played.push(played);
  }
  onCallEnd(): void {}
}

function setup(): { engine: TestEngine; agent: ScriptedAgent; caller: FakeCaller } {
  const time = new ManualTimeSource(0);
  const clock = new FrameClock({ time });
  const batcher = new InboundBatcher({ maxSlots: 4, maxFramesPerTick: 64 });
  const agent = new ScriptedAgent();
  const factory = createSessionFactory({ config: engineConfig(), clock, batcher, log: SILENT_LOG, agentFactory: () => agent, maxFramesPerBatch: 64 });
  const engine: TestEngine = { time, clock, batcher, factory, agents: [] };
  const caller = new FakeCaller(engine);
  caller.connect({ From: '+15550001111' });
  return { engine, agent, caller };
}

describe('agent context', () => {
  it('plays a greeting at the start with its mark, and reports it played when Twilio returns the mark', () => {
    const { engine, agent, caller } = setup();
    expect(agent.ctx.call.customParameters).toEqual({ From: '+15550001111' });
    expect(agent.ctx.call.callSid).toBe('CAA');
    stream(engine, [caller], silenceFrames(40), { returnMarks: true });
    expect(caller.transport.media().length).toBe(25);
    expect(caller.transport.marks()).toEqual(['greeting']);
    expect(agent.played).toEqual([{ utteranceId: 'greeting', frames: 25 }]);
    expect(agent.ctx.isPlaying).toBe(false);
  });

  it('streams an utterance in parts and marks it after its last part', () => {
    const { engine, agent, caller } = setup();
    stream(engine, [caller], silenceFrames(40));
    const before = caller.transport.media().length;
    caller.dtmf('1');
    stream(engine, [caller], silenceFrames(20));
    expect(agent.ctx.isPlaying).toBe(true); // open utterance, waiting for more audio
    caller.dtmf('2');
    caller.dtmf('3');
    stream(engine, [caller], silenceFrames(20));
    const reply = caller.transport.media().slice(before);
    expect(reply.length).toBe(Math.ceil(2000 / 160));
    expect(reply[6]!.payload[0]).toBe(0x20); // bytes 960..1119: the first part's end, then the second's start
    expect(reply[6]!.payload[159]).toBe(0x21);
    expect(Array.from(reply[12]!.payload.subarray(80))).toEqual(new Array(80).fill(0xff)); // padded end
    expect(caller.transport.marks()).toEqual(['greeting', 'reply']);
  });

  it('stops its own playback with clear and learns what was heard', () => {
    const { engine, agent, caller } = setup();
    stream(engine, [caller], silenceFrames(10));
    caller.dtmf('9');
    expect(caller.transport.count('clear')).toBe(1);
    const heard = agent.stopped!;
    expect(heard.utterances[0]!.utteranceId).toBe('greeting');
    // ticks at 0, 20, ..., 200 ms: a burst of 1 + 3 (lead) frames, then one a tick
    expect(heard.utterances[0]!.framesSent).toBe(4 + 10);
    // at 200 ms, frames 0..9 have played; 10..13 are still in Twilio's buffer
    expect(heard.framesHeard).toBe(10);
    const sent = caller.transport.media().length;
    stream(engine, [caller], silenceFrames(30));
    expect(caller.transport.media().length).toBe(sent);
    expect(agent.ctx.isPlaying).toBe(false);
  });
});
