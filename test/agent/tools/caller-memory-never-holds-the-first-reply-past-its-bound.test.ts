// Caller memory reads the caller's earlier calls from the main thread, which may be slow or never answer (a stalled
// database, a busy supervisor): the first reply waits for that read at most its bound, then answers without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerLookup } from '../../../src/agent/tools/built-ins.js';
import { hebrewTurn, startToolRig, until, type ToolRig } from './harness.js';

const REPLY = 'בטח, במה אפשר לעזור?';
let rig: ToolRig;

beforeAll(async () => {
  rig = await startToolRig({ reply: () => REPLY });
}, 20_000);

afterAll(async () => {
  await rig?.close();
});

describe('caller memory', () => {
  it('answers without the earlier calls when their read never comes back', async () => {
    let asked = 0;
    const neverAnswers: CallerLookup = () => {
      asked++;
      return new Promise(() => {}); // the main thread never answers
    };
    const { agent, ctx } = await rig.newCall({ pipeline: { callerMemory: neverAnswers } });
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    await until(() => ctx.played.some((p) => p.type === 'end' && p.id === 'reply-1'), 'the reply played');
    expect(asked).toBe(1);
    const system = rig.openai.chatBodies().at(-1)!.messages[0]!.content ?? '';
    expect(system).toContain('You are a test agent.');
    expect(system).not.toContain('called before');
    expect(ctx.lines.some((l) => l['event'] === 'CALLER_MEMORY')).toBe(true);
    agent.onCallEnd('stop');
  }, 15_000);

  it('puts the earlier calls into the instructions when the read answers', async () => {
    const answers: CallerLookup = async () => [
      { callSid: 'CAold', at: '2026-12-01T09:30:00.000Z', direction: 'inbound', durationMs: 40_000, endReason: 'stop', summary: 'Asked about opening hours.' },
    ];
    const { agent, ctx } = await rig.newCall({ pipeline: { callerMemory: answers } });
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    await until(() => ctx.played.some((p) => p.type === 'end' && p.id === 'reply-1'), 'the reply played');
    const system = rig.openai.chatBodies().at(-1)!.messages[0]!.content ?? '';
    expect(system).toContain('This caller (+972501112233) called before');
    expect(system).toContain('2026-12-01 09:30 UTC: Asked about opening hours.');
    agent.onCallEnd('stop');
  }, 15_000);
});
