// A tool that never answers (and ignores its signal): once tools have run for the filler delay the caller hears the
// filler line (Hebrew, the call's language), once; at the tool's time limit the model is given an error result
// (the tool message carries the call's tool_call_id) and asked again, and its answer is spoken.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_LINES } from '../../../src/agent/tools/lines.js';
import type { Tool } from '../../../src/agent/tools/types.js';
import { ROUTE_CHAT } from '../../fakes/openai-server.js';
import { hebrewTurn, startToolRig, type ToolRig } from './harness.js';

const ANSWER = 'סליחה, היומן לא זמין כרגע.';
let rig: ToolRig;

beforeAll(async () => {
  rig = await startToolRig({
    reply: (index) => (index === 0 ? { toolCalls: [{ id: 'call_cal_1', name: 'check_calendar', arguments: '{"day":"tomorrow"}' }] } : ANSWER),
  });
});

afterAll(async () => {
  await rig?.close();
});

describe('a tool that hangs', () => {
  it('gives the filler, then an error result to the model, then a spoken answer', async () => {
    let toolSignal: AbortSignal | undefined;
    let startedAtMs = 0;
    const hanging: Tool = {
      name: 'check_calendar', description: 'Free slots on a day.', timeoutMs: 1500,
      parameters: { type: 'object', properties: { day: { type: 'string' } }, required: ['day'] },
      run: (_args, ctx) => {
        toolSignal = ctx.signal;
        startedAtMs = performance.now();
        return new Promise(() => {}); // never answers, never looks at its signal
      },
    };
    const { agent, ctx } = await rig.newCall({ tools: [hanging] });
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);

    // the filler: once, as its own utterance, after the filler delay and before the model was asked again
    const fillers = ctx.played.filter((p) => p.id === 'filler-1');
    expect(fillers.map((p) => p.type), JSON.stringify(ctx.played)).toEqual(['play']);
    expect(fillers[0]!.atMs - startedAtMs).toBeGreaterThanOrEqual(600);
    expect(rig.google.texts()).toContain(TOOL_LINES['he']!.filler);
    const second = rig.openai.of(ROUTE_CHAT)[1];
    expect(second).toBeDefined();
    expect(fillers[0]!.atMs).toBeLessThan(second!.receivedAtMs);
    expect(ctx.event('TOOL_FILLER')).toHaveLength(1);

    // the tool was given up on at its limit: its signal aborted, the model told so with the call's id
    expect(toolSignal?.aborted).toBe(true);
    const bodies = rig.openai.chatBodies();
    expect(bodies).toHaveLength(2);
    expect(bodies[0]?.tools?.map((t) => t.function.name)).toEqual(expect.arrayContaining(['end_call', 'take_message', 'check_calendar']));
    const messages = bodies[1]!.messages;
    expect(messages.at(-2)).toMatchObject({
      role: 'assistant', content: null,
      tool_calls: [{ id: 'call_cal_1', type: 'function', function: { name: 'check_calendar', arguments: '{"day":"tomorrow"}' } }],
    });
    const result = messages.at(-1)!;
    expect(result).toMatchObject({ role: 'tool', tool_call_id: 'call_cal_1' });
    expect(JSON.parse(result.content ?? '')).toEqual({ ok: false, error: 'check_calendar did not answer within 1500 ms' });

    // then the answer is spoken, and the history holds the call, its result and the answer, in that order
    expect(ctx.played.filter((p) => p.id === 'reply-1-2').map((p) => p.type)).toEqual(['enqueue', 'end']);
    expect(rig.google.texts()).toContain(ANSWER);
    expect(agent.history.slice(-4).map((m) => m.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
    expect(agent.history.at(-1)).toEqual({ role: 'assistant', content: ANSWER });
    expect(ctx.event('AGENT_FALLBACK')).toHaveLength(0);
    agent.onCallEnd('stop');
  });
});
