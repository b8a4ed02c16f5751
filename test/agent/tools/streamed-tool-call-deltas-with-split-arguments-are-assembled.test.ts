// OpenAI streams a tool call in pieces (its index, id and name first, then its arguments' JSON split across chunks,
// then finish_reason "tool_calls"): the responder, through the real `openai` SDK against the local fake, yields the
// text as it comes and each call once whole, in index order; the tools go out as function tools, and a conversation
// that holds tool calls and their results goes back in OpenAI's format (tool_calls, then tool messages by id).
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIResponder } from '../../../src/agent/openai-responder.js';
import type { ChatMessage, ResponderEvent } from '../../../src/agent/types.js';
import { startFakeOpenAI, type FakeOpenAI } from '../../fakes/openai-server.js';

const ARGS_1 = JSON.stringify({ message: 'תתקשרו אליי מחר בבוקר, בבקשה', name: 'דנה', callbackNumber: '+972501112233' });
const ARGS_2 = JSON.stringify({ goodbye: 'להתראות!' });
let fake: FakeOpenAI;

beforeAll(async () => {
  fake = await startFakeOpenAI({
    reply: () => ({
      text: 'רשמתי. ',
      toolCalls: [{ id: 'call_msg', name: 'take_message', arguments: ARGS_1 }, { id: 'call_end', name: 'end_call', arguments: ARGS_2 }],
    }),
    chunkChars: 2, argumentChunkChars: 3, chunkDelayMs: 1,
  });
});

afterAll(async () => {
  await fake?.close();
});

describe('streamed tool calls', () => {
  it('are assembled from deltas with split arguments, after the text', async () => {
    const responder = new OpenAIResponder({ client: new OpenAI({ apiKey: 'test', baseURL: fake.baseUrl }), model: 'gpt-4o-mini', timeoutMs: 2000 });
    const history: ChatMessage[] = [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'מה עם ההזמנה?' },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_prev', name: 'lookup_caller', argumentsJson: '{}' }] },
      { role: 'tool', toolCallId: 'call_prev', content: '{"ok":true,"value":{"earlierCalls":[]}}' },
      { role: 'user', content: 'אני רוצה להשאיר הודעה' },
    ];
    const tools = [{ name: 'take_message', description: 'Keep a message.', parameters: { type: 'object', properties: { message: { type: 'string' } }, required: ['message'] } }];
    const events: ResponderEvent[] = [];
    for await (const event of responder.respond(history, new AbortController().signal, { tools })) events.push(event);

    const text = events.filter((e) => e.kind === 'text');
    expect(text.length).toBeGreaterThan(1); // streamed, not at once
    expect(text.map((e) => (e.kind === 'text' ? e.delta : '')).join('')).toBe('רשמתי. ');
    const calls = events.filter((e) => e.kind === 'tool-call');
    expect(calls).toEqual([
      { kind: 'tool-call', id: 'call_msg', name: 'take_message', argumentsJson: ARGS_1 },
      { kind: 'tool-call', id: 'call_end', name: 'end_call', argumentsJson: ARGS_2 },
    ]);
    // the calls come after the text
    expect(events.findIndex((e) => e.kind === 'tool-call')).toBe(text.length);

    const body = fake.chatBodies().at(-1)!;
    expect(body.tools).toEqual([{ type: 'function', function: tools[0] }]);
    expect(body.messages.slice(2, 4)).toEqual([
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_prev', type: 'function', function: { name: 'lookup_caller', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_prev', content: '{"ok":true,"value":{"earlierCalls":[]}}' },
    ]);
  });

  it('a reply without tools offered sends no tools field', async () => {
    const responder = new OpenAIResponder({ client: new OpenAI({ apiKey: 'test', baseURL: fake.baseUrl }), model: 'm', timeoutMs: 2000 });
    for await (const _ of responder.respond([{ role: 'user', content: 'hi' }], new AbortController().signal)) { /* drain */ }
    expect(fake.chatBodies().at(-1)).not.toHaveProperty('tools');
  });
});
