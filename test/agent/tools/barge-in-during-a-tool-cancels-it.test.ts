// The caller speaks over the agent while a tool runs: the tool's signal is aborted, the model is not asked again,
// nothing of that turn plays (not even the filler), and the history holds no half-finished tool call.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tool } from '../../../src/agent/tools/types.js';
import { hebrewTurn, startToolRig, until, type ToolRig } from './harness.js';

let rig: ToolRig;

beforeAll(async () => {
  rig = await startToolRig({
    reply: (index) => (index === 0 ? { toolCalls: [{ name: 'find_order', arguments: '{"orderNumber":"A-1234"}' }] } : 'ההזמנה בדרך.'),
  });
});

afterAll(async () => {
  await rig?.close();
});

describe('barge-in during a tool', () => {
  it('cancels it: its signal is aborted and nothing of that turn plays', async () => {
    let toolSignal: AbortSignal | undefined;
    let abortedAtMs = 0;
    const waiting: Tool = {
      name: 'find_order', description: 'Where an order is.', timeoutMs: 10_000,
      parameters: { type: 'object', properties: { orderNumber: { type: 'string' } }, required: ['orderNumber'] },
      run: (_args, ctx) => new Promise((resolve) => {
        toolSignal = ctx.signal;
        ctx.signal.addEventListener('abort', () => {
          abortedAtMs = performance.now();
          resolve({ ok: false, error: 'aborted' });
        }, { once: true });
      }),
    };
    const { agent, ctx } = await rig.newCall({ tools: [waiting], pipeline: { fillerAfterMs: 700 } });
    const turn = agent.onTurn(hebrewTurn(1), new AbortController().signal);
    await until(() => toolSignal !== undefined, 'the tool to start');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const bargeInAtMs = performance.now();
    agent.onBargeIn({ atMs: 0, utterances: [], framesHeard: 0 });
    await turn;

    expect(toolSignal?.aborted).toBe(true);
    expect(abortedAtMs - bargeInAtMs).toBeLessThan(500);
    // wait past the filler's delay: it must not come after the barge-in either
    await new Promise((resolve) => setTimeout(resolve, 900));
    expect(ctx.played.filter((p) => p.id !== 'greeting'), JSON.stringify(ctx.played)).toEqual([]);
    expect(rig.openai.chatBodies()).toHaveLength(1);
    // the greeting, then what the caller said; no tool call without its result
    expect(agent.history.map((m) => m.role)).toEqual(['assistant', 'user']);
    expect(ctx.event('AGENT_FALLBACK')).toHaveLength(0);
    agent.onCallEnd('stop');
  });
});
