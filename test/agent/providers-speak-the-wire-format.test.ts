// Each provider class with its real SDK (openai, @google-cloud/text-to-speech in REST fallback mode) pointed at a
// local fake that speaks the provider's wire format on 127.0.0.1: what goes over the wire (a 16 kHz WAV with
// model and language, a streamed chat request, pcm speech, Google's int-encoded request with a valid JWT), what comes
// back (text, deltas, headerless audio), and failure: one retry on a 500, a hang ended by the time limit with the
// socket closed, an abort closing the socket. No connection may leave 127.0.0.1.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GoogleSynthesizer, loadGoogleCredentials, parseGoogleEndpoint } from '../../src/agent/google-tts.js';
import { OpenAIResponder } from '../../src/agent/openai-responder.js';
import { OpenAISynthesizer } from '../../src/agent/openai-synthesizer.js';
import { OpenAITranscriber } from '../../src/agent/openai-transcriber.js';
import { ProviderError } from '../../src/agent/types.js';
import { pcmBytes, tonePcm, wavFile } from '../fakes/audio.js';
import { fakeServiceAccount, GOOGLE_LINEAR16, GOOGLE_MULAW, ROUTE_SYNTHESIZE, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { ROUTE_ASR, ROUTE_CHAT, ROUTE_SPEECH, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';

let guard: LoopbackGuard;
let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let client: OpenAI;
const account = fakeServiceAccount();

beforeAll(async () => {
  guard = guardLoopbackOnly();
  openaiFake = await startFakeOpenAI({ reply: () => 'Hello there. How can I help?' });
  googleFake = await startFakeGoogleTts({ account });
  client = new OpenAI({ apiKey: 'test', baseURL: openaiFake.baseUrl });
});

afterAll(async () => {
  await openaiFake?.close();
  await googleFake?.close();
  guard?.restore();
  expect(guard.escapes).toEqual([]);
});

const wav16k = (): Uint8Array => new Uint8Array(wavFile(1, 16_000, pcmBytes(tonePcm(16_000, 500))));
const rejection = async (promise: Promise<unknown>): Promise<ProviderError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected a rejection');
};

describe('OpenAI transcription', () => {
  it('uploads the WAV as multipart with model and language, and returns the text', async () => {
    const transcriber = new OpenAITranscriber({ client, model: 'whisper-1', timeoutMs: 2000 });
    const text = await transcriber.transcribe({ wav16k: wav16k(), language: 'he', signal: new AbortController().signal });
    expect(text).toBe('hello');
    const upload = openaiFake.uploads().at(-1);
    expect(upload?.fields).toMatchObject({ model: 'whisper-1', language: 'he' });
    expect(upload?.filename).toBe('turn.wav');
    expect(upload?.wavError).toBeUndefined();
    expect(upload?.wav).toMatchObject({ formatCode: 1, channels: 1, sampleRateHz: 16_000, bitsPerSample: 16 });
    expect(upload?.wav?.samples.length).toBe(8000);
  });

  it('retries once after a 500, then succeeds', async () => {
    const before = openaiFake.of(ROUTE_ASR).length;
    openaiFake.nextBehaviours.set(ROUTE_ASR, ['error500']);
    const transcriber = new OpenAITranscriber({ client, model: 'whisper-1', timeoutMs: 2000 });
    expect(await transcriber.transcribe({ wav16k: wav16k(), language: 'he', signal: new AbortController().signal })).toBe('hello');
    expect(transcriber.lastAttempts).toBe(2);
    expect(openaiFake.of(ROUTE_ASR).length - before).toBe(2);
  });

  it('gives up after two 500s with a retryable http error', async () => {
    openaiFake.nextBehaviours.set(ROUTE_ASR, ['error500', 'error500']);
    const transcriber = new OpenAITranscriber({ client, model: 'whisper-1', timeoutMs: 2000 });
    const error = await rejection(transcriber.transcribe({ wav16k: wav16k(), language: 'he', signal: new AbortController().signal }));
    expect(error).toMatchObject({ kind: 'http', status: 500, isRetryable: true });
  });

  it('ends a hung request at its time limit and closes the socket', async () => {
    openaiFake.nextBehaviours.set(ROUTE_ASR, ['hang']);
    const transcriber = new OpenAITranscriber({ client, model: 'whisper-1', timeoutMs: 400 });
    const started = performance.now();
    const error = await rejection(transcriber.transcribe({ wav16k: wav16k(), language: 'he', signal: new AbortController().signal }));
    expect(error.kind).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(1500);
    const hung = openaiFake.of(ROUTE_ASR).at(-1);
    await openaiFake.waitFor(() => hung?.wasAbortedByClient === true, 2000);
  });
});

describe('OpenAI streamed chat', () => {
  it('sends stream: true with the messages and yields the deltas', async () => {
    const responder = new OpenAIResponder({ client, model: 'gpt-4o-mini', timeoutMs: 2000 });
    const deltas: string[] = [];
    for await (const event of responder.respond([{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], new AbortController().signal)) {
      if (event.kind === 'text') deltas.push(event.delta);
    }
    expect(deltas.length).toBeGreaterThan(2);
    expect(deltas.join('')).toBe('Hello there. How can I help?');
    const body = openaiFake.chatBodies().at(-1);
    expect(body).toMatchObject({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }] });
  });

  it('an abort mid-stream closes the socket and ends with an aborted error', async () => {
    const slow = await startFakeOpenAI({ reply: () => 'x'.repeat(400), chunkChars: 1, chunkDelayMs: 20 });
    try {
      const responder = new OpenAIResponder({ client: new OpenAI({ apiKey: 'test', baseURL: slow.baseUrl }), model: 'm', timeoutMs: 2000 });
      const controller = new AbortController();
      let received = 0;
      const error = await rejection((async () => {
        for await (const event of responder.respond([{ role: 'user', content: 'hi' }], controller.signal)) {
          if (event.kind === 'text') received += event.delta.length;
          if (received === 5) controller.abort(new Error('barge-in'));
        }
      })());
      expect(error.kind).toBe('aborted');
      const request = slow.of(ROUTE_CHAT)[0];
      await slow.waitFor(() => request?.wasAbortedByClient === true, 2000);
      expect(request?.isComplete).toBe(false);
    } finally {
      await slow.close();
    }
  });

  it('a hung chat request times out', async () => {
    openaiFake.nextBehaviours.set(ROUTE_CHAT, ['hang']);
    const responder = new OpenAIResponder({ client, model: 'm', timeoutMs: 300 });
    const error = await rejection((async () => {
      for await (const _ of responder.respond([{ role: 'user', content: 'hi' }], new AbortController().signal)) { /* none */ }
    })());
    expect(error.kind).toBe('timeout');
  });
});

