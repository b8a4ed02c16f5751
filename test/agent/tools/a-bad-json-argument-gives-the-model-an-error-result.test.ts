// The model's arguments are untrusted: JSON that does not parse, or an object of the wrong shape, is answered with an
// error result under the call's own tool_call_id (the tool does not run, nothing throws), and the model answers again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hebrewTurn, startToolRig, type ToolRig } from './harness.js';

let rig: ToolRig;

beforeAll(async () => {
  rig = await startToolRig({
    reply: (index) => (index === 0
      ? {
        toolCalls: [
          { id: 'call_bad_json', name: 'take_message', arguments: '{"message": "call me back' },
          { id: 'call_bad_shape', name: 'take_message', arguments: '{"name": 5}' },
          { id: 'call_unknown', name: 'launch_rocket', arguments: '{}' },
        ],
      }
      : 'סליחה, אפשר לחזור על ההודעה?'),
  });
});

afterAll(async () => {
  await rig?.close();
});

describe('bad tool arguments', () => {
  it('give the model an error result for each call, and no message is taken', async () => {
    const { agent, ctx } = await rig.newCall();
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    const bodies = rig.openai.chatBodies();
    expect(bodies).toHaveLength(2);
    const results = bodies[1]!.messages.filter((m) => m.role === 'tool');
    expect(results.map((m) => m.tool_call_id)).toEqual(['call_bad_json', 'call_bad_shape', 'call_unknown']);
    const [badJson, badShape, unknown] = results.map((m) => JSON.parse(m.content ?? '') as { ok: boolean; error: string });
    expect(badJson).toMatchObject({ ok: false });
    expect(badJson!.error).toMatch(/^the arguments are not valid JSON/);
    expect(badShape).toEqual({ ok: false, error: 'missing argument(s): message' });
    expect(unknown!.ok).toBe(false);
    expect(unknown!.error).toMatch(/^unknown tool "launch_rocket"; the tools are end_call, take_message/);
    expect(ctx.reports.filter((r) => r.kind === 'message')).toEqual([]);
    expect(ctx.played.filter((p) => p.id === 'reply-1-2').map((p) => p.type)).toEqual(['enqueue', 'end']);
    expect(ctx.event('TOOL_CALL').map((l) => l['isOk'])).toEqual([false, false, false]);
    agent.onCallEnd('stop');
  });
});
