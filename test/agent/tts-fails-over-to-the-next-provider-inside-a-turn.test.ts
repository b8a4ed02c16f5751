// Speech synthesis that fails over: the real Google and OpenAI synthesizers, each against its local fake. While
// Google answers 503, a sentence is spoken by OpenAI within the same request (and the fail-over is reported); after
// three failures in a row Google rests and OpenAI is asked first; once the rest is over Google is asked again. A
// barge-in ends the attempt without asking anyone else.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FailoverSynthesizer, RESTING_MS } from '../../src/agent/failover.js';
import { GoogleSynthesizer, loadGoogleCredentials } from '../../src/agent/google-tts.js';
import { OpenAISynthesizer } from '../../src/agent/openai-synthesizer.js';
import { fakeServiceAccount, ROUTE_SYNTHESIZE, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_SPEECH, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

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
