// Google Cloud Text-to-Speech through `@google-cloud/text-to-speech` over its REST fallback, the default synthesizer
// (Hebrew first: voice he-IL-*). Audio is LINEAR16 at 24 kHz (the DSP pool resamples it to 8 kHz mu-law) or MULAW at
// 8 kHz (played as it is); Google puts a WAV header in front of both, which is stripped here.
// Three things about this SDK that matter (see the provider notes): the endpoint must be given as host + port +
// protocol, so GOOGLE_TTS_API_ENDPOINT (a URL) is parsed here; credentials come from the whole service-account JSON
// (GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON) or a file (GOOGLE_APPLICATION_CREDENTIALS), with a project_id so that nothing
// probes the metadata server; and neither the `timeout` option nor an AbortSignal ends a REST request: only
// `cancel()` on the call from client.innerApiCalls does, so a barge-in or a timeout cancels that.
// The client's start-up (initialize()) is awaited within the request's deadline, and one that fails or does not
// finish in time is not kept: the SDK caches its own start-up promise, rejected or never settling, so the next
// request starts over with a fresh client rather than waiting on that promise forever.
import { readFileSync } from 'node:fs';
import { TextToSpeechClient } from '@google-cloud/text-to-speech';
import { abortable, isDeadlineAbort, startDeadline, toProviderError } from './provider-call.js';
import { pcm16FromBytes, stripWavHeader } from './wav-header.js';
import { ProviderError, type SampleRateHz, type SynthesisResult, type Synthesizer } from './types.js';

export type GoogleEncoding = 'LINEAR16' | 'MULAW';

/** REST endpoint parts the client needs (it cannot take a URL). */
export interface GoogleEndpoint {
  apiEndpoint: string;
  port: number;
  protocol: 'http' | 'https';
}

/** `http://127.0.0.1:8085` -> { apiEndpoint: '127.0.0.1', port: 8085, protocol: 'http' }; https defaults to 443. */
export function parseGoogleEndpoint(url: string): GoogleEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`GOOGLE_TTS_API_ENDPOINT must be an http(s) URL (got ${JSON.stringify(url)})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`GOOGLE_TTS_API_ENDPOINT must be an http(s) URL (got ${JSON.stringify(url)})`);
  }
  const protocol = parsed.protocol === 'http:' ? 'http' : 'https';
  const port = parsed.port !== '' ? Number(parsed.port) : protocol === 'http' ? 80 : 443;
  // IPv6 literals come bracketed from URL
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return { apiEndpoint: host, port, protocol };
}

export interface ServiceAccountCredentials {
  client_email: string;
  private_key: string;
  project_id?: string;
  [key: string]: unknown;
}

/** Credentials from the whole JSON (preferred: how Replit secrets hold it) or from a credentials file. */
export function loadGoogleCredentials(source: { credentialsJson?: string | undefined; applicationCredentials?: string | undefined }): ServiceAccountCredentials {
  const text = source.credentialsJson ?? (source.applicationCredentials !== undefined ? readFileSync(source.applicationCredentials, 'utf8') : undefined);
  if (text === undefined) {
    throw new TypeError('Google TTS needs GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON or GOOGLE_APPLICATION_CREDENTIALS');
  }
  const parsed = JSON.parse(text) as Partial<ServiceAccountCredentials>;
  if (typeof parsed.client_email !== 'string' || typeof parsed.private_key !== 'string') {
    throw new TypeError('Google credentials must be a service-account JSON with client_email and private_key');
  }
  return parsed as ServiceAccountCredentials;
}

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
  private readonly options: GoogleSynthesizerOptions;
  private readonly newClient: () => TextToSpeechClient;
  private current: TextToSpeechClient;
  /** The current client's start-up while it is in progress or done; undefined: not started yet. */
  private starting: Promise<unknown> | undefined;
  /** Fresh clients made after a failed or hung start-up (tests, logs). */
  clientRestarts = 0;

  constructor(options: GoogleSynthesizerOptions) {
    this.options = options;
    const endpoint = options.endpointUrl !== undefined ? parseGoogleEndpoint(options.endpointUrl) : undefined;
    this.newClient = options.newClient ?? (() => new TextToSpeechClient({
      fallback: true,
      credentials: { client_email: options.credentials.client_email, private_key: options.credentials.private_key },
      ...(options.credentials.project_id !== undefined ? { projectId: options.credentials.project_id } : {}),
      ...(endpoint ?? {}),
    }));
    this.current = options.client ?? this.newClient();
  }

  /** The client requests go to now (a new one after a failed or hung start-up). */
  get client(): TextToSpeechClient {
    return this.current;
  }

  /** The current client once its start-up is done, awaited within `signal` (the request's deadline). */
  private async readyClient(signal: AbortSignal): Promise<TextToSpeechClient> {
    const client = this.current;
    const starting = (this.starting ??= client.initialize());
    try {
      await abortable(starting, signal);
      return client;
    } catch (error) {
      // failed, or not done within the deadline: drop this client (a barge-in alone leaves the start-up running)
      const hasFailed = !signal.aborted || isDeadlineAbort(signal);
      if (hasFailed && this.current === client) {
        this.current = this.newClient();
        this.starting = undefined;
        this.clientRestarts++;
        client.close().catch(() => undefined);
      }
      throw error;
    }
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
      const client = await this.readyClient(deadline.signal);
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
    await this.current.close();
  }
}
