// transfer_call names its target; only the configured names exist (the model is told them as an enum, and any other
// name is an error result), and a transfer is the same `transfer` command the API sends: the line in the call's
// language first, warm with the whisper summary when the model gave one. Without targets there is no transfer_call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOOL_LINES } from '../../../src/agent/tools/lines.js';
import { hebrewTurn, startToolRig, type ToolRig } from './harness.js';

const SALES = '+972512223344';
let rig: ToolRig;
type Reply = { toolCalls: Array<{ id: string; name: string; arguments: string }> } | string;
/** Each test's replies, counted from its own first chat request. */
let script: Reply[] = [];
let scriptStart = 0;
function scriptReplies(replies: Reply[]): void {
  script = replies;
  scriptStart = rig.openai.chatBodies().length;
}

beforeAll(async () => {
  rig = await startToolRig({ reply: (index) => script[index - scriptStart] ?? 'כן.' });
});

afterAll(async () => {
  await rig?.close();
});

describe('transfer_call', () => {
  it('goes only to a configured target, through the transfer command with its line and summary', async () => {
    scriptReplies([
      { toolCalls: [{ id: 'call_t1', name: 'transfer_call', arguments: '{"target":"billing"}' }] },
      { toolCalls: [{ id: 'call_t2', name: 'transfer_call', arguments: '{"target":"sales","summary":"Wants a quote for ten seats."}' }] },
    ]);
    const { agent, ctx } = await rig.newCall({ transfers: { sales: SALES, support: 'sip:support@pbx.example.test' } });
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    const bodies = rig.openai.chatBodies();
    expect(bodies).toHaveLength(2);
    const tool = bodies[0]!.tools?.find((t) => t.function.name === 'transfer_call');
    expect((tool?.function.parameters as { properties: { target: { enum: string[] } } }).properties.target.enum).toEqual(['sales', 'support']);
    const refused = bodies[1]!.messages.at(-1)!;
    expect(refused.tool_call_id).toBe('call_t1');
    expect(JSON.parse(refused.content ?? '')).toEqual({ ok: false, error: 'unknown target "billing"; the targets are sales, support' });
    expect(ctx.commands).toEqual([{ kind: 'transfer', to: SALES, isWarm: true, line: TOOL_LINES['he']!.transfer, summary: 'Wants a quote for ten seats.' }]);
    agent.onCallEnd('stop');
  });

  it('is not offered without targets; end_call without a goodbye says the default one', async () => {
    scriptReplies([{ toolCalls: [{ id: 'call_e', name: 'end_call', arguments: '{}' }] }]);
    const before = rig.openai.chatBodies().length;
    const { agent, ctx } = await rig.newCall();
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    const body = rig.openai.chatBodies()[before]!;
    expect(body.tools?.map((t) => t.function.name)).toEqual(['end_call', 'take_message']);
    expect(ctx.commands).toEqual([{ kind: 'hang-up', goodbye: TOOL_LINES['he']!.goodbye, reason: 'agent-end-call' }]);
    // the call ends: the model is not asked again
    expect(rig.openai.chatBodies()).toHaveLength(before + 1);
    agent.onCallEnd('stop');
  });
});
