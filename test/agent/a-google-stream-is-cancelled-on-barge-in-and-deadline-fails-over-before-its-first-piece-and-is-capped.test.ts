// How Google's streamed synthesis ends when it does not end well: the real GoogleSynthesizer (the SDK's gRPC client)
// against the local fake StreamingSynthesize server. A barge-in mid-sentence cancels the call (the server sees the
// cancel) and nothing more is handed over; one while waiting for the first piece, or the deadline on a server that
// never answers, cancels it too and is a ProviderError ('aborted', 'timeout'). A stream that fails before its first
// piece (UNAVAILABLE) is a retryable ProviderError, and inside a fail-over chain the sentence is spoken by the next
// provider (OpenAI against its fake) within the same request; one the server cancels is a retryable network
// failure; a refused request (INVALID_ARGUMENT) is a 400. One that breaks after its first piece keeps what was
// handed over and is the sentence's late error. A server that streams on and on is cut off at MAX_SENTENCE_AUDIO_MS
// of audio: the call is cancelled, what came before the bound is kept, and the overrun is a bad-response. No
// connection leaves 127.0.0.1.
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FailoverSynthesizer } from '../../src/agent/failover.js';
import { GoogleSynthesizer, loadGoogleCredentials } from '../../src/agent/google-tts.js';
import { OpenAISynthesizer } from '../../src/agent/openai-synthesizer.js';
import { speakSentence, UtteranceFrameStreams } from '../../src/agent/sentence-audio.js';
import { MAX_SENTENCE_AUDIO_MS, ProviderError, type SynthesisChunk, type Synthesizer } from '../../src/agent/types.js';
import { startFakeGoogleTtsGrpc, type FakeGoogleTtsGrpc } from '../fakes/google-tts-grpc-server.js';
import { fakeServiceAccount } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { ROUTE_SPEECH, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const TIMEOUT_MS = 2000;
const VOICE = 'en-US-Chirp3-HD-Charon';

let guard: LoopbackGuard;
let grpcFake: FakeGoogleTtsGrpc;
let openaiFake: FakeOpenAI;
let google: GoogleSynthesizer;
const credentials = loadGoogleCredentials({ credentialsJson: fakeServiceAccount().json });

beforeAll(async () => {
  guard = guardLoopbackOnly();
  grpcFake = await startFakeGoogleTtsGrpc({ msPerChar: 40 });
  openaiFake = await startFakeOpenAI({ speechMsPerChar: 20, speechChunkBytes: 4801 });
  google = newGoogle(VOICE);
  // the gRPC client's start-up (loading the protos) happens here, not inside the first test's deadline
  const warm = await drain(google.synthesizeStream!('Warm up.', new AbortController().signal));
  expect(warm.error).toBeUndefined();
});

afterAll(async () => {
  await google?.close();
  await grpcFake?.close();
  await openaiFake?.close();
  guard?.restore();
  expect(guard.escapes).toEqual([]);
});

beforeEach(() => {
  grpcFake.hold = undefined;
  grpcFake.failure = 'none';
  grpcFake.audioMsFor = undefined;
  grpcFake.pieceBytes = 4801;
});

function newGoogle(voiceName: string): GoogleSynthesizer {
  // no REST endpoint is reachable here (port 9 on loopback): a sentence that went over REST would fail
  return new GoogleSynthesizer({
    credentials, endpointUrl: 'http://127.0.0.1:9', grpcEndpointUrl: grpcFake.endpointUrl, languageCode: 'en-US', voiceName,
    encoding: 'LINEAR16', timeoutMs: TIMEOUT_MS, streaming: true,
  });
}

/** The stream's chunks until it ends, and what it failed with (undefined: it ended well). */
async function drain(stream: AsyncIterable<SynthesisChunk>, onChunk: (chunk: SynthesisChunk) => void = () => undefined): Promise<{ chunks: SynthesisChunk[]; error: unknown }> {
  const chunks: SynthesisChunk[] = [];
  try {
    for await (const chunk of stream) {
      chunks.push(chunk);
      onChunk(chunk);
    }
    return { chunks, error: undefined };
  } catch (error) {
    return { chunks, error };
  }
}

const never = new Promise<void>(() => undefined);

function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('ending a Google stream', () => {
  it('a barge-in mid-sentence cancels the call on the server, and nothing more is handed over', async () => {
    grpcFake.hold = { afterPieces: 1, until: never };
    const barge = new AbortController();
    let handedAfterAbort = 0;
    const audio = await speakSentence('This sentence is interrupted by the caller.', barge.signal, {
      synthesizer: google, streams: new UtteranceFrameStreams(), toMulaw: () => Promise.reject(new Error('not a whole sentence')),
    }, () => {
      if (barge.signal.aborted) handedAfterAbort++;
      barge.abort(new Error('barge-in'));
      return false; // the playout was stopped: nothing more is wanted
    });
    expect(audio.wasStopped).toBe(true);
    expect(handedAfterAbort).toBe(0);
    const call = grpcFake.calls.at(-1)!;
    await grpcFake.waitFor(() => call.wasCancelled, 3000);
    expect(call.isComplete).toBe(false);
  });

  it('a barge-in before the first piece is an aborted ProviderError at once, and the call is cancelled', async () => {
    grpcFake.failure = 'hang';
    const barge = new AbortController();
    const callsBefore = grpcFake.calls.length;
    const result = drain(google.synthesizeStream!('Nobody will hear this.', barge.signal));
    await grpcFake.waitFor(() => grpcFake.calls.length > callsBefore && grpcFake.calls.at(-1)!.hasInputEnded, 3000);
    barge.abort(new Error('barge-in'));
    const { chunks, error } = await result;
    expect(chunks).toEqual([]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: 'google-tts', kind: 'aborted' });
    await grpcFake.waitFor(() => grpcFake.calls.at(-1)!.wasCancelled, 3000);
  });

  it('the deadline on a server that never answers is a timeout, and the call is cancelled', async () => {
    grpcFake.failure = 'hang';
    const { chunks, error } = await drain(google.synthesizeStream!('Is anybody there?', new AbortController().signal));
    expect(chunks).toEqual([]);
    expect(error).toMatchObject({ name: 'ProviderError', provider: 'google-tts', kind: 'timeout', isRetryable: true });
    await grpcFake.waitFor(() => grpcFake.calls.at(-1)!.wasCancelled, 3000);
  });
});

