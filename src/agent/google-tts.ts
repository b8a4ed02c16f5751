// Google Cloud Text-to-Speech through `@google-cloud/text-to-speech`, the default synthesizer (Hebrew first: voice
// he-IL-*). Audio is LINEAR16 at 24 kHz (the DSP pool resamples it to 8 kHz mu-law) or MULAW at 8 kHz (played as it
// is); Google puts a WAV header in front of both, which is stripped here.
// A sentence is synthesized whole over the SDK's REST fallback (synthesizeSpeech). There, neither the `timeout`
// option nor an AbortSignal ends a request: only `cancel()` on the call from client.innerApiCalls does, so a barge-in
// or a timeout cancels that. How the clients are made (endpoint URL, credentials) and started (a start-up that fails
// or hangs is not kept) is google-client.ts.
// Streamed (synthesizeStream, present only when `streaming` is on: GOOGLE_TTS_STREAMING=auto with a voice that
// streams, see config.ts isGoogleStreamingVoice): the sentence goes over gRPC's bidirectional StreamingSynthesize
// instead (google-tts-stream.ts; the REST client refuses it), its audio handed on piece by piece as it arrives.
import { TextToSpeechClient } from '@google-cloud/text-to-speech';
import { clientCredentialOptions, GoogleClientSlot, parseGoogleEndpoint, type ServiceAccountCredentials } from './google-client.js';
import { GoogleSpeechStream } from './google-tts-stream.js';
import { abortable, startDeadline, toProviderError } from './provider-call.js';
import { pcm16FromBytes, stripWavHeader } from './wav-header.js';
import { ProviderError, type SampleRateHz, type SynthesisChunk, type SynthesisResult, type Synthesizer } from './types.js';

export { loadGoogleCredentials, parseGoogleEndpoint, type GoogleEndpoint, type ServiceAccountCredentials } from './google-client.js';

export type GoogleEncoding = 'LINEAR16' | 'MULAW';

export interface GoogleSynthesizerOptions {
  credentials: ServiceAccountCredentials;
  /** GOOGLE_TTS_API_ENDPOINT; default Google's global endpoint. */
  endpointUrl?: string | undefined;
  /** e.g. he-IL */
  languageCode: string;
  /** e.g. he-IL-Wavenet-A; Google picks one for the language when absent. */
  voiceName?: string | undefined;
  encoding: GoogleEncoding;
  timeoutMs: number;
  /** Sentences streamed over gRPC (synthesizeStream); only for a voice that streams (config.ts). Default off. */
  streaming?: boolean | undefined;
  /** GOOGLE_TTS_GRPC_ENDPOINT, where the streamed synthesis goes; default endpointUrl's host and port. */
  grpcEndpointUrl?: string | undefined;
  /** For tests: the first client to use. */
  client?: TextToSpeechClient;
  /** For tests: how a fresh client is made when a start-up failed or hung (default: from the options above). */
  newClient?: () => TextToSpeechClient;
}

interface CancellableCall<T> extends Promise<T> {
  cancel(): void;
}

type SynthesizeRequest = {
  input: { text: string };
  voice: { languageCode: string; name?: string };
  audioConfig: { audioEncoding: GoogleEncoding; sampleRateHertz: number };
};

export class GoogleSynthesizer implements Synthesizer {
  readonly name = 'google-tts';
  /** Present only when sentences are streamed (see the top of this file): the pipeline then plays them as they come. */
  readonly synthesizeStream?: (text: string, signal: AbortSignal) => AsyncIterable<SynthesisChunk>;
  private readonly options: GoogleSynthesizerOptions;
  private readonly clients: GoogleClientSlot<TextToSpeechClient>;
  private readonly speechStream: GoogleSpeechStream | undefined;

  constructor(options: GoogleSynthesizerOptions) {
    this.options = options;
    const endpoint = options.endpointUrl !== undefined ? parseGoogleEndpoint(options.endpointUrl) : undefined;
    const newClient = options.newClient ?? (() => new TextToSpeechClient({
      fallback: true,
      ...clientCredentialOptions(options.credentials),
      ...(endpoint ?? {}),
    }));
    this.clients = new GoogleClientSlot(newClient, options.client);
    if (options.streaming === true) {
      const stream = new GoogleSpeechStream({
        provider: this.name,
        credentials: options.credentials,
        endpointUrl: options.grpcEndpointUrl ?? options.endpointUrl,
        languageCode: options.languageCode,
        voiceName: options.voiceName,
        encoding: options.encoding,
        timeoutMs: options.timeoutMs,
      });
      this.speechStream = stream;
      this.synthesizeStream = (text, signal) => stream.synthesize(text, signal);
    }
  }

  /** The REST client requests go to now (a new one after a failed or hung start-up). */
  get client(): TextToSpeechClient {
    return this.clients.client;
  }

  /** Fresh REST clients made after a failed or hung start-up (tests, logs). */
  get clientRestarts(): number {
    return this.clients.restarts;
  }

  get sampleRateHz(): SampleRateHz {
    return this.options.encoding === 'MULAW' ? 8000 : 24_000;
  }

  async synthesize(text: string, signal: AbortSignal): Promise<SynthesisResult> {
    const { languageCode, voiceName, encoding, timeoutMs } = this.options;
    const deadline = startDeadline(signal, timeoutMs);
    let call: CancellableCall<unknown[]> | undefined;
    const cancel = (): void => call?.cancel();
    deadline.signal.addEventListener('abort', cancel, { once: true });
    try {
      if (deadline.signal.aborted) throw deadline.signal.reason;
      const client = await this.clients.ready(deadline.signal);
      const request: SynthesizeRequest = {
        input: { text },
        voice: { languageCode, ...(voiceName !== undefined ? { name: voiceName } : {}) },
        audioConfig: { audioEncoding: encoding, sampleRateHertz: this.sampleRateHz },
      };
      const synthesizeSpeech = client.innerApiCalls['synthesizeSpeech'] as (req: SynthesizeRequest, opts: object) => CancellableCall<unknown[]>;
      call = synthesizeSpeech(request, {});
      if (deadline.signal.aborted) call.cancel(); // aborted while the call was being made: its listener found no call
      const [response] = await abortable(call, deadline.signal);
      const content = (response as { audioContent?: unknown } | undefined)?.audioContent;
      const bytes = typeof content === 'string' ? new Uint8Array(Buffer.from(content, 'base64'))
        : content instanceof Uint8Array ? content : undefined;
      if (bytes === undefined || bytes.length === 0) {
        throw new ProviderError(`${this.name}: no audioContent in the answer`, this.name, 'bad-response', true);
      }
      const wav = stripWavHeader(bytes);
      if (encoding === 'MULAW') {
        return { audio: new Uint8Array(wav.data), encoding: 'mulaw', sampleRateHz: 8000 };
      }
      const rate = wav.sampleRateHz === 8000 || wav.sampleRateHz === 16_000 || wav.sampleRateHz === 24_000 || wav.sampleRateHz === 48_000
        ? wav.sampleRateHz : this.sampleRateHz;
      return { audio: pcm16FromBytes(wav.data), encoding: 'pcm16', sampleRateHz: rate };
    } catch (error) {
      throw toProviderError(this.name, error, deadline);
    } finally {
      deadline.signal.removeEventListener('abort', cancel);
      deadline.dispose();
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.clients.close(), this.speechStream?.close()]);
  }
}
