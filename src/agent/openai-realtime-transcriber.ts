// Streaming speech recognition: one OpenAI realtime transcription session per call, over a WebSocket kept open for
// the call (wss://api.openai.com/v1/realtime?intent=transcription). This file alone knows that wire format:
//   us -> session.update {type: 'transcription', audio.input: {format: audio/pcm 24 kHz, transcription: {model,
//         language, prompt}, turn_detection: null}}  (our VAD decides turns, so the server's turn detection is off)
//         input_audio_buffer.clear at a turn's onset, .append (base64 PCM16 LE) while it is spoken, .commit at its end
//   them -> input_audio_buffer.committed {item_id} (in commit order), then
//         conversation.item.input_audio_transcription.delta / .completed {item_id, transcript} / .failed, and `error`
//         (its error.event_id names the client event it is about: our commit's event_id maps it to the turn)
// The SDK's realtime client (openai/realtime/ws) is not used: its URL always carries `model=` or `call_id=` (a
// transcription session is `intent=transcription`) and always has the scheme wss:, so it can reach neither a
// transcription session as documented nor a plain-HTTP server on 127.0.0.1; this speaks the same protocol with `ws`,
// typed with the SDK's event types, with the SDK's URL scheme (the base URL's /realtime; ws: for an http: base).
// Failure: a connection that does not open in time, closes, or whose session is refused rejects every commit in flight
// (their turns fall back to the batch upload) and is tried again with a backoff (doubling up to a maximum, reset once
// a session is configured). The send buffer is bounded: a turn whose audio the socket cannot take in time is dropped
// to the batch route rather than queued without end. A commit left unanswered for stallTimeoutMs recycles the socket.
import WebSocket from 'ws';
import type {
  ConversationItemInputAudioTranscriptionCompletedEvent, ConversationItemInputAudioTranscriptionDeltaEvent,
  ConversationItemInputAudioTranscriptionFailedEvent, InputAudioBufferCommittedEvent, RealtimeErrorEvent, SessionUpdateEvent,
} from 'openai/resources/realtime/realtime';
import type { Logger } from 'pino';
import { ErrorKind, LogEvent, logError } from '../observability/log.js';
import { ProviderError } from './types.js';

/** The realtime API's one input rate. */
export const REALTIME_SAMPLE_RATE_HZ = 24_000;

export interface RealtimeTranscriberOptions {
  /** The OpenAI base URL (https://api.openai.com/v1 or a local fake's http://127.0.0.1:PORT/v1). */
  baseUrl: string;
  apiKey: string;
  /** gpt-4o-transcribe or gpt-4o-mini-transcribe. */
  model: string;
  /** ISO-639-1, as the batch transcriber's (he). */
  language: string;
  /** Vocabulary / style hint for the model (the batch transcriber's prompt); none when undefined or empty. */
  prompt?: string | undefined;
  log?: Logger | undefined;
  /** The WebSocket must be open within this (default 3000 ms). */
  connectTimeoutMs?: number;
  /** Bytes the socket may hold unsent before a turn is dropped to the batch route (default 256 KiB, ~4 s of audio). */
  maxBufferedBytes?: number;
  /** Reconnect backoff: first delay and cap (default 250 ms, 10 s). */
  minReconnectDelayMs?: number;
  maxReconnectDelayMs?: number;
  /** A commit with no transcript after this long recycles the socket (default 5000 ms). */
  stallTimeoutMs?: number;
  /** Told of each failure of the socket or of a commit (metrics). */
  onError?: (kind: 'connect' | 'closed' | 'session' | 'commit' | 'stall' | 'overflow') => void;
}

/** Characters of one commit's transcript kept (deltas and the completed text alike). */
const MAX_TRANSCRIPT_CHARS = 10_000;

/** A commit's transcript on its way; `cancel` stops waiting for it (the answer, when it comes, is ignored). */
export interface PendingTranscript {
  readonly promise: Promise<string>;
  cancel(): void;
}

interface Waiter {
  eventId: string;
  resolve(text: string): void;
  reject(error: ProviderError): void;
  isSettled: boolean;
  timer: NodeJS.Timeout | undefined;
  /** The deltas so far (gpt-4o-transcribe streams them before completed). */
  text: string;
}

const enum SocketState {
  Idle,
  Connecting,
  Open,
  Closed,
}

