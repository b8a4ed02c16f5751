// A provider that streams on and on (more audio for one sentence than any sentence has) is cut off at
// MAX_SENTENCE_AUDIO_MS: what came before the bound is handed over, the request is closed, and the overrun is a
// provider failure (bad-response), so memory stays bounded whatever the provider sends. The real OpenAI synthesizer
// against the local fake.
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { OpenAISynthesizer } from '../../src/agent/openai-synthesizer.js';
import { MAX_SENTENCE_AUDIO_MS, speakSentence, UtteranceFrameStreams } from '../../src/agent/sentence-audio.js';
import { ProviderError } from '../../src/agent/types.js';
import { ROUTE_SPEECH, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

let fake: FakeOpenAI;
beforeAll(async () => {
  // twice the bound, a second a piece with a pause between pieces: the reader stops long before the fake is done
  fake = await startFakeOpenAI({ speechChunkBytes: 48_000, speechChunkDelayMs: 2, speechAudioMs: () => 2 * MAX_SENTENCE_AUDIO_MS });
});
afterAll(async () => {
  await fake?.close();
});

it('cuts a sentence off at MAX_SENTENCE_AUDIO_MS of audio and closes the request', async () => {
  const synthesizer = new OpenAISynthesizer({ client: new OpenAI({ apiKey: 'test', baseURL: fake.baseUrl, maxRetries: 0 }), model: 'tts-1', voice: 'alloy', timeoutMs: 3000 });
  let handed = 0;
  const audio = await speakSentence('Hello.', new AbortController().signal, {
    synthesizer, streams: new UtteranceFrameStreams(), toMulaw: () => Promise.reject(new Error('not a whole sentence')),
  }, (mulaw) => {
    handed += mulaw.length;
    return true;
  });
  expect(audio.lateError).toBeInstanceOf(ProviderError);
  expect((audio.lateError as ProviderError).kind).toBe('bad-response');
  expect(audio.frames).toBeLessThanOrEqual(MAX_SENTENCE_AUDIO_MS / 20);
  expect(audio.frames).toBeGreaterThan(MAX_SENTENCE_AUDIO_MS / 20 - 60);
  expect(handed).toBe(audio.frames * 160);
  const request = fake.of(ROUTE_SPEECH).at(-1)!;
  await fake.waitFor(() => request.wasAbortedByClient, 3000);
});
