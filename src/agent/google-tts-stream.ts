// Google Cloud Text-to-Speech streamed: one sentence over gRPC's bidirectional StreamingSynthesize (the SDK's REST
// fallback refuses it), its audio handed on piece by piece as Google sends it, so that the sentence's first frames
// play while the rest is being synthesized. Only some voices stream (Chirp 3: HD, e.g. he-IL-Chirp3-HD-Kore; the
// rule is config.ts isGoogleStreamingVoice); GoogleSynthesizer (google-tts.ts) uses this only for those.
// The call: a first message with the voice and StreamingAudioConfig, then the sentence as one input message, then
// the client half-closes; Google answers audio_content messages and ends the call. Streaming takes PCM, ALAW, MULAW
// and OGG_OPUS (not LINEAR16, which is PCM in a WAV file), so LINEAR16 is asked for as headerless PCM at 24 kHz
// (converted piece by piece in the calling thread, sentence-audio.ts), MULAW as 8 kHz mu-law. A piece may end in the
// middle of a 16-bit sample: PcmByteStream joins it to the next, and removes a WAV header should one ever come.
// The SDK's own gRPC client: TLS and the service account's self-signed JWTs in production (no token is fetched);
// against an http:// endpoint (a local fake) a plaintext channel, which carries no credentials at all.
// Bounded: the time limit covers the start-up and the wait for the first piece, then restarts with each piece; an
// abort (barge-in), the deadline, a reader that stops early or more than MAX_SENTENCE_AUDIO_MS of audio cancel the
// call at once (the server sees the cancel). A failure before the first piece is a ProviderError like synthesize()'s,
// so that a fail-over chain can ask another provider; one after it ends the stream with that error.
import grpc from '@grpc/grpc-js';
import { TextToSpeechClient } from '@google-cloud/text-to-speech';
import { clientCredentialOptions, GoogleClientSlot, parseGoogleEndpoint, type ServiceAccountCredentials } from './google-client.js';
import { PcmByteStream } from './pcm-bytes.js';
import { startDeadline, toGrpcProviderError } from './provider-call.js';
import { MAX_SENTENCE_AUDIO_MS, ProviderError, type SynthesisChunk } from './types.js';

/** The rate streamed PCM is asked for (Chirp 3: HD voices' own). */
export const GOOGLE_STREAM_PCM_RATE_HZ = 24_000;

export interface GoogleSpeechStreamOptions {
  /** The synthesizer's name, in errors and chunks. */
  provider: string;
  credentials: ServiceAccountCredentials;
  /** The gRPC endpoint as a URL (https: TLS; http: plaintext, for a local fake); default Google's global one. */
  endpointUrl?: string | undefined;
  languageCode: string;
  voiceName?: string | undefined;
  encoding: 'LINEAR16' | 'MULAW';
  timeoutMs: number;
  /** For tests: the first client to use, and how a fresh one is made (default: from the options above). */
  client?: TextToSpeechClient;
  newClient?: () => TextToSpeechClient;
}

type SynthesisCall = ReturnType<TextToSpeechClient['streamingSynthesize']>;

/** The most audio one sentence may bring, in bytes of its encoding (60 s: 2.88 MB of 24 kHz PCM, 480 kB of mu-law). */
export function maxStreamAudioBytes(encoding: 'LINEAR16' | 'MULAW'): number {
  const bytesPerSecond = encoding === 'MULAW' ? 8000 : GOOGLE_STREAM_PCM_RATE_HZ * 2;
  return (MAX_SENTENCE_AUDIO_MS / 1000) * bytesPerSecond;
}

/** A TextToSpeechClient over gRPC for `endpointUrl`, refusing any one message larger than `maxMessageBytes`. */
export function newStreamingClient(credentials: ServiceAccountCredentials, endpointUrl: string | undefined, maxMessageBytes: number): TextToSpeechClient {
  const endpoint = endpointUrl !== undefined ? parseGoogleEndpoint(endpointUrl, 'GOOGLE_TTS_GRPC_ENDPOINT') : undefined;
  return new TextToSpeechClient({
    fallback: false,
    ...clientCredentialOptions(credentials),
    ...(endpoint !== undefined ? { apiEndpoint: endpoint.apiEndpoint, port: endpoint.port } : {}),
    // plaintext for http://: grpc-js sends call credentials only over TLS, so nothing is signed or fetched either
    ...(endpoint?.protocol === 'http' ? { sslCreds: grpc.credentials.createInsecure() } : {}),
    // the SDK lifts grpc-js's receive limit (4 MiB) altogether; one answer never needs more than a sentence's audio
    'grpc.max_receive_message_length': maxMessageBytes,
  });
}

export class GoogleSpeechStream {
  /** Audio bytes after which a sentence's stream is cut off. */
  readonly maxAudioBytes: number;
  private readonly options: GoogleSpeechStreamOptions;
  private readonly clients: GoogleClientSlot<TextToSpeechClient>;

