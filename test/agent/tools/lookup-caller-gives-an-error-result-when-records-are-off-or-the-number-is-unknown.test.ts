// lookup_caller never leaves the model without an answer: with records off (the main thread's answer to the records
// read) it gets an error result saying so, and on an outbound call (whose `from` is our own caller ID, shared by
// every outbound call) the number is not known, so no other caller's calls are looked up.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callerLookupThrough } from '../../../src/agent/tools/caller-lookup.js';
import type { RecordsQuery } from '../../../src/control/plane.js';
import { hebrewTurn, startToolRig, type ToolRig } from './harness.js';

let rig: ToolRig;

beforeAll(async () => {
  rig = await startToolRig({ reply: (index) => (index % 2 === 0 ? { toolCalls: [{ id: `call_lookup_${index}`, name: 'lookup_caller', arguments: '{}' }] } : 'בסדר.') });
});

afterAll(async () => {
  await rig?.close();
});

const lookupResult = (index: number): { ok: boolean; error?: string } => {
  const tool = rig.openai.chatBodies()[index]!.messages.at(-1)!;
  expect(tool.tool_call_id).toBe(`call_lookup_${index - 1}`);
  return JSON.parse(tool.content ?? '') as { ok: boolean; error?: string };
};

describe('lookup_caller', () => {
  it('gives an error result when records are off', async () => {
    const queries: RecordsQuery[] = [];
    const lookupCaller = callerLookupThrough(async (query) => {
      queries.push(query);
      return { ok: false, code: 'records-off', message: 'call records are off (RECORDS=off)' };
    });
    const { agent } = await rig.newCall({ lookupCaller });
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    expect(queries).toEqual([{ op: 'caller', from: '+972501112233', limit: 6 }]);
    expect(lookupResult(1)).toEqual({ ok: false, error: 'lookup_caller failed: call records are off on this server' });
    agent.onCallEnd('stop');
  });

  it('does not look anyone up on an outbound call', async () => {
    const queries: RecordsQuery[] = [];
    const lookupCaller = callerLookupThrough(async (query) => {
      queries.push(query);
      return { ok: true, body: [] };
    });
    const { agent } = await rig.newCall({ lookupCaller, customParameters: { from: '+15550009999', to: '+972501112233', direction: 'outbound' } });
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    expect(queries).toEqual([]);
    expect(lookupResult(3)).toEqual({ ok: false, error: 'the caller\'s number is not known' });
    agent.onCallEnd('stop');
  });
});
