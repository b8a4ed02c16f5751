// How our code makes and starts `@google-cloud/text-to-speech` clients, for both transports (REST: google-tts.ts;
// gRPC, streamed synthesis: google-tts-stream.ts). Three things about this SDK that matter (see the provider notes):
// the endpoint must be given as host + port + protocol, so GOOGLE_TTS_API_ENDPOINT (a URL) is parsed here;
// credentials come from the whole service-account JSON (GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON) or a file
// (GOOGLE_APPLICATION_CREDENTIALS), with a project_id so that nothing probes the metadata server; and a client's
// start-up (initialize()) is cached by the SDK even when it failed or never finishes.
// So a start-up is awaited within the request's deadline, and one that fails or does not finish in time is not
// kept (GoogleClientSlot): the next request starts over with a fresh client rather than waiting on the SDK's
// rejected or never-settling promise forever.
import { readFileSync } from 'node:fs';
import { abortable, isDeadlineAbort } from './provider-call.js';

/** Endpoint parts the client needs (it cannot take a URL). */
export interface GoogleEndpoint {
  apiEndpoint: string;
  port: number;
  protocol: 'http' | 'https';
}

/** `http://127.0.0.1:8085` -> { apiEndpoint: '127.0.0.1', port: 8085, protocol: 'http' }; https defaults to 443. */
export function parseGoogleEndpoint(url: string, setting = 'GOOGLE_TTS_API_ENDPOINT'): GoogleEndpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TypeError(`${setting} must be an http(s) URL (got ${JSON.stringify(url)})`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TypeError(`${setting} must be an http(s) URL (got ${JSON.stringify(url)})`);
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

/** The client options both transports share: the key itself (the client signs its own JWTs) and the project. */
export function clientCredentialOptions(credentials: ServiceAccountCredentials): { credentials: { client_email: string; private_key: string }; projectId?: string } {
  return {
    credentials: { client_email: credentials.client_email, private_key: credentials.private_key },
    ...(credentials.project_id !== undefined ? { projectId: credentials.project_id } : {}),
  };
}

/** What GoogleClientSlot needs of a client (TextToSpeechClient has both). */
export interface StartableClient {
  initialize(): Promise<unknown>;
  close(): Promise<void>;
}

/** One client at a time, replaced by a fresh one when its start-up failed or hung (see the top of this file). */
export class GoogleClientSlot<C extends StartableClient> {
  private current: C;
  /** The current client's start-up while it is in progress or done; undefined: not started yet. */
  private starting: Promise<unknown> | undefined;
  /** Fresh clients made after a failed or hung start-up (tests, logs). */
  restarts = 0;

  constructor(private readonly make: () => C, first?: C) {
    this.current = first ?? make();
  }

  /** The client requests go to now (a new one after a failed or hung start-up). */
  get client(): C {
    return this.current;
  }

  /** The current client once its start-up is done, awaited within `signal` (the request's deadline). */
  async ready(signal: AbortSignal): Promise<C> {
    const client = this.current;
    const starting = (this.starting ??= client.initialize());
    try {
      await abortable(starting, signal);
      return client;
    } catch (error) {
      // failed, or not done within the deadline: drop this client (a barge-in alone leaves the start-up running)
      const hasFailed = !signal.aborted || isDeadlineAbort(signal);
      if (hasFailed && this.current === client) {
        this.current = this.make();
        this.starting = undefined;
        this.restarts++;
        client.close().catch(() => undefined);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.current.close();
  }
}
