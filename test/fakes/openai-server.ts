// A local server on 127.0.0.1 that speaks OpenAI's wire format for the three calls the agent makes, so that the real
// `openai` SDK can be pointed at it (baseURL http://127.0.0.1:PORT/v1):
//   POST /v1/audio/transcriptions  multipart (file, model, language, ...) -> {"text": ...}; the upload is parsed as a
//                                  WAV and kept for the test to check
//   POST /v1/chat/completions      stream: true -> server-sent chat.completion.chunk events, then [DONE]; a scripted
//                                  reply may call tools: as the real API does, each call's first chunk carries its
//                                  index, id and name, and its arguments' JSON follows split across later chunks,
//                                  then finish_reason "tool_calls"
//   POST /v1/audio/speech          response_format pcm -> raw 24 kHz s16le (a tone, its length from the text); all at
//                                  once, or streamed in pieces (speechChunkBytes) with settable pauses, held after
//                                  the first piece until the test lets it go (speechHold), or cut off mid-body
//   GET  /v1/realtime?intent=transcription  a realtime transcription session over WebSocket (openai-realtime-server.ts)
// Each route can answer, fail with 500 or hang (HttpFake), and every request is recorded, including whether the
// client closed its socket early.
import type { ServerResponse } from 'node:http';
import { parseWav, pcmBytes, tonePcm, type ParsedWav } from './audio.js';
import { HttpFake, parseMultipart, sleep, type RecordedRequest } from './http-fake.js';
import { FakeRealtime, type FakeRealtimeOptions } from './openai-realtime-server.js';

export const ROUTE_ASR = 'POST /v1/audio/transcriptions';
export const ROUTE_CHAT = 'POST /v1/chat/completions';
export const ROUTE_SPEECH = 'POST /v1/audio/speech';

export interface TranscriptionUpload {
  fields: Record<string, string>;
  filename: string | undefined;
  fileContentType: string | undefined;
  wav: ParsedWav | undefined;
  wavError: string | undefined;
}

export interface ChatRequestBody {
  model: string;
  stream?: boolean;
  messages: Array<{
    role: string; content: string | null; tool_call_id?: string;
    tool_calls?: Array<{ id: string; type: string; function: { name: string; arguments: string } }>;
  }>;
  tools?: Array<{ type: string; function: { name: string; description?: string; parameters?: Record<string, unknown> } }>;
}

/** One scripted reply: text, tool calls, or both (the text streams first, as the API sends it). */
export interface ScriptedReply {
  text?: string;
  toolCalls?: Array<{ id?: string; name: string; arguments: string }>;
}

export interface FakeOpenAIOptions {
  /** The n-th transcription's text (0-based); default "hello". */
  transcript?: (index: number, upload: TranscriptionUpload) => string;
  /** The n-th chat reply (its text, or a scripted reply with tool calls); default "Sure. I can help with that." */
  reply?: (index: number, body: ChatRequestBody) => string | ScriptedReply;
  /** Characters of a tool call's arguments per chunk (default 5: arguments always arrive split). */
  argumentChunkChars?: number;
  /** Characters per SSE chunk (default 6) and the pause between chunks (default 5 ms; or per reply index). */
  chunkChars?: number;
  chunkDelayMs?: number | ((index: number) => number);
  /** Speech audio length per character of input (default 40 ms), between 200 ms and 6 s. */
  speechMsPerChar?: number;
  /** How long a transcription takes to answer (default 0): a provider's latency, for benches. */
  transcriptionDelayMs?: number;
  /** How long a chat stream waits before its first chunk, headers included (default 0): time to first token. */
  firstChunkDelayMs?: number;
  /** How long speech takes to answer (default 0). */
  speechDelayMs?: number;
  /** The audio's length for an input, in ms, instead of speechMsPerChar (not bounded: a provider gone wrong). */
  speechAudioMs?: (input: string) => number | undefined;
  /** Streamed speech: the body in pieces of this many bytes (odd sizes cut samples in two); default all at once. */
  speechChunkBytes?: number;
  /** After the headers, before the first piece (time to first audio); default 0. */
  speechFirstChunkDelayMs?: number;
  /** Between two pieces; default 0. */
  speechChunkDelayMs?: number;
  /** Awaited after the first piece of the n-th speech answer (0-based; its input text): the rest waits for the test. */
  speechHold?: (index: number, input: string) => Promise<void> | undefined;
  /** The n-th speech answer's socket is destroyed after this many pieces (a stream that breaks mid-sentence). */
  speechCutAfterPieces?: (index: number, input: string) => number | undefined;
  /** The realtime transcription session's transcripts and latency. */
  realtime?: FakeRealtimeOptions;
}