/** One per call: open() at call start, close() at its end. */
export class OpenAIRealtimeTranscriber {
  readonly name = 'openai-realtime-asr';
  private readonly options: Required<Omit<RealtimeTranscriberOptions, 'log' | 'prompt' | 'onError'>> & Pick<RealtimeTranscriberOptions, 'prompt' | 'onError'> & { log?: Logger | undefined };
  private readonly url: string;
  private socket: WebSocket | null = null;
  private state = SocketState.Idle;
  private isShutDown = false;
  private connectTimer: NodeJS.Timeout | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelayMs: number;
  /** Commits sent and not yet acknowledged (input_audio_buffer.committed comes back in commit order). */
  private readonly awaitingCommitted: Waiter[] = [];
  /** Acknowledged commits by item id, until their transcript (or failure) arrives. */
  private readonly byItem = new Map<string, Waiter>();
  private commits = 0;
  /** Connections opened (tests, logs). */
  connections = 0;

  constructor(options: RealtimeTranscriberOptions) {
    this.options = {
      connectTimeoutMs: 3000, maxBufferedBytes: 256 * 1024, minReconnectDelayMs: 250, maxReconnectDelayMs: 10_000, stallTimeoutMs: 5000,
      ...options,
    };
    this.url = realtimeTranscriptionUrl(options.baseUrl);
    this.reconnectDelayMs = this.options.minReconnectDelayMs;
  }

  /** Whether audio can be sent now (the socket is open and its session configured, as far as we have asked). */
  get isReady(): boolean {
    return this.state === SocketState.Open && this.socket !== null && this.socket.readyState === WebSocket.OPEN;
  }

  /** Connects unless connected, connecting or waiting for a reconnect; `log` (the call's) from then on. */
  open(log?: Logger): void {
    if (log !== undefined) this.options.log = log;
    if (this.isShutDown || this.state === SocketState.Connecting || this.state === SocketState.Open || this.reconnectTimer !== undefined) return;
    this.connect();
  }

  /** A turn's onset: the server's input buffer is emptied (what an abandoned turn left there goes). */
  beginTurn(): boolean {
    return this.sendText('{"type":"input_audio_buffer.clear"}');
  }

  /**
   * Per batch (~100 ms): `pcm24k[from .. to)` as one append. False when the socket is not ready or cannot take more
   * (its unsent bytes would pass maxBufferedBytes): the caller then gives up streaming this turn.
   */
  append(pcm24k: Int16Array, from: number, to: number): boolean {
    if (!this.isReady) return false;
    const socket = this.socket!;
    // PCM16 little-endian, as the typed array holds it on every platform Node runs on here
    const audio = Buffer.from(pcm24k.buffer, pcm24k.byteOffset + from * 2, (to - from) * 2).toString('base64');
    if (socket.bufferedAmount + audio.length > this.options.maxBufferedBytes) {
      this.options.onError?.('overflow');
      return false;
    }
    return this.sendText(`{"type":"input_audio_buffer.append","audio":"${audio}"}`);
  }

  /** Drops what the server holds of a turn that will not be committed (skipped, or given up on). */
  clear(): void {
    this.sendText('{"type":"input_audio_buffer.clear"}');
  }

  /** The end of a turn: its audio is committed and its transcript awaited. Rejects with a ProviderError. */
  commit(): PendingTranscript {
    const eventId = `commit_${++this.commits}`;
    let waiter!: Waiter;
    const promise = new Promise<string>((resolve, reject) => {
      waiter = { eventId, resolve, reject, isSettled: false, timer: undefined, text: '' };
    });
    promise.catch(() => undefined); // a cancelled waiter's rejection is nobody's business
    if (!this.sendText(`{"type":"input_audio_buffer.commit","event_id":"${eventId}"}`)) {
      this.settle(waiter, new ProviderError(`${this.name}: the socket is not open`, this.name, 'network', true));
      return { promise, cancel: () => {} };
    }
    waiter.timer = setTimeout(() => this.onStall(waiter), this.options.stallTimeoutMs);
    waiter.timer.unref?.();
    this.awaitingCommitted.push(waiter);
    return { promise, cancel: () => this.cancel(waiter) };
  }

  /** The call is over: the socket closes and nothing reconnects. */
  close(): void {
    this.isShutDown = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropSocket(new ProviderError(`${this.name}: the call ended`, this.name, 'aborted', false), 1000, 'call ended');
  }

