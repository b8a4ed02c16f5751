// A model that keeps calling tools: each turn runs at most maxToolRounds rounds of them (4 by default); when the
// model still asks for more, those calls are not run and the caller hears the apology line in the call's language.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_TOOL_ROUNDS } from '../../../src/agent/pipeline.js';
import { TOOL_LINES } from '../../../src/agent/tools/lines.js';
import type { Tool } from '../../../src/agent/tools/types.js';
import { hebrewTurn, startToolRig, type ToolRig } from './harness.js';

let rig: ToolRig;

beforeAll(async () => {
  rig = await startToolRig({ reply: (index) => ({ toolCalls: [{ id: `call_${index}`, name: 'ping', arguments: '{}' }] }) });
});

afterAll(async () => {
  await rig?.close();
});

describe('tool rounds', () => {
  it('are bounded: past the bound the calls are not run and the apology is spoken', async () => {
    let runs = 0;
    const ping: Tool = { name: 'ping', description: 'Ping.', parameters: { type: 'object', properties: {} }, run: async () => ({ ok: true, value: ++runs }) };
    const { agent, ctx } = await rig.newCall({ tools: [ping] });
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    expect(DEFAULT_MAX_TOOL_ROUNDS).toBe(4);
    expect(runs).toBe(4);
    expect(rig.openai.chatBodies()).toHaveLength(5);
    expect(rig.google.texts().join(' ')).toContain(TOOL_LINES['he']!.tooManyRounds);
    expect(ctx.played.filter((p) => p.id === 'reply-1-sorry').map((p) => p.type)).toEqual(['enqueue', 'enqueue', 'end']);
    // the history holds the four rounds whole (each call with its result), not the fifth's unrun call
    const last = rig.openai.chatBodies()[4]!.messages;
    expect(last.filter((m) => m.role === 'tool').map((m) => m.tool_call_id)).toEqual(['call_0', 'call_1', 'call_2', 'call_3']);
    expect(agent.history.filter((m) => m.role === 'tool')).toHaveLength(4);
    expect(agent.history.at(-1)).toEqual({ role: 'assistant', content: TOOL_LINES['he']!.tooManyRounds });
    agent.onCallEnd('stop');
  });
});