describe('OpenAI speech', () => {
  it('asks for pcm and returns 24 kHz samples', async () => {
    const synthesizer = new OpenAISynthesizer({ client, model: 'gpt-4o-mini-tts', voice: 'alloy', timeoutMs: 2000 });
    const result = await synthesizer.synthesize('Hello there.', new AbortController().signal);
    expect(result).toMatchObject({ encoding: 'pcm16', sampleRateHz: 24_000 });
    expect((result.audio as Int16Array).length).toBe(24 * 480); // 12 characters x 40 ms
    expect(openaiFake.of(ROUTE_SPEECH).at(-1)?.parsed).toMatchObject({ model: 'gpt-4o-mini-tts', voice: 'alloy', input: 'Hello there.', response_format: 'pcm' });
  });
});

describe('Google Text-to-Speech (REST fallback)', () => {
  const credentials = loadGoogleCredentials({ credentialsJson: account.json });
  const synthesizer = (encoding: 'LINEAR16' | 'MULAW', timeoutMs = 2000): GoogleSynthesizer =>
    new GoogleSynthesizer({ credentials, endpointUrl: googleFake.endpointUrl, languageCode: 'he-IL', voiceName: 'he-IL-Wavenet-A', encoding, timeoutMs });

  it('parses the endpoint URL into host, port and protocol', () => {
    expect(parseGoogleEndpoint('http://127.0.0.1:8085')).toEqual({ apiEndpoint: '127.0.0.1', port: 8085, protocol: 'http' });
    expect(parseGoogleEndpoint('https://eu-texttospeech.googleapis.com')).toEqual({ apiEndpoint: 'eu-texttospeech.googleapis.com', port: 443, protocol: 'https' });
    expect(() => parseGoogleEndpoint('ftp://x')).toThrow(/GOOGLE_TTS_API_ENDPOINT/);
  });

  it('LINEAR16: sends an int-encoded request with a valid JWT and returns 24 kHz PCM without the WAV header', async () => {
    const result = await synthesizer('LINEAR16').synthesize('שלום לך', new AbortController().signal);
    expect(result).toMatchObject({ encoding: 'pcm16', sampleRateHz: 24_000 });
    const samples = result.audio as Int16Array;
    expect(samples.length).toBe(24 * 280); // 7 characters x 40 ms
    // the tone starts at zero phase: a header read as samples would be 'RI' = 18770 first
    expect(Math.abs(samples[0] as number)).toBeLessThan(100);
    expect(Math.max(...Array.from(samples.subarray(0, 240), Math.abs))).toBeLessThanOrEqual(2000);
    const request = googleFake.of(ROUTE_SYNTHESIZE).at(-1);
    expect(request?.url).toContain('$alt=json%3Benum-encoding=int');
    expect(request?.parsed).toMatchObject({
      input: { text: 'שלום לך' }, voice: { languageCode: 'he-IL', name: 'he-IL-Wavenet-A' }, audioConfig: { audioEncoding: GOOGLE_LINEAR16, sampleRateHertz: 24_000 },
    });
    expect(googleFake.badTokens).toBe(0);
  });

  it('MULAW: returns 8 kHz mu-law whose first bytes are not a RIFF header', async () => {
    const result = await synthesizer('MULAW').synthesize('hello', new AbortController().signal);
    expect(result).toMatchObject({ encoding: 'mulaw', sampleRateHz: 8000 });
    const codes = result.audio as Uint8Array;
    expect(codes.length).toBe(8 * 200);
    expect(Buffer.from(codes.subarray(0, 4)).toString('latin1')).not.toBe('RIFF');
    expect((googleFake.of(ROUTE_SYNTHESIZE).at(-1)?.parsed as { audioConfig: unknown }).audioConfig).toMatchObject({ audioEncoding: GOOGLE_MULAW, sampleRateHertz: 8000 });
  });

  it('a 500 fails at once with an http error', async () => {
    googleFake.nextBehaviours.set(ROUTE_SYNTHESIZE, ['error500']);
    const started = performance.now();
    const error = await rejection(synthesizer('LINEAR16').synthesize('x', new AbortController().signal));
    expect(error.kind).toBe('http');
    expect(performance.now() - started).toBeLessThan(1500);
  });

  it('a hang is cut at the time limit and the socket closed (cancel on the inner call)', async () => {
    googleFake.nextBehaviours.set(ROUTE_SYNTHESIZE, ['hang']);
    const error = await rejection(synthesizer('LINEAR16', 400).synthesize('hang please', new AbortController().signal));
    expect(error.kind).toBe('timeout');
    const hung = googleFake.of(ROUTE_SYNTHESIZE).at(-1);
    await googleFake.waitFor(() => hung?.wasAbortedByClient === true, 2000);
  });

  it('an abort (barge-in) closes the socket of the request in flight', async () => {
    googleFake.nextBehaviours.set(ROUTE_SYNTHESIZE, ['hang']);
    const controller = new AbortController();
    const count = googleFake.of(ROUTE_SYNTHESIZE).length;
    const pending = synthesizer('LINEAR16', 5000).synthesize('abort me', controller.signal);
    await googleFake.waitFor(() => googleFake.of(ROUTE_SYNTHESIZE).length > count, 3000);
    controller.abort(new Error('barge-in'));
    const error = await rejection(pending);
    expect(error.kind).toBe('aborted');
    const request = googleFake.of(ROUTE_SYNTHESIZE).at(-1);
    await googleFake.waitFor(() => request?.wasAbortedByClient === true, 2000);
  });
});
