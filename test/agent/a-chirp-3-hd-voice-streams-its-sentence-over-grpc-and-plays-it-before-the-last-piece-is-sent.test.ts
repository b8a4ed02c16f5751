// Google's streamed synthesis: the real GoogleSynthesizer (the SDK's own gRPC client) against the local fake
// StreamingSynthesize server (test/fakes/google-tts-grpc-server.ts, the SDK's protos), which sends each sentence's
// headerless PCM in pieces of 4801 bytes (every piece ends mid-sample). A Chirp 3: HD voice's sentence goes over the
// stream (config message: the voice, PCM at 24 kHz; then the text): its first frames are handed over while the fake
// still holds the rest back, and all that is handed over equals the DSP pool's whole-sentence conversion of the PCM
// the fake sent, byte for byte. MULAW streams as 8 kHz mu-law, handed over as it came. Built from the configuration,
// a Chirp 3: HD voice streams unless GOOGLE_TTS_STREAMING=off, and any other voice is synthesized whole over REST as
// before (the fake REST server gets the sentence, the gRPC one nothing). No connection leaves 127.0.0.1 (the
// service-account credentials never fetch a token).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSynthesizer } from '../../src/agent/ai-factory.js';
import { GoogleSynthesizer, loadGoogleCredentials } from '../../src/agent/google-tts.js';
import { speakSentence, UtteranceFrameStreams, type SentenceAudio } from '../../src/agent/sentence-audio.js';
import type { SynthesisResult, Synthesizer } from '../../src/agent/types.js';
import { DspPool } from '../../src/audio/pool.js';
import { loadConfig } from '../../src/config.js';
import { startFakeGoogleTtsGrpc, type FakeGoogleTtsGrpc } from '../fakes/google-tts-grpc-server.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const FRAME_BYTES = 160;
const VOICE = 'he-IL-Chirp3-HD-Kore';
const SENTENCE = 'שלום, אפשר לעזור לך במשהו היום?';

let guard: LoopbackGuard;
let grpcFake: FakeGoogleTtsGrpc;
let restFake: FakeGoogleTts;
let pool: DspPool;
const account = fakeServiceAccount();
const credentials = loadGoogleCredentials({ credentialsJson: account.json });
const synthesizers: Synthesizer[] = [];

beforeAll(async () => {
  guard = guardLoopbackOnly();
  grpcFake = await startFakeGoogleTtsGrpc({ msPerChar: 40 });
  restFake = await startFakeGoogleTts({ account, msPerChar: 40 });
  pool = new DspPool({ threads: 1 });
});

afterAll(async () => {
  for (const synthesizer of synthesizers) await (synthesizer as { close?: () => Promise<void> }).close?.();
  await grpcFake?.close();
  await restFake?.close();
  await pool?.destroy();
  guard?.restore();
  expect(guard.escapes).toEqual([]);
});

beforeEach(() => {
  grpcFake.hold = undefined;
  grpcFake.failure = 'none';
});

function streamingSynthesizer(encoding: 'LINEAR16' | 'MULAW' = 'LINEAR16'): GoogleSynthesizer {
  const synthesizer = new GoogleSynthesizer({
    credentials, endpointUrl: restFake.endpointUrl, grpcEndpointUrl: grpcFake.endpointUrl, languageCode: 'he-IL', voiceName: VOICE,
    encoding, timeoutMs: 3000, streaming: true,
  });
  synthesizers.push(synthesizer);
  return synthesizer;
}

/** The pipeline's whole-sentence conversion: the DSP pool job for PCM, mu-law as it is. */
const toMulaw = async (result: SynthesisResult, signal: AbortSignal): Promise<Uint8Array> =>
  result.encoding === 'mulaw' ? result.audio as Uint8Array : pool.pcmToMulawFrames(result.audio as Int16Array, result.sampleRateHz, signal);