describe('a Google stream that fails', () => {
  it('before its first piece: a retryable ProviderError, and a fail-over chain speaks the sentence through the next provider', async () => {
    grpcFake.failure = 'unavailable-before-audio';
    const alone = await drain(google.synthesizeStream!('One moment please.', new AbortController().signal));
    expect(alone.chunks).toEqual([]);
    expect(alone.error).toMatchObject({ name: 'ProviderError', provider: 'google-tts', kind: 'http', status: 503, isRetryable: true });

    const openai = new OpenAISynthesizer({
      client: new OpenAI({ apiKey: 'test', baseURL: openaiFake.baseUrl, maxRetries: 0 }), model: 'gpt-4o-mini-tts', voice: 'alloy', timeoutMs: 3000,
    });
    const failovers: string[] = [];
    const chain: Synthesizer = new FailoverSynthesizer([google, openai], { onFailover: (stage, from, to, error) => failovers.push(`${stage}:${from}>${to}:${error.status ?? error.kind}`) });
    const speechBefore = openaiFake.of(ROUTE_SPEECH).length;
    const served = await drain(chain.synthesizeStream!('One moment please.', new AbortController().signal));
    expect(served.error).toBeUndefined();
    expect(served.chunks.length).toBeGreaterThan(0);
    expect(served.chunks.every((chunk) => chunk.provider === 'openai-tts')).toBe(true);
    expect(failovers).toEqual(['tts:google-tts>openai-tts:503']);
    expect(openaiFake.of(ROUTE_SPEECH).length).toBe(speechBefore + 1);
  });

  it('cancelled by the server, not by us: a retryable network ProviderError (another provider may serve it)', async () => {
    grpcFake.failure = 'cancelled-by-server';
    const { chunks, error } = await drain(google.synthesizeStream!('Hello.', new AbortController().signal));
    expect(chunks).toEqual([]);
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'network', isRetryable: true });
  });

  it('refused (a voice that does not stream): a 400 ProviderError before any audio', async () => {
    const wavenet = newGoogle('en-US-Wavenet-D');
    const { chunks, error } = await drain(wavenet.synthesizeStream!('Hello.', new AbortController().signal));
    await wavenet.close();
    expect(chunks).toEqual([]);
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'http', status: 400, isRetryable: false });
  });

  it('with no audio at all: a retryable bad-response', async () => {
    grpcFake.failure = 'no-audio';
    const { chunks, error } = await drain(google.synthesizeStream!('Silence.', new AbortController().signal));
    expect(chunks).toEqual([]);
    expect(error).toMatchObject({ name: 'ProviderError', kind: 'bad-response', isRetryable: true });
  });

  it('after its first piece: what was handed over is kept and the failure is the late error', async () => {
    grpcFake.failure = 'internal-after-first-piece';
    const handed = gate();
    grpcFake.hold = { afterPieces: 1, until: handed.promise }; // it fails once its first piece was handed over
    const audio = await speakSentence('This one breaks half way through the sentence.', new AbortController().signal, {
      synthesizer: google, streams: new UtteranceFrameStreams(), toMulaw: () => Promise.reject(new Error('not a whole sentence')),
    }, () => {
      handed.open();
      return true;
    });
    expect(audio.frames).toBeGreaterThan(0);
    expect(audio.lateError).toMatchObject({ name: 'ProviderError', kind: 'http', status: 500 });
  });
});

it('a stream that goes on past MAX_SENTENCE_AUDIO_MS is cut off there, cancelled, and the overrun is a bad-response', async () => {
  grpcFake.audioMsFor = () => 2 * MAX_SENTENCE_AUDIO_MS;
  grpcFake.pieceBytes = 48_001; // about a second a piece: the 60th goes past the bound
  grpcFake.hold = { afterPieces: 60, until: never }; // and nothing after it is sent: only a cut-off ends the call
  // a deadline that allows for the whole bound to arrive
  const capped = new GoogleSynthesizer({
    credentials, endpointUrl: 'http://127.0.0.1:9', grpcEndpointUrl: grpcFake.endpointUrl, languageCode: 'en-US', voiceName: VOICE,
    encoding: 'LINEAR16', timeoutMs: 5000, streaming: true,
  });
  let samples = 0;
  const { error } = await drain(capped.synthesizeStream!('Hello.', new AbortController().signal), (chunk) => {
    samples += chunk.audio.length;
  });
  expect(error).toMatchObject({ name: 'ProviderError', kind: 'bad-response', isRetryable: false });
  expect(String((error as Error).message)).toMatch(/more than 60 s of audio/);
  const maxSamples = (MAX_SENTENCE_AUDIO_MS / 1000) * 24_000;
  expect(samples).toBeLessThanOrEqual(maxSamples);
  expect(samples).toBeGreaterThan(maxSamples - 2 * 24_000);
  const call = grpcFake.calls.at(-1)!;
  await grpcFake.waitFor(() => call.wasCancelled, 3000);
  expect(call.piecesSent).toBe(60);
  expect(call.piecesPlanned).toBeGreaterThan(60);
  await capped.close();
});
