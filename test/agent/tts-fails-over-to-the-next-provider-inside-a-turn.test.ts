// Providers that fail over. Speech synthesis: the real Google and OpenAI synthesizers, each against its local fake. While
// Google answers 503, a sentence is spoken by OpenAI within the same request (and the fail-over is reported); after
// three failures in a row Google rests and OpenAI is asked first; once the rest is over Google is asked again. A
// barge-in ends the attempt without asking anyone else. The reply (a second chat model): asked when the first model
// fails before its reply has begun, and the reply says which model served it.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverResponder, FailoverSynthesizer, RESTING_MS } from '../../src/agent/failover.js';
import { OpenAIResponder } from '../../src/agent/openai-responder.js';
import type { ResponderEvent } from '../../src/agent/types.js';
import { GoogleSynthesizer, loadGoogleCredentials } from '../../src/agent/google-tts.js';
import { OpenAISynthesizer } from '../../src/agent/openai-synthesizer.js';
import { fakeServiceAccount, ROUTE_SYNTHESIZE, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_CHAT, ROUTE_SPEECH, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

let googleFake: FakeGoogleTts;
let openaiFake: FakeOpenAI;
let nowMs = 0;
const failovers: string[] = [];
let synthesizer: FailoverSynthesizer;

beforeAll(async () => {
  const account = fakeServiceAccount();
  googleFake = await startFakeGoogleTts({ account, msPerChar: 10 });
  openaiFake = await startFakeOpenAI({ speechMsPerChar: 10 });
  const google = new GoogleSynthesizer({
    credentials: loadGoogleCredentials({ credentialsJson: account.json, applicationCredentials: undefined }),
    endpointUrl: googleFake.endpointUrl, languageCode: 'en-US', encoding: 'LINEAR16', timeoutMs: 3000,
  });
  const openai = new OpenAISynthesizer({
    client: new OpenAI({ apiKey: 'test', baseURL: openaiFake.baseUrl, maxRetries: 0 }), model: 'gpt-4o-mini-tts', voice: 'alloy', timeoutMs: 3000,
  });
  synthesizer = new FailoverSynthesizer([google, openai], {
    onFailover: (stage, from, to, error) => failovers.push(`${stage}:${from}>${to}:${error.kind}`),
    nowMs: () => nowMs,
  });
}, 20_000);

afterAll(async () => {
  await googleFake?.close();
  await openaiFake?.close();
});

const speechRequests = (): number => openaiFake.of(ROUTE_SPEECH).length;

describe('TTS fail-over', () => {
  it('uses the first provider while it works', async () => {
    const served = await synthesizer.synthesize('Good morning.', new AbortController().signal);
    expect(served.provider).toBe('google-tts');
    expect(served.audio.length).toBeGreaterThan(0);
    expect(speechRequests()).toBe(0);
  });

  it('speaks a sentence through the next provider when the first fails, in the same request', async () => {
    googleFake.behaviour.set(ROUTE_SYNTHESIZE, 'error500');
    const served = await synthesizer.synthesize('One moment please.', new AbortController().signal);
    expect(served).toMatchObject({ provider: 'openai-tts', encoding: 'pcm16', sampleRateHz: 24_000 });
    expect(served.audio.length).toBeGreaterThan(1000);
    expect(failovers).toEqual(['tts:google-tts>openai-tts:http']);
  });

  it('rests a provider that failed three times in a row, and asks it again after its rest', async () => {
    await synthesizer.synthesize('Second.', new AbortController().signal);
    await synthesizer.synthesize('Third.', new AbortController().signal);
    expect(failovers).toHaveLength(3);
    const googleAsked = googleFake.texts().length;
    // resting: OpenAI goes first, Google is not asked
    expect((await synthesizer.synthesize('Fourth.', new AbortController().signal)).provider).toBe('openai-tts');
    expect(googleFake.texts().length).toBe(googleAsked);
    expect(failovers).toHaveLength(3);
    // the rest is over and Google is back
    googleFake.behaviour.clear();
    nowMs += RESTING_MS + 1;
    expect((await synthesizer.synthesize('Fifth.', new AbortController().signal)).provider).toBe('google-tts');
  });

  it('asks nobody else after a barge-in', async () => {
    googleFake.behaviour.set(ROUTE_SYNTHESIZE, 'error500');
    const before = speechRequests();
    const barge = new AbortController();
    barge.abort(new Error('barge-in'));
    await expect(synthesizer.synthesize('Never said.', barge.signal)).rejects.toMatchObject({ kind: 'aborted' });
    expect(speechRequests()).toBe(before);
    googleFake.behaviour.clear();
  });
});

describe('chat fail-over', () => {
  const collect = async (events: AsyncIterable<ResponderEvent>): Promise<ResponderEvent[]> => {
    const all: ResponderEvent[] = [];
    for await (const event of events) all.push(event);
    return all;
  };
  const responderFor = (seen: string[]): FailoverResponder => {
    const client = new OpenAI({ apiKey: 'test', baseURL: openaiFake.baseUrl, maxRetries: 0 });
    return new FailoverResponder(
      [new OpenAIResponder({ client, model: 'gpt-first', timeoutMs: 2000 }), new OpenAIResponder({ client, model: 'gpt-second', timeoutMs: 2000, name: 'openai-llm-fallback' })],
      { onFailover: (stage, from, to, error) => seen.push(`${stage}:${from}>${to}:${error.kind}`) },
    );
  };

  it('asks the second model when the first fails before its reply begins, and says which one served', async () => {
    const seen: string[] = [];
    const before = openaiFake.chatBodies().length;
    openaiFake.nextBehaviours.set(ROUTE_CHAT, ['error500']);
    const events = await collect(responderFor(seen).respond([{ role: 'user', content: 'Hi' }], new AbortController().signal));
    expect(events[0]).toEqual({ kind: 'served', provider: 'openai-llm-fallback' });
    expect(events.filter((e) => e.kind === 'text').map((e) => (e as { delta: string }).delta).join('')).toBe('Sure. I can help with that.');
    expect(seen).toEqual(['llm:openai-llm>openai-llm-fallback:http']);
    // the failed request was the first model's, the answer the second's
    const models = openaiFake.of(ROUTE_CHAT).slice(before).map((r) => (JSON.parse(r.body.toString('utf8')) as { model: string }).model);
    expect(models).toEqual(['gpt-first', 'gpt-second']);
  });

  it('asks nobody else after a barge-in', async () => {
    const seen: string[] = [];
    const barge = new AbortController();
    barge.abort(new Error('barge-in'));
    await expect(collect(responderFor(seen).respond([{ role: 'user', content: 'Hi' }], barge.signal))).rejects.toMatchObject({ kind: 'aborted' });
    expect(seen).toEqual([]);
  });
});
