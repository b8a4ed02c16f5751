// The seam for everything that is not audio: a call publishes typed events (started, each caller turn, barge-in,
// DTMF, ended) and takes commands by callSid (clear, say, hang up, transfer). A hang-up or a transfer with a line
// waits until the line was heard (its mark came back), then publishes what control/ must do through Twilio; an agent
// without a voice (echo) gets "not supported" for say and an immediate hang-up.
import { describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/call/events.js';
import { CallEventBus } from '../../src/control/bus.js';
import { engineConfig, FakeCaller, makeEngine, readFixture, RecordingEchoAgent, silenceFrames, stream, toFrames } from './support.js';

/** An echo agent with a voice: say() plays a 0.4 s tone as the utterance. */
class SpeakingAgent extends RecordingEchoAgent {
  readonly said: Array<{ text: string; utteranceId: string }> = [];
  say(text: string, utteranceId: string): Promise<boolean> {
    this.said.push({ text, utteranceId });
    this.ctx?.play(new Uint8Array(160 * 20).fill(0x2a), utteranceId);
    return Promise.resolve(true);
  }
}

function recorder() {
  const bus = new CallEventBus();
  const events: CallEvent[] = [];
  bus.subscribe((event) => events.push(event));
  return { bus, events, kinds: () => events.map((e) => e.kind) };
}

describe('call events', () => {
  it('an echo call publishes started, its turns, the barge-in, a DTMF digit and its end, in order', () => {
    const { bus, events, kinds } = recorder();
    const engine = makeEngine(engineConfig(), { events: bus });
    const caller = new FakeCaller(engine, 'ev');
    caller.connect({ tenant: 'x' });
    stream(engine, [caller], [...toFrames(readFixture('conv-en.8k.ul')), ...silenceFrames(100)], { returnMarks: true });
    caller.dtmf('5');
    caller.stop();
    expect(kinds()).toEqual(['call-started', 'caller-turn', 'barge-in', 'caller-turn', 'dtmf', 'call-ended']);
    const started = events[0] as Extract<CallEvent, { kind: 'call-started' }>;
    expect(started).toMatchObject({ callSid: 'CAev', streamSid: 'MZev', agent: 'echo', customParameters: { tenant: 'x' } });
    const turns = events.filter((e): e is Extract<CallEvent, { kind: 'caller-turn' }> => e.kind === 'caller-turn');
    expect(turns.map((t) => t.turnId)).toEqual([1, 2]);
    expect(turns[1]!.wasBargeIn).toBe(true);
    for (const turn of turns) expect(turn.endedAtMs - turn.startedAtMs).toBeGreaterThan(1000);
    expect(events[4]).toMatchObject({ kind: 'dtmf', digit: '5' });
    expect(events[5]).toMatchObject({ kind: 'call-ended', callSid: 'CAev', reason: 'stop', turns: 2, bargeIns: 1 });
    expect(bus.listenerErrors).toBe(0);
  });

  it('a subscriber that throws does not stop the others or the call', () => {
    const bus = new CallEventBus();
    const seen: string[] = [];
    bus.subscribe(() => {
      throw new Error('broken subscriber');
    });
    bus.subscribe((event) => seen.push(event.kind));
    const engine = makeEngine(engineConfig(), { events: bus });
    const caller = new FakeCaller(engine, 'bad');
    caller.connect();
    caller.stop();
    expect(seen).toEqual(['call-started', 'call-ended']);
    expect(bus.listenerErrors).toBe(2);
  });
});

describe('call commands', () => {
  it('finds the call by callSid, and answers unknown and ended calls clearly', () => {
    const engine = makeEngine();
    const caller = new FakeCaller(engine, 'cmd');
    caller.connect();
    const { registry } = engine.factory;
    expect(registry.hasCall('CAcmd')).toBe(true);
    expect(registry.command('CAnobody', { kind: 'clear' })).toMatchObject({ ok: false, code: 'unknown-call' });
    expect(registry.command('CAcmd', { kind: 'clear' })).toEqual({ ok: true });
    expect(registry.command('CAcmd', { kind: 'say', text: 'hi' })).toMatchObject({ ok: false, code: 'not-supported' });
    caller.stop();
    expect(registry.hasCall('CAcmd')).toBe(false);
    expect(registry.command('CAcmd', { kind: 'clear' })).toMatchObject({ ok: false, code: 'unknown-call' });
  });

  it('hangs up at once when there is no goodbye (or no voice to say it): the event for Twilio, then the end', () => {
    const { bus, kinds, events } = recorder();
    const engine = makeEngine(engineConfig(), { events: bus });
    const caller = new FakeCaller(engine, 'hu');
    caller.connect();
    expect(engine.factory.registry.command('CAhu', { kind: 'hang-up', goodbye: 'Bye!', reason: 'api' })).toEqual({ ok: true });
    expect(kinds()).toEqual(['call-started', 'hang-up', 'call-ended']);
    expect(events[1]).toMatchObject({ kind: 'hang-up', callSid: 'CAhu', reason: 'api' });
    expect(events[2]).toMatchObject({ reason: 'hang-up' });
    expect(caller.transport.isClosed).toBe(true);
    expect(engine.agents[0]!.endReason).toBe('hang-up');
  });

  it('hangs up only after the goodbye was heard (its mark came back)', () => {
    const { bus, kinds } = recorder();
    const engine = makeEngine(engineConfig(), { events: bus, agent: () => new SpeakingAgent() });
    const caller = new FakeCaller(engine, 'gb');
    caller.connect();
    expect(engine.factory.registry.command('CAgb', { kind: 'hang-up', goodbye: 'Thanks for calling, goodbye.' })).toEqual({ ok: true });
    const agent = engine.agents[0] as SpeakingAgent;
    expect(agent.said.map((s) => s.text)).toEqual(['Thanks for calling, goodbye.']);
    stream(engine, [caller], silenceFrames(40)); // the goodbye plays out (marks not returned yet)
    expect(caller.transport.isClosed).toBe(false);
    expect(kinds()).toEqual(['call-started']);
    const goodbye = caller.transport.marks().find((m) => m.startsWith('goodbye-'));
    expect(goodbye).toBeDefined();
    caller.returnMark(goodbye!);
    expect(kinds()).toEqual(['call-started', 'hang-up', 'call-ended']);
    expect(caller.transport.isClosed).toBe(true);
  });

  it('transfers after its line was heard, with where to, warm or not, and the summary', () => {
    const { bus, events } = recorder();
    const engine = makeEngine(engineConfig(), { events: bus, agent: () => new SpeakingAgent() });
    const caller = new FakeCaller(engine, 'tr');
    caller.connect();
    const result = engine.factory.registry.command('CAtr', {
      kind: 'transfer', to: '+972501234567', isWarm: true, line: 'Connecting you now.', summary: 'Wants to move an appointment.',
    });
    expect(result).toEqual({ ok: true });
    stream(engine, [caller], silenceFrames(40), { returnMarks: true });
    const transfer = events.find((e) => e.kind === 'transfer');
    expect(transfer).toMatchObject({ callSid: 'CAtr', to: '+972501234567', isWarm: true, summary: 'Wants to move an appointment.' });
    // the stream stays up: Twilio ends it when it redirects the call
    expect(caller.transport.isClosed).toBe(false);
    caller.stop();
  });
});
