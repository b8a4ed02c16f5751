// SpeculativeReply with the real OpenAIResponder against the fake OpenAI server: what the model sends before the
// turn ends is held and never handed out until adoption; adoption hands out exactly the reply a plain request gets
// (held part, then live); discarding closes the request's socket; an adopted reply is aborted by the reply's signal;
// a reply larger than the bound is discarded; a failed one answers nothing.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIResponder } from '../../src/agent/openai-responder.js';
import { sameWords, SpeculativeReply } from '../../src/agent/speculation.js';
import type { ChatMessage, ResponderEvent } from '../../src/agent/types.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

const REPLY = 'Sure, your table for four is booked at seven. Anything else I can do for you?';

let guard: LoopbackGuard;
let fake: FakeOpenAI;
let responder: OpenAIResponder;

beforeAll(async () => {
  guard = guardLoopbackOnly();
  fake = await startFakeOpenAI({ reply: () => REPLY, chunkChars: 4, chunkDelayMs: 2 });
  responder = new OpenAIResponder({ client: new OpenAI({ apiKey: 'test', baseURL: fake.baseUrl }), model: 'gpt-4o-mini', timeoutMs: 2000 });
});

afterAll(async () => {
  await fake?.close();
  guard?.restore();
  expect(guard.escapes).toEqual([]);
});

const messages: ChatMessage[] = [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'a table for four at seven' }];

async function textOf(events: AsyncIterable<ResponderEvent>): Promise<string> {
  let text = '';
  for await (const event of events) if (event.kind === 'text') text += event.delta;
  return text;
}

function waitUntil(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const startedMs = Date.now();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      if (predicate()) resolve();
      else if (Date.now() - startedMs > timeoutMs) reject(new Error('timed out'));
      else setTimeout(check, 5);
    };
    check();
  });
}

describe('a speculative reply', () => {
  it('holds the whole reply before adoption and then hands out exactly what a plain request gets', async () => {
    const plain = await textOf(responder.respond(messages, new AbortController().signal));
    expect(plain).toBe(REPLY);
    const before = fake.of(ROUTE_CHAT).length;
    const speculation = new SpeculativeReply(responder, messages, 'a table for four at seven', 'v3', new AbortController().signal);
    // the request completes while nobody consumes it
    await waitUntil(() => fake.of(ROUTE_CHAT).length === before + 1 && fake.of(ROUTE_CHAT)[before]!.isComplete);
    expect(speculation.hasFirstEvent).toBe(true);
    expect(speculation.answers('A table for four, at seven.', 'v3')).toBe(true);
    const text = await textOf(speculation.adopt(new AbortController().signal));
    expect(text).toBe(REPLY);
    expect(speculation.isPending).toBe(false);
    expect(() => speculation.adopt(new AbortController().signal)).toThrow(/only once/);
  });

  it('adopted while the model still streams: the held part, then the live rest, in order', async () => {
    const slow = await startFakeOpenAI({ reply: () => REPLY, chunkChars: 3, chunkDelayMs: 15 });
    try {
      const slowResponder = new OpenAIResponder({ client: new OpenAI({ apiKey: 'test', baseURL: slow.baseUrl }), model: 'm', timeoutMs: 2000 });
      const speculation = new SpeculativeReply(slowResponder, messages, 'x', 'v1', new AbortController().signal);
      await waitUntil(() => speculation.hasFirstEvent);
      expect(slow.of(ROUTE_CHAT)[0]!.isComplete).toBe(false);
      expect(await textOf(speculation.adopt(new AbortController().signal))).toBe(REPLY);
    } finally {
      await slow.close();
    }
  });

  it('discarded: its request is closed and it answers nothing', async () => {
    const slow = await startFakeOpenAI({ reply: () => REPLY, chunkChars: 2, chunkDelayMs: 30 });
    try {
      const slowResponder = new OpenAIResponder({ client: new OpenAI({ apiKey: 'test', baseURL: slow.baseUrl }), model: 'm', timeoutMs: 2000 });
      const speculation = new SpeculativeReply(slowResponder, messages, 'a table', 'v1', new AbortController().signal);
      await waitUntil(() => speculation.hasFirstEvent);
      speculation.discard('the caller went on');
      await slow.waitFor(() => slow.of(ROUTE_CHAT)[0]!.wasAbortedByClient);
      expect(speculation.answers('a table', 'v1')).toBe(false);
      expect(() => speculation.adopt(new AbortController().signal)).toThrow(/discarded/);
    } finally {
      await slow.close();
    }
  });

  it('adopted, then the reply is aborted (barge-in): the request is closed', async () => {
    const slow = await startFakeOpenAI({ reply: () => REPLY, chunkChars: 2, chunkDelayMs: 30 });
    try {
      const slowResponder = new OpenAIResponder({ client: new OpenAI({ apiKey: 'test', baseURL: slow.baseUrl }), model: 'm', timeoutMs: 2000 });
      const speculation = new SpeculativeReply(slowResponder, messages, 'a table', 'v1', new AbortController().signal);
      const reply = new AbortController();
      const events = speculation.adopt(reply.signal);
      let text = '';
      // as a plain request does, an aborted reply ends with the responder's 'aborted' error
      await expect((async () => {
        for await (const event of events) {
          if (event.kind === 'text') text += event.delta;
          if (text.length >= 6) reply.abort(new Error('barge-in'));
        }
      })()).rejects.toMatchObject({ kind: 'aborted' });
      await slow.waitFor(() => slow.of(ROUTE_CHAT)[0]!.wasAbortedByClient);
      expect(text.length).toBeLessThan(REPLY.length);
    } finally {
      await slow.close();
    }
  });

  it('does not answer another transcript or a changed conversation, and a reply over the bound is discarded', async () => {
    const speculation = new SpeculativeReply(responder, messages, 'a table for four', 'v5', new AbortController().signal);
    expect(speculation.answers('a table for four at seven', 'v5')).toBe(false);
    expect(speculation.answers('a table for four', 'v6')).toBe(false);
    expect(speculation.answers('a table for four', 'v5')).toBe(true);
    speculation.discard('test over');
    const small = new SpeculativeReply(responder, messages, 'a table', 'v1', new AbortController().signal, undefined, { maxHeldChars: 10 });
    await waitUntil(() => !small.isPending);
    expect(small.answers('a table', 'v1')).toBe(false);
  });

  it('a request that failed before the turn ended answers nothing (the turn asks again)', async () => {
    fake.nextBehaviours.set(ROUTE_CHAT, ['error500']);
    const speculation = new SpeculativeReply(responder, messages, 'a table', 'v1', new AbortController().signal);
    await waitUntil(() => fake.of(ROUTE_CHAT).at(-1)!.isComplete || fake.of(ROUTE_CHAT).at(-1)!.closedAtMs !== undefined);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(speculation.answers('a table', 'v1')).toBe(false);
  });

  it('compares words, not case, punctuation or spacing', () => {
    expect(sameWords('Yes, please.', 'yes please')).toBe(true);
    expect(sameWords('כן, בבקשה.', 'כן בבקשה')).toBe(true);
    expect(sameWords('yes please', 'yes please book')).toBe(false);
  });
});