/** What the speech route answered (record.parsed). */
export interface SpeechAnswer {
  input: string;
  response_format?: string;
  model: string;
  voice: string;
  /** Every PCM byte of the answer, including those never sent (cut off). */
  pcm: Buffer;
  /** Pieces written so far. */
  piecesSent: number;
}

export class FakeOpenAI extends HttpFake {
  readonly options: FakeOpenAIOptions;
  /** The realtime transcription sessions (WebSocket upgrades of /v1/realtime). */
  readonly realtime: FakeRealtime;

  constructor(options: FakeOpenAIOptions = {}) {
    super();
    this.options = options;
    this.realtime = new FakeRealtime(options.realtime);
    this.onUpgrade((req, socket, head) => this.realtime.handleUpgrade(req, socket, head));
    this.route(ROUTE_ASR, async (req, res, record) => {
      const delayMs = this.options.transcriptionDelayMs ?? 0;
      if (delayMs > 0) await sleep(delayMs);
      if (!res.destroyed) this.transcribe(req.headers['content-type'], res, record);
    });
    this.route(ROUTE_CHAT, (_req, res, record) => this.chat(res, record));
    this.route(ROUTE_SPEECH, async (_req, res, record) => {
      const delayMs = this.options.speechDelayMs ?? 0;
      if (delayMs > 0) await sleep(delayMs);
      if (!res.destroyed) await this.speech(res, record);
    });
  }

  override async close(): Promise<void> {
    this.realtime.close();
    await super.close();
  }