async function speak(synthesizer: Synthesizer, text: string, onPiece: (mulaw: Uint8Array, isFirst: boolean) => void = () => undefined): Promise<{ audio: SentenceAudio; mulaw: Uint8Array }> {
  const pieces: Uint8Array[] = [];
  const audio = await speakSentence(text, new AbortController().signal, { synthesizer, toMulaw, streams: new UtteranceFrameStreams() }, (mulaw, isFirst) => {
    pieces.push(mulaw.slice());
    onPiece(mulaw, isFirst);
    return true;
  });
  return { audio, mulaw: new Uint8Array(Buffer.concat(pieces)) };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('Google streamed synthesis over gRPC', () => {
  it("hands a Chirp 3: HD voice's first frames over before the last piece is sent, and they equal the whole conversion", async () => {
    const synthesizer = streamingSynthesizer();
    expect(synthesizer.synthesizeStream).toBeDefined();
    const held = gate();
    grpcFake.hold = { afterPieces: 2, until: held.promise };
    const restBefore = restFake.requests.length;
    const callsBefore = grpcFake.calls.length;
    let atFirstPiece: { sent: number; planned: number } | undefined;
    const { audio, mulaw } = await speak(synthesizer, SENTENCE, (_mulaw, isFirst) => {
      if (!isFirst) return;
      const call = grpcFake.calls.at(-1)!;
      atFirstPiece = { sent: call.piecesSent, planned: call.piecesPlanned };
      held.open(); // the rest of the sentence is sent only once its start was handed over
    });
    expect(atFirstPiece).toBeDefined();
    expect(atFirstPiece!.sent).toBeLessThanOrEqual(2);
    expect(atFirstPiece!.planned).toBeGreaterThan(atFirstPiece!.sent);
    expect(audio).toMatchObject({ provider: 'google-tts', isStreamed: true, lateError: undefined, wasStopped: false });
    expect(audio.pieces).toBeGreaterThan(2);

    expect(grpcFake.calls.length).toBe(callsBefore + 1);
    const call = grpcFake.calls.at(-1)!;
    expect(call.config).toMatchObject({ voice: { languageCode: 'he-IL', name: VOICE }, streamingAudioConfig: { audioEncoding: 'PCM', sampleRateHertz: 24_000 } });
    expect(call.texts).toEqual([SENTENCE]);
    expect(call).toMatchObject({ isComplete: true, wasCancelled: false, hasInputEnded: true });
    expect(call.sent.some((piece) => piece.length % 2 === 1)).toBe(true);
    expect(restFake.requests.length).toBe(restBefore); // not a byte over REST

    const sent = Buffer.concat(call.sent);
    const pcm = new Int16Array(sent.buffer.slice(sent.byteOffset, sent.byteOffset + sent.length - (sent.length % 2)));
    const whole = await pool.pcmToMulawFrames(pcm, 24_000);
    expect(mulaw.length % FRAME_BYTES).toBe(0);
    expect(Buffer.from(mulaw).equals(Buffer.from(whole))).toBe(true);
  });

  it('streams MULAW as 8 kHz mu-law, handed over as it came (the last frame padded)', async () => {
    const synthesizer = streamingSynthesizer('MULAW');
    const { audio, mulaw } = await speak(synthesizer, 'Hello there, how are you?');
    const call = grpcFake.calls.at(-1)!;
    expect(call.config?.streamingAudioConfig).toMatchObject({ audioEncoding: 'MULAW', sampleRateHertz: 8000 });
    expect(audio.isStreamed).toBe(true);
    const sent = Buffer.concat(call.sent);
    expect(mulaw.length).toBe(Math.ceil(sent.length / FRAME_BYTES) * FRAME_BYTES);
    expect(Buffer.from(mulaw.subarray(0, sent.length)).equals(sent)).toBe(true);
  });
});

describe('which voices stream, from the configuration', () => {
  const env = (extra: Record<string, string>): Record<string, string> => ({
    INSECURE_DEV_MODE: '1', AGENT: 'echo', LANGUAGE: 'he', GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: account.json, TTS_PROVIDER: 'google', TTS_FALLBACK: 'none',
    GOOGLE_TTS_API_ENDPOINT: restFake.endpointUrl, GOOGLE_TTS_GRPC_ENDPOINT: grpcFake.endpointUrl, TTS_TIMEOUT_MS: '3000', ...extra,
  });
  const built = (extra: Record<string, string>): Synthesizer => {
    const synthesizer = createSynthesizer(loadConfig(env(extra)), undefined);
    synthesizers.push(synthesizer);
    return synthesizer;
  };

  it('a Chirp 3: HD voice streams over gRPC', async () => {
    const synthesizer = built({ GOOGLE_TTS_VOICE: VOICE });
    const callsBefore = grpcFake.calls.length;
    const restBefore = restFake.requests.length;
    const { audio } = await speak(synthesizer, SENTENCE);
    expect(audio.isStreamed).toBe(true);
    expect(grpcFake.calls.length).toBe(callsBefore + 1);
    expect(grpcFake.calls.at(-1)!.texts).toEqual([SENTENCE]);
    expect(restFake.requests.length).toBe(restBefore);
  });

  it('another voice (the Hebrew default, he-IL-Wavenet-A) is synthesized whole over REST, as before', async () => {
    const synthesizer = built({});
    expect(synthesizer.synthesizeStream).toBeUndefined();
    const callsBefore = grpcFake.calls.length;
    const { audio, mulaw } = await speak(synthesizer, SENTENCE);
    expect(audio).toMatchObject({ isStreamed: false, pieces: 1 });
    expect(mulaw.length).toBeGreaterThan(0);
    expect(restFake.texts().at(-1)).toBe(SENTENCE);
    expect(restFake.bodies().at(-1)?.voice).toMatchObject({ name: 'he-IL-Wavenet-A' });
    expect(grpcFake.calls.length).toBe(callsBefore);
  });

  it('GOOGLE_TTS_STREAMING=off synthesizes even a Chirp 3: HD voice whole over REST', async () => {
    const synthesizer = built({ GOOGLE_TTS_VOICE: VOICE, GOOGLE_TTS_STREAMING: 'off' });
    expect(synthesizer.synthesizeStream).toBeUndefined();
    const callsBefore = grpcFake.calls.length;
    const { audio } = await speak(synthesizer, 'Shalom.');
    expect(audio.isStreamed).toBe(false);
    expect(restFake.bodies().at(-1)?.voice).toMatchObject({ name: VOICE });
    expect(grpcFake.calls.length).toBe(callsBefore);
  });
});
