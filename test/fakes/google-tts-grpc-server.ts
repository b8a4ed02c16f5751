// A local gRPC server on 127.0.0.1 (plaintext) that speaks Google Cloud Text-to-Speech's bidirectional
// StreamingSynthesize with the real service definition (the protos that `@google-cloud/text-to-speech` ships, loaded
// with @grpc/proto-loader as grpc-js servers load them): it reads the first message's streaming_config, then the
// input messages' text, and once the client half-closes answers audio_content messages of headerless audio (PCM at
// the asked rate, or 8 kHz mu-law) in pieces of a set size (odd by default, so a piece ends mid-sample), then ends
// the call. As Google does, it refuses a voice that does not stream (anything but Chirp 3: HD) and the encodings the
// stream does not take (LINEAR16...) with INVALID_ARGUMENT. Per call it records the config, the texts, what it sent
// and whether the client cancelled (how a test sees that a barge-in or a deadline really ended the call). A test can
// set a delay before each piece, hold the pieces after the first few until it opens a gate, or make calls fail.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import grpc from '@grpc/grpc-js';
import protoLoader from '@grpc/proto-loader';
import { mulawEncode, pcmBytes, tonePcm } from './audio.js';
import { sleep } from './http-fake.js';

/**
 * How a call goes wrong: before any audio (UNAVAILABLE, or CANCELLED by the server), after the first piece
 * (INTERNAL), with no audio at all, or no answer at all.
 */
export type StreamFailure = 'none' | 'unavailable-before-audio' | 'cancelled-by-server' | 'internal-after-first-piece' | 'hang' | 'no-audio';

export interface StreamingConfigMessage {
  voice?: { languageCode?: string; name?: string };
  streamingAudioConfig?: { audioEncoding?: string; sampleRateHertz?: number };
}

export interface RecordedStreamingCall {
  config: StreamingConfigMessage | undefined;
  texts: string[];
  /** The request metadata (headers) as the server got it. */
  metadata: Record<string, unknown>;
  /** Pieces planned for the answer, and sent so far. */
  piecesPlanned: number;
  piecesSent: number;
  /** Every byte of audio sent, in order (headerless). */
  sent: Buffer[];
  /** The client cancelled the call before it ended. */
  wasCancelled: boolean;
  /** The client half-closed (all its input is in). */
  hasInputEnded: boolean;
  /** The call ended with OK after its last piece. */
  isComplete: boolean;
  /** The status code the server ended it with, when not OK. */
  errorCode: number | undefined;
}

export interface FakeGoogleTtsGrpcOptions {
  /** Audio length per character (default 40 ms), between 200 ms and 6 s. */
  msPerChar?: number;
  /** Bytes per audio_content message (default 4801: about 100 ms of 24 kHz PCM, ending mid-sample). */
  pieceBytes?: number;
  /** Wait before each piece (default 0). */
  pieceDelayMs?: number;
}

type StreamRequest = { streamingConfig?: StreamingConfigMessage; input?: { text?: string }; streamingRequest?: string };
type Call = grpc.ServerDuplexStream<StreamRequest, { audioContent: Buffer }>;

/** A message field that was sent (proto-loader gives an unset one as undefined or null). */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

const STREAMING_ENCODINGS = new Set(['PCM', 'MULAW', 'ALAW', 'OGG_OPUS']);

/** The TextToSpeech service definition from the SDK's own protos (protos.json: the compiled .proto files). */
function textToSpeechService(): grpc.ServiceDefinition {
  const path = createRequire(import.meta.url).resolve('@google-cloud/text-to-speech/build/protos/protos.json');
  const definition = protoLoader.fromJSON(JSON.parse(readFileSync(path, 'utf8')) as object, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    google: { cloud: { texttospeech: { v1: { TextToSpeech: grpc.ServiceClientConstructor } } } };
  };
  return loaded.google.cloud.texttospeech.v1.TextToSpeech.service;
}

export class FakeGoogleTtsGrpc {
  readonly calls: RecordedStreamingCall[] = [];
  msPerChar: number;
  pieceBytes: number;
  pieceDelayMs: number;
  /** How the next calls go wrong ('none': they do not). */
  failure: StreamFailure = 'none';
  /** Audio length for a text, instead of msPerChar (e.g. far longer than any sentence). */
  audioMsFor: ((text: string) => number) | undefined;
  /** When set: after this many pieces of a call, the rest waits until `until` resolves. */
  hold: { afterPieces: number; until: Promise<void> } | undefined;
  port = 0;
  private readonly server = new grpc.Server();
  private readonly waiters: Array<{ predicate: () => boolean; resolve: () => void }> = [];

  constructor(options: FakeGoogleTtsGrpcOptions = {}) {
    this.msPerChar = options.msPerChar ?? 40;
    this.pieceBytes = options.pieceBytes ?? 4801;
    this.pieceDelayMs = options.pieceDelayMs ?? 0;
    this.server.addService(textToSpeechService(), {
      streamingSynthesize: (call: Call) => this.streamingSynthesize(call),
    });
  }