  /** http://127.0.0.1:PORT/v1 */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}/v1`;
  }

  uploads(): TranscriptionUpload[] {
    return this.of(ROUTE_ASR).map((r) => r.parsed as TranscriptionUpload);
  }

  chatBodies(): ChatRequestBody[] {
    return this.of(ROUTE_CHAT).map((r) => r.parsed as ChatRequestBody).filter((b) => b !== undefined);
  }

  private transcribe(contentType: string | undefined, res: ServerResponse, record: RecordedRequest): void {
    const parts = parseMultipart(record.body, contentType);
    const fields: Record<string, string> = {};
    for (const [name, part] of parts) if (part.filename === undefined) fields[name] = part.data.toString('utf8');
    const file = parts.get('file');
    let wav: ParsedWav | undefined;
    let wavError: string | undefined;
    try {
      if (file === undefined) throw new Error('no file part');
      wav = parseWav(Buffer.from(file.data));
    } catch (error) {
      wavError = (error as Error).message;
    }
    const upload: TranscriptionUpload = { fields, filename: file?.filename, fileContentType: file?.contentType, wav, wavError };
    record.parsed = upload;
    const index = this.of(ROUTE_ASR).indexOf(record);
    const text = this.options.transcript?.(index, upload) ?? 'hello';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text }));
  }

  private async chat(res: ServerResponse, record: RecordedRequest): Promise<void> {
    const body = JSON.parse(record.body.toString('utf8')) as ChatRequestBody;
    record.parsed = body;
    const index = this.of(ROUTE_CHAT).indexOf(record);
    const answer = this.options.reply?.(index, body) ?? 'Sure. I can help with that.';
    const scripted: ScriptedReply = typeof answer === 'string' ? { text: answer } : answer;
    const text = scripted.text ?? '';
    const id = `chatcmpl-fake-${index}`;
    const created = Math.floor(Date.now() / 1000);
    const firstChunkDelayMs = this.options.firstChunkDelayMs ?? 0;
    if (firstChunkDelayMs > 0) {
      await sleep(firstChunkDelayMs);
      if (res.destroyed) return;
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
      `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(chunk({ role: 'assistant', content: '' }, null));
    const size = this.options.chunkChars ?? 6;
    const delay = this.options.chunkDelayMs;
    const delayMs = typeof delay === 'function' ? delay(index) : delay ?? 5;
    const pieces = Array.from(text); // whole code points (Hebrew is safe either way)
    for (let i = 0; i < pieces.length; i += size) {
      if (res.destroyed) return;
      await sleep(delayMs);
      if (res.destroyed) return;
      res.write(chunk({ content: pieces.slice(i, i + size).join('') }, null));
    }
    const calls = scripted.toolCalls ?? [];
    const argSize = this.options.argumentChunkChars ?? 5;
    for (const [callIndex, call] of calls.entries()) {
      if (res.destroyed) return;
      const callId = call.id ?? `call_fake_${index}_${callIndex}`;
      res.write(chunk({ tool_calls: [{ index: callIndex, id: callId, type: 'function', function: { name: call.name, arguments: '' } }] }, null));
      for (let i = 0; i < call.arguments.length; i += argSize) {
        await sleep(delayMs);
        if (res.destroyed) return;
        res.write(chunk({ tool_calls: [{ index: callIndex, function: { arguments: call.arguments.slice(i, i + argSize) } }] }, null));
      }
    }
    res.write(chunk({}, calls.length > 0 ? 'tool_calls' : 'stop'));
    res.end('data: [DONE]\n\n');
  }

  speechAnswers(): SpeechAnswer[] {
    return this.of(ROUTE_SPEECH).map((r) => r.parsed as SpeechAnswer).filter((b) => b !== undefined);
  }

  private async speech(res: ServerResponse, record: RecordedRequest): Promise<void> {
    const body = JSON.parse(record.body.toString('utf8')) as Omit<SpeechAnswer, 'pcm' | 'piecesSent'>;
    if (body.response_format !== 'pcm') {
      record.parsed = { ...body, pcm: Buffer.alloc(0), piecesSent: 0 };
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'this fake only speaks pcm' } }));
      return;
    }
    const ms = this.options.speechAudioMs?.(body.input) ?? Math.min(6000, Math.max(200, Array.from(body.input).length * (this.options.speechMsPerChar ?? 40)));
    const pcm = pcmBytes(tonePcm(24_000, ms, 300, 2000));
    const answer: SpeechAnswer = { ...body, pcm, piecesSent: 0 };
    record.parsed = answer;
    const chunkBytes = this.options.speechChunkBytes;
    if (chunkBytes === undefined) {
      res.writeHead(200, { 'content-type': 'audio/pcm' }).end(pcm);
      return;
    }
    const index = this.of(ROUTE_SPEECH).indexOf(record);
    const cutAfter = this.options.speechCutAfterPieces?.(index, body.input);
    res.writeHead(200, { 'content-type': 'audio/pcm' });
    res.flushHeaders();
    const firstDelayMs = this.options.speechFirstChunkDelayMs ?? 0;
    if (firstDelayMs > 0) await sleep(firstDelayMs);
    for (let at = 0; at < pcm.length; at += chunkBytes) {
      if (res.destroyed) return;
      if (at > 0) {
        if (answer.piecesSent === 1) await this.options.speechHold?.(index, body.input);
        const pauseMs = this.options.speechChunkDelayMs ?? 0;
        if (pauseMs > 0) await sleep(pauseMs);
        if (res.destroyed) return;
      }
      if (cutAfter !== undefined && answer.piecesSent >= cutAfter) {
        res.destroy();
        return;
      }
      // wait for each piece to be handed to the socket, so that pieces do not merge in our own buffer
      await new Promise<void>((resolve) => res.write(pcm.subarray(at, at + chunkBytes), () => resolve()));
      answer.piecesSent++;
      this.notifyProgress();
    }
    res.end();
  }
}

export async function startFakeOpenAI(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  return new FakeOpenAI(options).listen();
}