  // ---- the connection ----

  private connect(): void {
    this.state = SocketState.Connecting;
    this.connections++;
    const socket = new WebSocket(this.url, {
      headers: { Authorization: `Bearer ${this.options.apiKey}` },
      handshakeTimeout: this.options.connectTimeoutMs,
      maxPayload: 1024 * 1024, // a server event is a few hundred bytes; a huge one is not ours to buffer
    });
    this.socket = socket;
    this.connectTimer = setTimeout(() => this.fail(socket, 'connect', 'did not open in time'), this.options.connectTimeoutMs);
    this.connectTimer.unref?.();
    socket.on('open', () => {
      if (this.socket !== socket) return;
      clearTimeout(this.connectTimer);
      this.connectTimer = undefined;
      this.state = SocketState.Open;
      this.sendSessionUpdate();
    });
    socket.on('message', (data, isBinary) => {
      if (this.socket !== socket || isBinary) return;
      this.onServerEvent(data.toString());
    });
    socket.on('unexpected-response', (_req, res) => {
      this.fail(socket, 'connect', `the upgrade was answered with HTTP ${res.statusCode ?? '?'}`);
    });
    socket.on('error', (error) => this.fail(socket, this.state === SocketState.Connecting ? 'connect' : 'closed', error.message));
    socket.on('close', (code) => this.fail(socket, 'closed', `closed (${code})`));
  }

  private sendSessionUpdate(): void {
    const { model, language, prompt } = this.options;
    const update: SessionUpdateEvent = {
      type: 'session.update',
      event_id: 'session_update',
      session: {
        type: 'transcription',
        audio: {
          input: {
            format: { type: 'audio/pcm', rate: REALTIME_SAMPLE_RATE_HZ },
            transcription: { model, language, ...(prompt !== undefined && prompt.length > 0 ? { prompt } : {}) },
            turn_detection: null,
          },
        },
      },
    };
    this.sendText(JSON.stringify(update));
  }

