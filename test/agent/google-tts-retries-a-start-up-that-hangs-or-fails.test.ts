// The Google TTS client's start-up (initialize()) is not cached when it hangs or fails: the SDK keeps its own start-up
// promise, so a client whose start-up never settled (or rejected) would fail every later sentence. The synthesizer
// waits for it only within the request's deadline, then starts over with a fresh client on the next request, which
// reaches the fake Google server and is answered. Real `@google-cloud/text-to-speech` clients against
// test/fakes/google-tts-server.ts; the fault is injected in the first client only: a start-up that never settles,
// or a real one that fails (credentials for another universe domain, which the SDK refuses at start-up).
import { TextToSpeechClient } from '@google-cloud/text-to-speech';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoogleSynthesizer, loadGoogleCredentials, parseGoogleEndpoint } from '../../src/agent/google-tts.js';
import { ProviderError } from '../../src/agent/types.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const TIMEOUT_MS = 400;

let guard: LoopbackGuard;
let googleFake: FakeGoogleTts;
const account = fakeServiceAccount();
const credentials = loadGoogleCredentials({ credentialsJson: account.json });

beforeAll(async () => {
  guard = guardLoopbackOnly();
  googleFake = await startFakeGoogleTts({ account, msPerChar: 20 });
});

afterAll(async () => {
  await googleFake?.close();
  guard?.restore();
  expect(guard.escapes).toEqual([]);
});

/** A real client for the fake server, as the synthesizer builds them; `extra` goes into its credentials. */
function realClient(extra: Record<string, string> = {}): TextToSpeechClient {
  return new TextToSpeechClient({
    fallback: true, ...parseGoogleEndpoint(googleFake.endpointUrl), projectId: 'ai-crmd-test',
    credentials: { client_email: credentials.client_email, private_key: credentials.private_key, ...extra },
  });
}

function synthesizerWith(first: TextToSpeechClient): { synthesizer: GoogleSynthesizer; made: () => number } {
  let made = 0;
  const synthesizer = new GoogleSynthesizer({
    credentials, endpointUrl: googleFake.endpointUrl, languageCode: 'en-US', encoding: 'LINEAR16', timeoutMs: TIMEOUT_MS,
    client: first,
    newClient: () => {
      made++;
      return realClient();
    },
  });
  return { synthesizer, made: () => made };
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('the Google TTS client start-up', () => {
  it('a start-up that never settles times out within the deadline, and the next request uses a fresh client', async () => {
    const stuck = realClient();
    stuck.initialize = () => new Promise(() => undefined) as ReturnType<TextToSpeechClient['initialize']>;
    const { synthesizer, made } = synthesizerWith(stuck);
    const before = googleFake.requests.length;
    const startedAtMs = performance.now();
    const error = await failure(synthesizer.synthesize('Hello there.', new AbortController().signal));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: 'google-tts', kind: 'timeout' });
    expect(performance.now() - startedAtMs).toBeLessThan(TIMEOUT_MS + 1000);
    expect(googleFake.requests.length).toBe(before); // it never got as far as a request
    const result = await synthesizer.synthesize('Hello again.', new AbortController().signal);
    expect(result).toMatchObject({ encoding: 'pcm16', sampleRateHz: 24_000 });
    expect(result.audio.length).toBeGreaterThan(0);
    expect(googleFake.texts().at(-1)).toBe('Hello again.');
    expect(made()).toBe(1);
    expect(synthesizer.client).not.toBe(stuck);
    await synthesizer.close();
  });

  it('a start-up that fails is not cached either: the next request starts over', async () => {
    const failing = realClient({ universe_domain: 'other.example' });
    const { synthesizer, made } = synthesizerWith(failing);
    const error = await failure(synthesizer.synthesize('Hello there.', new AbortController().signal));
    expect(error).toBeInstanceOf(ProviderError);
    expect(String((error as Error).message)).toMatch(/universe domain/);
    const result = await synthesizer.synthesize('Hello once more.', new AbortController().signal);
    expect(result.audio.length).toBeGreaterThan(0);
    expect(googleFake.texts().at(-1)).toBe('Hello once more.');
    expect(made()).toBe(1);
    await synthesizer.close();
  });
});
