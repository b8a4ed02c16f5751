// A Twilio-compatible caller: it opens the media WebSocket the way Twilio does (subprotocol audio.twilio.com, optional
// X-Twilio-Signature), sends connected, start and one 20 ms media frame per tick on an absolute schedule (frame n is
// due at t0 + n x 20 ms, so lateness never accumulates), then stop. Like Twilio it plays what the server sends on a
// playout timeline, returns each mark once the audio before it has played, and on clear drops what is still queued
// and returns every pending mark at once. It records what the caller heard and the pacing of the server's frames.
// With `listen`, it takes turns like a person: after each of its utterances (found in the audio, utterances.ts) it
// sends silence until the agent's reply has played, then goes on with the audio. Used by `npm run call` and the tests.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import {
  parseOutbound,
  serializeConnected,
  serializeDtmf,
  serializeInboundMark,
  serializeInboundMedia,
  serializeStart,
  serializeStop,
} from '../twilio/caller-messages.js';
import { FRAME_BYTES, FRAME_MS, MEDIA_SUBPROTOCOL, MULAW_MEDIA_FORMAT, MULAW_SILENCE_BYTE, SAMPLE_RATE_HZ } from '../twilio/media-format.js';
import type { StartInfo } from '../twilio/media-messages.js';
import { STREAM_TOKEN_PARAM, createStreamToken, deriveStreamTokenSecret } from '../twilio/signature.js';
import { MulawTimeline } from './mulaw-timeline.js';
import { pacingStats, type PacingStats } from './pacing-stats.js';
import { findUtterances, listenPauseFrames } from './utterances.js';

const SAMPLES_PER_MS = SAMPLE_RATE_HZ / 1000;
/** A listening caller goes on once its playout has been idle this long after the reply's audio (default). */
export const LISTEN_SETTLE_MS = 700;
/** A listening caller goes on when no reply has begun this long after it began to wait (default). */
export const LISTEN_TIMEOUT_MS = 10_000;
/** One frame of silence, sent while a listening caller waits. */
const SILENT_FRAME = new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE_BYTE);

export interface CallerOptions {
  /** ws:// or wss:// URL of the media endpoint (…/ws/twilio-media). */
  url: string;
  /** Subprotocol to offer (default audio.twilio.com); null or '' offers none. */
  protocol?: string | null;
  /** 8 kHz mu-law to stream; a last partial frame is padded with silence. Empty = no media, just start/stop. */
  audio: Uint8Array;
  /** X-Twilio-Signature to send as given. */
  signature?: string;
  /** Auth token: signs the URL (without query) like Twilio and, unless streamTokenSecret is given, makes the stream token. */
  authToken?: string;
  /** Secret for the StreamToken parameter (default: derived from authToken; none without either). */
  streamTokenSecret?: string;
  /** Extra start.customParameters (added after CallSid, From, To, StreamToken). */
  customParameters?: Record<string, string>;
  callSid?: string;
  streamSid?: string;
  accountSid?: string;
  from?: string;
  to?: string;
  /** Keep listening this long after the last frame before sending stop (default 0). */
  tailMs?: number;
  /** DTMF digits to send at times (ms from the first frame). */
  dtmf?: Array<{ atMs: number; digit: string }>;
  /** Send stop at the end (default true); false just closes the socket (an abrupt hang-up). */
  sendStop?: boolean;
  connectTimeoutMs?: number;
  headers?: Record<string, string>;
  /** Called for each event as it happens (the CLI prints them). */
  onEvent?: (event: CallerEvent) => void;
  /**
   * Called as each media frame is written (its index on the caller's timeline, from 0; ms since the socket opened,
   * unrounded): for latencies. Without `listen` the index is the frame's index in `audio`.
   */
  onMediaSent?: (frameIndex: number, sentAtMs: number) => void;
  /**
   * Take turns: after each utterance of `audio` (found from its frame levels, see utterances.ts), send silence from
   * the middle of the pause that follows until the agent's reply has played, then go on with `audio`. Default false:
   * the audio is sent straight through, and an utterance may talk over the reply to the one before (barge-in).
   */
  listen?: boolean;
  /** With `listen`: the reply has played once nothing is queued, every mark is returned, and this long has passed (default 700). */
  listenSettleMs?: number;
  /** With `listen`: go on anyway when no reply has begun this long after the wait began (default 10000). */
  listenTimeoutMs?: number;
}