  /** GOOGLE_TTS_GRPC_ENDPOINT for this server. */
  get endpointUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async listen(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, port) => (error !== null ? reject(error) : resolve(port)));
    });
    return this;
  }

  async close(): Promise<void> {
    this.server.forceShutdown();
  }

  /** Resolves once `predicate` holds (checked after every call event). */
  waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fake gRPC server: timed out waiting')), timeoutMs);
      this.waiters.push({ predicate, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  /** The audio this server answers `text` with, for a config (headerless PCM at its rate, or mu-law). */
  audioFor(text: string, config: StreamingConfigMessage | undefined): Buffer {
    const ms = this.audioMsFor?.(text) ?? Math.min(6000, Math.max(200, Array.from(text).length * this.msPerChar));
    const audio = config?.streamingAudioConfig;
    if (audio?.audioEncoding === 'MULAW') return mulawEncode(tonePcm(8000, ms, 300, 2000));
    const rate = audio?.sampleRateHertz !== undefined && audio.sampleRateHertz > 0 ? audio.sampleRateHertz : 24_000;
    return pcmBytes(tonePcm(rate, ms, 300, 2000));
  }

  private notify(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter !== undefined && waiter.predicate()) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private streamingSynthesize(call: Call): void {
    const record: RecordedStreamingCall = {
      config: undefined, texts: [], metadata: call.metadata.getMap(), piecesPlanned: 0, piecesSent: 0, sent: [],
      wasCancelled: false, hasInputEnded: false, isComplete: false, errorCode: undefined,
    };
    this.calls.push(record);
    const failure = this.failure;
    const fail = (code: grpc.status, details: string): void => {
      if (record.errorCode !== undefined || record.wasCancelled) return;
      record.errorCode = code;
      call.emit('error', { code, details });
      this.notify();
    };
    call.on('cancelled', () => {
      // grpc-js tells a handler 'cancelled' once the status is sent, too: only a call not yet ended was cancelled
      if (!record.isComplete && record.errorCode === undefined) record.wasCancelled = true;
      this.notify();
    });
    call.on('error', () => undefined); // a cancelled call's stream errors too; the record says what happened
    let isFirst = true;
    call.on('data', (request: StreamRequest) => {
      if (isFirst) {
        isFirst = false;
        if (!isSet(request.streamingConfig) || isSet(request.input)) {
          fail(grpc.status.INVALID_ARGUMENT, 'the first message must carry streaming_config and no input');
          return;
        }
        record.config = request.streamingConfig as StreamingConfigMessage;
        const encoding = record.config.streamingAudioConfig?.audioEncoding ?? 'AUDIO_ENCODING_UNSPECIFIED';
        if (!STREAMING_ENCODINGS.has(encoding)) fail(grpc.status.INVALID_ARGUMENT, `streaming does not support ${encoding}`);
        else if (!/-Chirp3-HD-/.test(record.config.voice?.name ?? '')) fail(grpc.status.INVALID_ARGUMENT, `voice ${String(record.config.voice?.name)} does not support streaming`);
      } else if (isSet(request.streamingConfig)) {
        fail(grpc.status.INVALID_ARGUMENT, 'streaming_config only in the first message');
      } else {
        record.texts.push(request.input?.text ?? '');
      }
      this.notify();
    });
    call.on('end', () => {
      record.hasInputEnded = true;
      this.notify();
      if (record.errorCode !== undefined || failure === 'hang') return;
      if (failure === 'unavailable-before-audio') {
        fail(grpc.status.UNAVAILABLE, 'fake: the service is unavailable');
        return;
      }
      if (failure === 'cancelled-by-server') {
        fail(grpc.status.CANCELLED, 'fake: the server dropped the call');
        return;
      }
      void this.answer(call, record, failure);
    });
  }

  private async answer(call: Call, record: RecordedStreamingCall, failure: StreamFailure): Promise<void> {
    const audio = failure === 'no-audio' ? Buffer.alloc(0) : this.audioFor(record.texts.join(''), record.config);
    const hold = this.hold;
    record.piecesPlanned = Math.ceil(audio.length / this.pieceBytes);
    for (let offset = 0; offset < audio.length; offset += this.pieceBytes) {
      if (hold !== undefined && record.piecesSent === hold.afterPieces) await hold.until;
      if (this.pieceDelayMs > 0) await sleep(this.pieceDelayMs);
      if (record.wasCancelled) return;
      if (failure === 'internal-after-first-piece' && record.piecesSent === 1) {
        call.emit('error', { code: grpc.status.INTERNAL, details: 'fake: synthesis failed' });
        record.errorCode = grpc.status.INTERNAL;
        this.notify();
        return;
      }
      const piece = audio.subarray(offset, offset + this.pieceBytes);
      record.sent.push(piece);
      record.piecesSent++;
      // wait for the transport to take it (flow control), as a server that streams as it synthesizes does
      await new Promise<void>((resolve) => {
        if (call.write({ audioContent: piece })) {
          resolve();
          return;
        }
        const done = (): void => {
          call.off('drain', done);
          call.off('cancelled', done);
          resolve();
        };
        call.once('drain', done);
        call.once('cancelled', done);
      });
      this.notify();
    }
    if (record.wasCancelled) return;
    record.isComplete = true;
    call.end();
    this.notify();
  }
}

export async function startFakeGoogleTtsGrpc(options: FakeGoogleTtsGrpcOptions = {}): Promise<FakeGoogleTtsGrpc> {
  return new FakeGoogleTtsGrpc(options).listen();
}