  /** The socket failed (or closed under us): its commits are rejected, and a reconnect is planned. */
  private fail(socket: WebSocket, kind: 'connect' | 'closed' | 'session' | 'stall', why: string): void {
    if (this.socket !== socket) return;
    const error = new ProviderError(`${this.name}: ${why}`, this.name, kind === 'connect' || kind === 'closed' ? 'network' : 'bad-response', true);
    if (this.options.log !== undefined) {
      logError(this.options.log, LogEvent.ASR_STREAM, kind === 'stall' ? ErrorKind.TIMEOUT : ErrorKind.PROVIDER_NETWORK, error,
        { provider: this.name, reconnectInMs: this.isShutDown ? undefined : this.reconnectDelayMs }, 'warn');
    }
    this.options.onError?.(kind);
    this.dropSocket(error, 1011, kind);
    if (this.isShutDown) return;
    const delayMs = this.reconnectDelayMs;
    this.reconnectDelayMs = Math.min(this.options.maxReconnectDelayMs, delayMs * 2);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.isShutDown) this.connect();
    }, delayMs);
    this.reconnectTimer.unref?.();
  }

  private dropSocket(error: ProviderError, code: number, reason: string): void {
    const socket = this.socket;
    this.socket = null;
    this.state = SocketState.Closed;
    if (this.connectTimer !== undefined) clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
    for (const waiter of this.awaitingCommitted) this.settle(waiter, error);
    this.awaitingCommitted.length = 0;
    for (const waiter of this.byItem.values()) this.settle(waiter, error);
    this.byItem.clear();
    if (socket === null) return;
    socket.removeAllListeners();
    socket.on('error', () => undefined); // a late error of a socket we let go must not be unhandled
    try {
      if (socket.readyState === WebSocket.OPEN) socket.close(code, reason);
      else socket.terminate();
    } catch {
      // already gone
    }
  }

  private sendText(text: string): boolean {
    const socket = this.socket;
    if (socket === null || this.state !== SocketState.Open || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(text);
    return true;
  }

  // ---- server events ----

  private onServerEvent(text: string): void {
    let event: { type?: unknown };
    try {
      event = JSON.parse(text) as { type?: unknown };
    } catch {
      return; // not ours to understand; the commits it might have answered time out
    }
    switch (event.type) {
      case 'session.updated':
        this.reconnectDelayMs = this.options.minReconnectDelayMs; // a working session: the next failure starts over
        return;
      case 'input_audio_buffer.committed': {
        const waiter = this.awaitingCommitted.shift();
        const itemId = (event as InputAudioBufferCommittedEvent).item_id;
        if (waiter !== undefined && typeof itemId === 'string') this.byItem.set(itemId, waiter);
        return;
      }
      case 'conversation.item.input_audio_transcription.delta': {
        const delta = event as ConversationItemInputAudioTranscriptionDeltaEvent;
        const waiter = this.byItem.get(delta.item_id);
        if (waiter !== undefined && typeof delta.delta === 'string' && waiter.text.length < MAX_TRANSCRIPT_CHARS) waiter.text += delta.delta;
        return;
      }
      case 'conversation.item.input_audio_transcription.completed': {
        const completed = event as ConversationItemInputAudioTranscriptionCompletedEvent;
        const waiter = this.byItem.get(completed.item_id);
        if (waiter === undefined) return;
        this.byItem.delete(completed.item_id);
        // a caller's turn is a few hundred characters: a provider's longer text is cut, as the deltas are
        this.settle(waiter, (typeof completed.transcript === 'string' ? completed.transcript : waiter.text).slice(0, MAX_TRANSCRIPT_CHARS).trim());
        return;
      }
      case 'conversation.item.input_audio_transcription.failed': {
        const failed = event as ConversationItemInputAudioTranscriptionFailedEvent;
        const waiter = this.byItem.get(failed.item_id);
        if (waiter === undefined) return;
        this.byItem.delete(failed.item_id);
        this.options.onError?.('commit');
        this.settle(waiter, new ProviderError(`${this.name}: transcription failed: ${failed.error?.message ?? 'no reason given'}`, this.name, 'bad-response', true));
        return;
      }
      case 'error':
        this.onErrorEvent(event as RealtimeErrorEvent);
        return;
      default:
        return; // session.created, speech events, ...: nothing to do
    }
  }

  private onErrorEvent(event: RealtimeErrorEvent): void {
    const about = event.error?.event_id ?? undefined;
    const message = `${this.name}: ${event.error?.message ?? 'error'}${event.error?.code ? ` (${event.error.code})` : ''}`;
    const index = about === undefined ? -1 : this.awaitingCommitted.findIndex((w) => w.eventId === about);
    if (index >= 0) {
      // e.g. a buffer too short to commit: that turn goes to the batch route, the socket is fine
      const [waiter] = this.awaitingCommitted.splice(index, 1);
      this.options.onError?.('commit');
      this.settle(waiter!, new ProviderError(message, this.name, 'bad-response', true));
      return;
    }
    const socket = this.socket;
    if (about === 'session_update' && socket !== null) {
      // the session was refused (model, language, format): nothing sent on it can be transcribed
      this.fail(socket, 'session', message);
      return;
    }
    if (this.options.log !== undefined) logError(this.options.log, LogEvent.ASR_STREAM, ErrorKind.PROVIDER_HTTP, new Error(message), { provider: this.name, about }, 'warn');
  }

  private onStall(waiter: Waiter): void {
    waiter.timer = undefined;
    const socket = this.socket;
    if (socket !== null) this.fail(socket, 'stall', `no transcript ${this.options.stallTimeoutMs} ms after a commit`);
    else this.settle(waiter, new ProviderError(`${this.name}: no transcript`, this.name, 'timeout', true));
  }

  private cancel(waiter: Waiter): void {
    // stays in the queues (the server's answers are matched in order) and its stall timer runs on: a server that
    // never answers is recycled even when nobody waits any more
    waiter.isSettled = true;
  }

  private settle(waiter: Waiter, outcome: string | ProviderError): void {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.timer = undefined;
    if (waiter.isSettled) return;
    waiter.isSettled = true;
    if (typeof outcome === 'string') waiter.resolve(outcome);
    else waiter.reject(outcome);
  }
}

/** The realtime transcription URL for an OpenAI base URL: its /realtime, ws(s):, intent=transcription. */
export function realtimeTranscriptionUrl(baseUrl: string): string {
  const url = new URL(baseUrl.endsWith('/') ? `${baseUrl}realtime` : `${baseUrl}/realtime`);
  url.protocol = url.protocol === 'http:' ? 'ws:' : 'wss:';
  url.search = '';
  url.searchParams.set('intent', 'transcription');
  return url.toString();
}