  constructor(options: GoogleSpeechStreamOptions) {
    this.options = options;
    this.maxAudioBytes = maxStreamAudioBytes(options.encoding);
    const newClient = options.newClient ?? (() => newStreamingClient(options.credentials, options.endpointUrl, this.maxAudioBytes + 1024));
    this.clients = new GoogleClientSlot(newClient, options.client);
  }

  /** The gRPC client calls go to now (a new one after a failed or hung start-up). */
  get client(): TextToSpeechClient {
    return this.clients.client;
  }

  /** `text`'s audio as Google streams it (see the top of this file). */
  async *synthesize(text: string, signal: AbortSignal): AsyncGenerator<SynthesisChunk> {
    const { provider, languageCode, voiceName, encoding, timeoutMs } = this.options;
    const isMulaw = encoding === 'MULAW';
    const deadline = startDeadline(signal, timeoutMs);
    let call: SynthesisCall | undefined;
    let isOver = false;
    const cancel = (): void => {
      if (!isOver) call?.cancel();
    };
    deadline.signal.addEventListener('abort', cancel, { once: true });
    try {
      if (deadline.signal.aborted) throw deadline.signal.reason;
      const client = await this.clients.ready(deadline.signal);
      call = client.streamingSynthesize();
      const answers = new AnswerQueue(call, this.maxAudioBytes, provider);
      call.write({
        streamingConfig: {
          voice: { languageCode, ...(voiceName !== undefined ? { name: voiceName } : {}) },
          streamingAudioConfig: isMulaw ? { audioEncoding: 'MULAW', sampleRateHertz: 8000 } : { audioEncoding: 'PCM', sampleRateHertz: GOOGLE_STREAM_PCM_RATE_HZ },
        },
      });
      call.write({ input: { text } });
      call.end(); // the whole sentence is in: Google ends the call after its last audio
      const bytes = new PcmByteStream();
      let samples = 0;
      for (let piece = await answers.next(deadline.signal); piece !== undefined; piece = await answers.next(deadline.signal)) {
        deadline.restart();
        if (isMulaw) {
          const codes = bytes.pushBytes(piece);
          if (codes.length === 0) continue;
          samples += codes.length;
          yield { audio: codes, encoding: 'mulaw', sampleRateHz: 8000 };
        } else {
          const pcm = bytes.push(piece);
          if (pcm.length === 0) continue;
          samples += pcm.length;
          yield { audio: pcm, encoding: 'pcm16', sampleRateHz: GOOGLE_STREAM_PCM_RATE_HZ };
        }
      }
      isOver = true;
      bytes.end();
      if (samples === 0) throw new ProviderError(`${provider}: the stream had no audio`, provider, 'bad-response', true);
    } catch (error) {
      throw toGrpcProviderError(provider, error, deadline);
    } finally {
      // a reader that stopped early (enough audio, a barge-in, a failure) ends the call too, not only the deadline
      cancel();
      deadline.signal.removeEventListener('abort', cancel);
      deadline.dispose();
    }
  }

  async close(): Promise<void> {
    await this.clients.close();
  }
}

/**
 * A call's audio pieces as they arrive, for one reader. Whatever the reader's pace, what is held stays within the
 * sentence's bound: past it the call is cancelled and the overrun is the reader's next error (after the pieces that
 * came before it). The call's own errors after a cancel land here too, never as an unhandled 'error' event.
 */
class AnswerQueue {
  private readonly pieces: Uint8Array[] = [];
  private isEnded = false;
  private failure: unknown;
  private wake: (() => void) | undefined;
  private receivedBytes = 0;

  constructor(call: SynthesisCall, maxBytes: number, provider: string) {
    call.on('data', (answer: { audioContent?: unknown }) => {
      const audio = answer.audioContent;
      if (this.failure !== undefined || !(audio instanceof Uint8Array) || audio.length === 0) return;
      this.receivedBytes += audio.length;
      if (this.receivedBytes > maxBytes) {
        this.fail(new ProviderError(`${provider}: more than ${MAX_SENTENCE_AUDIO_MS / 1000} s of audio for one sentence`, provider, 'bad-response', false));
        call.cancel();
        return;
      }
      this.pieces.push(audio);
      this.poke();
    });
    call.on('end', () => {
      this.isEnded = true;
      this.poke();
    });
    call.on('error', (error: unknown) => this.fail(error));
  }

  /** The next piece; undefined once the call ended; throws its failure, or `signal`'s reason as soon as it aborts. */
  async next(signal: AbortSignal): Promise<Uint8Array | undefined> {
    for (;;) {
      if (signal.aborted) throw signal.reason;
      const piece = this.pieces.shift();
      if (piece !== undefined) return piece;
      if (this.failure !== undefined) throw this.failure;
      if (this.isEnded) return undefined;
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve();
        signal.addEventListener('abort', onAbort, { once: true });
        this.wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
      });
    }
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    this.poke();
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}
