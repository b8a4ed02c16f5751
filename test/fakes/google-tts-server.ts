// A local server on 127.0.0.1 that speaks Google Cloud Text-to-Speech's REST wire format, for the real
// `@google-cloud/text-to-speech` client in fallback (REST) mode: POST /v1/text:synthesize?$alt=json%3Benum-encoding=int
// with a JSON body whose audioConfig.audioEncoding is a number (LINEAR16 = 1, MULAW = 5), answered with base64
// audioContent that starts with a WAV header, as Google's does. The bearer token is the client's self-signed RS256
// JWT, verified here with the fake service account's public key. Also a fake service account (a fresh RSA key).
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { mulawEncode, pcmBytes, tonePcm, wavFile } from './audio.js';
import { HttpFake, sleep, type RecordedRequest } from './http-fake.js';

export const ROUTE_SYNTHESIZE = 'POST /v1/text:synthesize';
export const GOOGLE_LINEAR16 = 1;
export const GOOGLE_MULAW = 5;

export interface FakeServiceAccount {
  /** The JSON as GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON holds it. */
  json: string;
  clientEmail: string;
  publicKeyPem: string;
}

/** A service account with a fresh 2048-bit RSA key and a project_id (so nothing asks the metadata server). */
export function fakeServiceAccount(): FakeServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const clientEmail = 'tts-test@ai-crmd-test.iam.gserviceaccount.com';
  const json = JSON.stringify({
    type: 'service_account',
    project_id: 'ai-crmd-test',
    private_key_id: 'fake-key-1',
    private_key: privateKey,
    client_email: clientEmail,
    client_id: '1234567890',
    // never used by the client (it signs its own JWT); loopback anyway, so a mistake cannot leave the machine
    token_uri: 'http://127.0.0.1:9/token',
  });
  return { json, clientEmail, publicKeyPem: publicKey };
}

export interface SynthesizeBody {
  input: { text?: string };
  voice: { languageCode?: string; name?: string };
  audioConfig: { audioEncoding?: number; sampleRateHertz?: number };
}

export interface FakeGoogleOptions {
  account: FakeServiceAccount;
  /** Audio length per character (default 40 ms), between 200 ms and 6 s. */
  msPerChar?: number;
  /** How long a synthesis takes to answer (default 0): a provider's latency, for benches. */
  answerDelayMs?: number;
}

export class FakeGoogleTts extends HttpFake {
  readonly account: FakeServiceAccount;
  /** Audio length per character of text (ms); tests may change it between calls. */
  msPerChar: number;
  /** How long a synthesis takes to answer (ms). */
  answerDelayMs: number;
  /** Requests whose bearer JWT did not verify. */
  badTokens = 0;

  constructor(options: FakeGoogleOptions) {
    super();
    this.account = options.account;
    this.msPerChar = options.msPerChar ?? 40;
    this.answerDelayMs = options.answerDelayMs ?? 0;
    this.route(ROUTE_SYNTHESIZE, async (req, res, record) => {
      if (this.answerDelayMs > 0) await sleep(this.answerDelayMs);
      if (!res.destroyed) this.synthesize(req.headers.authorization, res, record);
    });
  }

  /** GOOGLE_TTS_API_ENDPOINT for this server. */
  get endpointUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  bodies(): SynthesizeBody[] {
    return this.of(ROUTE_SYNTHESIZE).map((r) => r.parsed as SynthesizeBody).filter((b) => b !== undefined);
  }

  texts(): string[] {
    return this.bodies().map((b) => b.input.text ?? '');
  }

  /** Whether `authorization` is "Bearer <RS256 JWT signed by the service account's key, iss = its email>". */
  isValidBearer(authorization: string | undefined): boolean {
    const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
    const [head, payload, signature] = token?.split('.') ?? [];
    if (head === undefined || payload === undefined || signature === undefined) return false;
    const header = JSON.parse(Buffer.from(head, 'base64url').toString('utf8')) as { alg?: string };
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { iss?: string; exp?: number };
    if (header.alg !== 'RS256' || claims.iss !== this.account.clientEmail) return false;
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) return false;
    return verify('RSA-SHA256', Buffer.from(`${head}.${payload}`), createPublicKey(this.account.publicKeyPem), Buffer.from(signature, 'base64url'));
  }

  private synthesize(authorization: string | undefined, res: ServerResponse, record: RecordedRequest): void {
    if (!this.isValidBearer(authorization)) {
      this.badTokens++;
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 401, message: 'bad token', status: 'UNAUTHENTICATED' } }));
      return;
    }
    const body = JSON.parse(record.body.toString('utf8')) as SynthesizeBody;
    record.parsed = body;
    const text = body.input.text ?? '';
    const ms = Math.min(6000, Math.max(200, Array.from(text).length * this.msPerChar));
    const encoding = body.audioConfig.audioEncoding;
    let wav: Buffer;
    if (encoding === GOOGLE_MULAW) {
      wav = wavFile(7, 8000, mulawEncode(tonePcm(8000, ms, 300, 2000)));
    } else if (encoding === GOOGLE_LINEAR16) {
      const rate = body.audioConfig.sampleRateHertz ?? 24_000;
      wav = wavFile(1, rate, pcmBytes(tonePcm(rate, ms, 300, 2000)));
    } else {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 400, message: `encoding ${encoding}`, status: 'INVALID_ARGUMENT' } }));
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ audioContent: wav.toString('base64') }));
  }
}

export async function startFakeGoogleTts(options: FakeGoogleOptions): Promise<FakeGoogleTts> {
  return new FakeGoogleTts(options).listen();
}