export type CallerEventType =
  | 'open'
  | 'start-sent'
  | 'first-media-in'
  | 'playback-start'
  | 'mark-in'
  | 'mark-echoed'
  | 'clear-in'
  | 'dtmf-sent'
  | 'listen-start'
  | 'listen-end'
  | 'audio-done'
  | 'stop-sent'
  | 'invalid-in'
  | 'close'
  | 'error';

export interface CallerEvent {
  /** ms since the socket opened */
  tMs: number;
  type: CallerEventType;
  detail?: string;
}

export interface CallerResult {
  callSid: string;
  streamSid: string;
  accountSid: string;
  /** Subprotocol the server answered ('' for none). */
  protocol: string;
  framesSent: number;
  framesReceived: number;
  /** Every outbound media payload in arrival order. */
  receivedMulaw: Uint8Array;
  /** What the caller heard: payloads placed on the playout timeline from the first frame sent, silence elsewhere, cut by clear. */
  heardMulaw: Uint8Array;
  marksReceived: string[];
  marksEchoed: string[];
  clears: number;
  /** Messages that were not valid outbound media/mark/clear. */
  invalidMessages: number;
  /** Outbound messages whose streamSid was not ours. */
  wrongStreamSid: number;
  /** Media payloads that were not 160 bytes. */
  badFrameSize: number;
  /** Arrival times (ms since open) of every media frame, grouped per playback (a mark or clear ends a playback). */
  playbacks: number[][];
  pacing: PacingStats;
  /** How late our own sends ran behind their schedule (a loaded generator shows here). */
  maxSendLateMs: number;
  closeCode: number;
  closeReason: string;
  durationMs: number;
  events: CallerEvent[];
}

/** A fresh Twilio-looking SID: two letters + 32 hex digits. */
export function newSid(prefix: 'CA' | 'MZ' | 'AC'): string {
  return prefix + randomBytes(16).toString('hex');
}

/** The URL Twilio signs for a stream: the URL as written, without query string or fragment. */
export function signatureForStreamUrl(authToken: string, url: string): string {
  return getExpectedTwilioSignature(authToken, url.replace(/[?#].*$/s, ''), {});
}

export class Caller {
  readonly callSid: string;
  readonly streamSid: string;
  readonly accountSid: string;
  private readonly options: CallerOptions;
  private readonly frames: number;
  private ws: WebSocket | undefined;
  private t0 = 0; // performance.now() when the socket opened
  private mediaT0 = 0; // when the first frame was due (playout timeline origin)
  private seq = 0;
  private nextFrame = 0; // the next frame of options.audio
  private sentFrames = 0; // frames sent so far: the timeline, where frame n is due at mediaT0 + n x 20 ms
  // listening (options.listen): the audio frames to stop before, the frames that end utterances, the wait under way
  private readonly pauseFrames: number[];
  private readonly utteranceEndFrames: number[];
  private wait: { sinceMs: number } | undefined;
  private reply: { hasMedia: boolean; lastActivityMs: number } | undefined; // since the last utterance ended
  private timer: NodeJS.Timeout | undefined;
  private endAtMs = Infinity; // relative to t0
  private isDone = false;
  private isStopSent = false;
  private readonly dtmfQueue: Array<{ atMs: number; digit: string }>;
  // what came back
  private readonly received: Uint8Array[] = [];
  private receivedBytes = 0;
  private readonly heard = new MulawTimeline();
  private playCursorMs = 0; // relative to mediaT0: where Twilio's playout queue ends
  private readonly pendingMarks: Array<{ name: string; dueMs: number }> = [];
  private readonly playbacks: number[][] = [];
  private currentPlayback: number[] | undefined;
  private readonly result: Omit<CallerResult, 'receivedMulaw' | 'heardMulaw' | 'pacing' | 'playbacks' | 'durationMs'>;
  private finish: ((r: CallerResult) => void) | undefined;
  private fail: ((e: Error) => void) | undefined;

  constructor(options: CallerOptions) {
    this.options = options;
    this.callSid = options.callSid ?? newSid('CA');
    this.streamSid = options.streamSid ?? newSid('MZ');
    this.accountSid = options.accountSid ?? newSid('AC');
    this.frames = Math.ceil(options.audio.length / FRAME_BYTES);
    const utterances = options.listen ? findUtterances(options.audio) : [];
    this.utteranceEndFrames = utterances.map((u) => u.endFrame);
    this.pauseFrames = listenPauseFrames(utterances, this.frames);
    this.dtmfQueue = [...(options.dtmf ?? [])].sort((a, b) => a.atMs - b.atMs);
    this.result = {
      callSid: this.callSid,
      streamSid: this.streamSid,
      accountSid: this.accountSid,
      protocol: '',
      framesSent: 0,
      framesReceived: 0,
      marksReceived: [],
      marksEchoed: [],
      clears: 0,
      invalidMessages: 0,
      wrongStreamSid: 0,
      badFrameSize: 0,
      maxSendLateMs: 0,
      closeCode: 0,
      closeReason: '',
      events: [],
    };
  }

  /** The start message's customParameters: CallSid, From, To, the stream token when a secret is known, then extras. */
  customParameters(nowMs = Date.now()): Record<string, string> {
    const o = this.options;
    const params: Record<string, string> = { CallSid: this.callSid, From: o.from ?? '+15005550006', To: o.to ?? '+15005550001' };
    const secret = o.streamTokenSecret ?? (o.authToken ? deriveStreamTokenSecret(o.authToken) : undefined);
    if (secret) params[STREAM_TOKEN_PARAM] = createStreamToken(secret, this.callSid, nowMs, 60_000);
    return { ...params, ...(o.customParameters ?? {}) };
  }

  /** Runs the call to its end (or the server's close). Rejects only when the connection cannot be made. */
  run(): Promise<CallerResult> {
    return new Promise<CallerResult>((resolve, reject) => {
      this.finish = resolve;
      this.fail = reject;
      this.connect();
    });
  }

  /** Hangs up now (no stop message), as an abrupt disconnect would. */
  hangUp(): void {
    this.ws?.terminate();
  }

  private nowMs(): number {
    return performance.now() - this.t0;
  }

  private event(type: CallerEventType, detail?: string): void {
    const e: CallerEvent = detail === undefined ? { tMs: Math.round(this.nowMs()), type } : { tMs: Math.round(this.nowMs()), type, detail };
    this.result.events.push(e);
    this.options.onEvent?.(e);
  }

  private connect(): void {
    const o = this.options;
    const protocol = o.protocol === undefined ? MEDIA_SUBPROTOCOL : o.protocol;
    const headers: Record<string, string> = { ...(o.headers ?? {}) };
    const signature = o.signature ?? (o.authToken ? signatureForStreamUrl(o.authToken, o.url) : undefined);
    if (signature) headers['X-Twilio-Signature'] = signature;
    this.t0 = performance.now();
    const ws = new WebSocket(o.url, protocol ? [protocol] : [], {
      headers,
      perMessageDeflate: false,
      handshakeTimeout: o.connectTimeoutMs ?? 10_000,
    });
    this.ws = ws;
    let isOpen = false;
    ws.on('unexpected-response', (_req, res) => {
      const err = new Error(`handshake refused: HTTP ${res.statusCode} ${res.statusMessage ?? ''}`.trim());
      res.resume();
      ws.terminate();
      this.fail?.(err);
    });
    ws.on('error', (err) => {
      if (!isOpen) this.fail?.(err);
      else this.event('error', err.message);
    });
    ws.on('open', () => {
      isOpen = true;
      this.t0 = performance.now();
      this.result.protocol = ws.protocol;
      this.event('open', ws.protocol ? `subprotocol ${ws.protocol}` : 'no subprotocol');
      this.begin();
    });
    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => {
      if (!isOpen) return;
      this.result.closeCode = code;
      this.result.closeReason = reason.toString();
      this.event('close', `${code}${reason.length ? ' ' + reason.toString() : ''}`);
      this.end();
    });
  }

  private send(text: string): void {
    const ws = this.ws;
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(text);
  }

  private begin(): void {
    this.send(serializeConnected());
    const start: StartInfo = {
      streamSid: this.streamSid,
      accountSid: this.accountSid,
      callSid: this.callSid,
      tracks: ['inbound'],
      mediaFormat: { ...MULAW_MEDIA_FORMAT },
      customParameters: this.customParameters(),
    };
    this.send(serializeStart(++this.seq, start));
    this.event('start-sent', `callSid ${this.callSid} streamSid ${this.streamSid}`);
    this.mediaT0 = this.nowMs();
    if (this.frames === 0) this.endAtMs = this.mediaT0 + (this.options.tailMs ?? 0);
    this.tick();
  }

  /** The send loop: every frame that is due goes out now (a late wake-up catches up), then sleep to the next deadline. */
  private tick(): void {
    this.timer = undefined;
    if (this.isDone) return;
    const now = this.nowMs();
    const audio = this.options.audio;
    for (;;) {
      const dueMs = this.mediaT0 + this.sentFrames * FRAME_MS;
      if (dueMs > now) break;
      if (this.wait === undefined && this.pauseFrames[0] === this.nextFrame) this.startWaiting(now);
      if (this.wait !== undefined && this.isReplyPlayed(now)) this.stopWaiting(now);
      if (this.wait === undefined && this.nextFrame >= this.frames) break;
      this.result.maxSendLateMs = Math.max(this.result.maxSendLateMs, now - dueMs);
      let frame: Uint8Array = SILENT_FRAME;
      if (this.wait === undefined) {
        const from = this.nextFrame * FRAME_BYTES;
        frame = audio.subarray(from, from + FRAME_BYTES);
        if (frame.length < FRAME_BYTES) {
          const padded = new Uint8Array(FRAME_BYTES).fill(MULAW_SILENCE_BYTE);
          padded.set(frame);
          frame = padded;
        }
        this.nextFrame++;
      }
      this.send(serializeInboundMedia(++this.seq, this.streamSid, this.sentFrames + 1, this.sentFrames * FRAME_MS, frame));
      this.options.onMediaSent?.(this.sentFrames, now);
      this.sentFrames++;
      this.result.framesSent++;
      if (this.wait === undefined && this.utteranceEndFrames[0] === this.nextFrame) {
        this.utteranceEndFrames.shift();
        this.reply = { hasMedia: false, lastActivityMs: now };
      }
      this.endAudioWhenDone();
    }
    while (this.dtmfQueue.length > 0 && this.mediaT0 + (this.dtmfQueue[0] as { atMs: number }).atMs <= now) {
      const { digit } = this.dtmfQueue.shift() as { digit: string };
      this.send(serializeDtmf(++this.seq, this.streamSid, digit));
      this.event('dtmf-sent', digit);
    }
    this.echoDueMarks(now);
    if (now >= this.endAtMs) {
      this.hangUpAtEnd();
      return;
    }
    let nextMs = this.endAtMs;
    if (this.nextFrame < this.frames || this.wait !== undefined || this.pauseFrames.length > 0) {
      nextMs = Math.min(nextMs, this.mediaT0 + this.sentFrames * FRAME_MS);
    }
    if (this.pendingMarks.length > 0) nextMs = Math.min(nextMs, this.mediaT0 + (this.pendingMarks[0] as { dueMs: number }).dueMs);
    if (this.dtmfQueue.length > 0) nextMs = Math.min(nextMs, this.mediaT0 + (this.dtmfQueue[0] as { atMs: number }).atMs);
    this.timer = setTimeout(() => this.tick(), Math.max(0, nextMs - this.nowMs()));
  }

  /** After the last audio frame (and any wait it is followed by): the call ends tailMs after the timeline's end. */
  private endAudioWhenDone(): void {
    if (this.nextFrame < this.frames || this.wait !== undefined || this.pauseFrames.length > 0 || this.endAtMs !== Infinity) return;
    this.event('audio-done', `${this.frames} frames`);
    this.endAtMs = this.mediaT0 + this.sentFrames * FRAME_MS + (this.options.tailMs ?? 0);
  }

  private startWaiting(now: number): void {
    this.pauseFrames.shift();
    this.wait = { sinceMs: now };
    this.event('listen-start', `at audio ${this.nextFrame * FRAME_MS} ms`);
  }

  private stopWaiting(now: number): void {
    const waitedMs = Math.round(now - (this.wait as { sinceMs: number }).sinceMs);
    this.event('listen-end', this.reply?.hasMedia ? `reply played, waited ${waitedMs} ms` : `no reply in ${waitedMs} ms`);
    this.wait = undefined;
    this.reply = undefined;
    this.endAudioWhenDone();
  }

  /**
   * Whether a waiting caller may go on: the reply to its last utterance began and has played (nothing queued, every
   * mark returned, listenSettleMs of quiet since), or none began within listenTimeoutMs.
   */
  private isReplyPlayed(now: number): boolean {
    const reply = this.reply;
    if (!reply?.hasMedia) return now - (this.wait as { sinceMs: number }).sinceMs >= (this.options.listenTimeoutMs ?? LISTEN_TIMEOUT_MS);
    if (this.pendingMarks.length > 0) return false;
    const playedAtMs = Math.max(reply.lastActivityMs, this.mediaT0 + this.playCursorMs);
    return now - playedAtMs >= (this.options.listenSettleMs ?? LISTEN_SETTLE_MS);
  }

  private reschedule(): void {
    if (this.isDone) return;
    if (this.timer) clearTimeout(this.timer);
    this.tick();
  }

  private hangUpAtEnd(): void {
    if (this.isStopSent) return;
    this.isStopSent = true;
    const ws = this.ws;
    if (this.options.sendStop === false) {
      ws?.terminate();
      return;
    }
    this.send(serializeStop(++this.seq, this.streamSid, this.accountSid, this.callSid));
    this.event('stop-sent');
    // Twilio closes the socket after stop
    ws?.close(1000, 'stop');
    setTimeout(() => ws?.terminate(), 2000).unref();
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    const now = this.nowMs();
    if (isBinary) {
      this.result.invalidMessages++;
      this.event('invalid-in', 'binary frame (Twilio refuses these: 31950)');
      return;
    }
    const text = data.toString();
    const msg = parseOutbound(text);
    if (msg === null) {
      this.result.invalidMessages++;
      this.event('invalid-in', text.slice(0, 120));
      return;
    }
    if (msg.streamSid !== this.streamSid) this.result.wrongStreamSid++;
    const rel = now - this.mediaT0; // playout timeline
    switch (msg.event) {
      case 'media': {
        if (this.result.framesReceived === 0) this.event('first-media-in');
        this.result.framesReceived++;
        if (msg.payload.length !== FRAME_BYTES) this.result.badFrameSize++;
        this.received.push(msg.payload);
        if (this.reply) {
          this.reply.hasMedia = true;
          this.reply.lastActivityMs = now;
        }
        this.receivedBytes += msg.payload.length;
        if (!this.currentPlayback) {
          this.currentPlayback = [];
          this.playbacks.push(this.currentPlayback);
          this.event('playback-start');
        }
        this.currentPlayback.push(Math.round(now * 1000) / 1000);
        const startMs = Math.max(rel, this.playCursorMs);
        this.heard.write(Math.round(startMs * SAMPLES_PER_MS), msg.payload);
        this.playCursorMs = startMs + (msg.payload.length / SAMPLES_PER_MS);
        break;
      }
      case 'mark': {
        this.result.marksReceived.push(msg.name);
        this.event('mark-in', msg.name);
        this.currentPlayback = undefined;
        this.pendingMarks.push({ name: msg.name, dueMs: Math.max(rel, this.playCursorMs) });
        this.reschedule();
        break;
      }
      case 'clear': {
        this.result.clears++;
        if (this.reply) this.reply.lastActivityMs = now;
        this.event('clear-in', `${this.pendingMarks.length} pending marks returned`);
        this.currentPlayback = undefined;
        if (this.playCursorMs > rel) {
          this.heard.erase(Math.round(Math.max(0, rel) * SAMPLES_PER_MS), Math.round(this.playCursorMs * SAMPLES_PER_MS));
          this.playCursorMs = Math.max(0, rel);
        }
        // Twilio returns every pending mark at once after a clear
        for (const mark of this.pendingMarks.splice(0)) this.echoMark(mark.name);
        break;
      }
    }
  }

  private echoDueMarks(now: number): void {
    const rel = now - this.mediaT0;
    while (this.pendingMarks.length > 0 && (this.pendingMarks[0] as { dueMs: number }).dueMs <= rel) {
      this.echoMark((this.pendingMarks.shift() as { name: string }).name);
    }
  }

  private echoMark(name: string): void {
    if (this.isStopSent) return;
    this.send(serializeInboundMark(++this.seq, this.streamSid, name));
    this.result.marksEchoed.push(name);
    this.event('mark-echoed', name);
  }

  private end(): void {
    if (this.isDone) return;
    this.isDone = true;
    if (this.timer) clearTimeout(this.timer);
    const receivedMulaw = new Uint8Array(this.receivedBytes);
    let at = 0;
    for (const chunk of this.received) {
      receivedMulaw.set(chunk, at);
      at += chunk.length;
    }
    this.finish?.({
      ...this.result,
      receivedMulaw,
      heardMulaw: this.heard.toBytes(),
      playbacks: this.playbacks,
      pacing: pacingStats(this.playbacks),
      durationMs: Math.round(this.nowMs()),
    });
  }
}
