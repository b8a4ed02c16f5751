// One media WebSocket's life on an edge thread: parse every text frame, guard the stream's start (media before it is
// dropped with one warning; the stream token is checked when signatures are on, and consumed: one stream per token),
// forward messages to the call's session, and own the socket's `closed` flag. A socket is not a call until its
// `start` is accepted: until then it has no session (no clock subscription, no DSP slot), counts only in
// socketsAwaitingStart, and is closed by the thread's sweep if the start does not come within WS_START_TIMEOUT_S.
// Once live, media faster than real time (beyond a burst) is dropped, and a stream that keeps it up is closed. uWebSockets.js crashes on a send to a socket that has already closed
// (typically from a timer or a promise), so every outbound write goes through UwsCallTransport, which checks the flag
// and the backpressure first; a reader that stops draining loses frames and, after sustained overflow, is closed,
// without touching any other call. Nothing thrown by parsing or by the session escapes a uWS handler.
import { CloseCode, type CallSessionHandle, type CallTransport, type SessionFactory } from '../call/types.js';
import { ErrorKind, LogEvent, log } from '../observability/log.js';
import { InboundParser } from '../twilio/media-reader.js';
import type { InboundMessage, ParseFailure } from '../twilio/media-messages.js';
import { STREAM_TOKEN_PARAM, streamTokenExpiryMs, verifyStreamToken } from '../twilio/signature.js';
import { BURST_FRAMES, InboundRateLimit } from './inbound-rate.js';
import { streamTokenKey, type StreamTokenLedger } from './stream-token-ledger.js';
import type { UpgradeInfo } from './upgrade.js';
import type { WebSocket } from './uws.js';

/** How often WS_MEDIA / WS_TX summaries are logged while a call runs. */
export const LOG_SUMMARY_INTERVAL_MS = 5_000;
/** The clock is read for those summaries once per this many frames (about a second of one call), not per frame. */
const SUMMARY_CHECK_FRAMES = 64;
/**
 * Messages kept while a start waits for the token ledger (normally a frame or two; a burst right after the start may
 * be the rate limit's whole allowance, so that many, and a few marks; more are dropped). Bounded memory: about 40 KB
 * a socket, for at most WS_MAX_SOCKETS_AWAITING_START sockets.
 */
const MAX_MESSAGES_WHILE_STARTING = BURST_FRAMES + 16;

type DropReason = ParseFailure | 'binary-frame' | 'media-before-start' | 'rate';

/** Per-thread counters; plain numbers so that the main thread can sum them across threads. */
export interface EdgeThreadStats {
  activeCalls: number;            // media sockets whose start was accepted (live calls)
  callsTotal: number;             // media sockets whose start was accepted, since start
  socketsAwaitingStart: number;   // open media sockets without an accepted start yet
  startTimeouts: number;          // sockets closed for not sending a valid start within WS_START_TIMEOUT_S
  upgradesRefusedBusy: number;    // upgrades answered 503: too many sockets awaiting start on this thread
  framesDropped: number;          // outbound frames dropped because the socket was over its backpressure limit
  framesDroppedClosed: number;    // outbound writes after the socket had closed (a call ending; not a slow reader)
  slowClientsClosed: number;      // sockets closed by the slow-client policy
  parseFailures: number;          // inbound frames that failed to parse (all reasons)
  droppedMalformedJson: number;
  droppedUnknownEvent: number;
  droppedInvalidField: number;
  droppedBadPayload: number;
  droppedOversized: number;
  droppedBinaryFrame: number;
  droppedMediaBeforeStart: number;
  droppedRate: number;            // inbound media dropped: the stream sent faster than real time beyond its burst
  streamsClosedRate: number;      // streams closed for staying over the rate
  sequenceGaps: number;           // gaps in inbound sequence numbers (each gap once, however many it skipped)
  streamTokenFailures: number;
  streamTokenReplays: number;     // starts refused because their stream token had been used already
  sessionErrors: number;          // exceptions thrown by a session (caught here)
  upgradesRefusedDraining: number;
  upgradesRefusedSignature: number;
  webhookSignatureFailures: number;
  webhooksAnswered: number;
}

export function createEdgeThreadStats(): EdgeThreadStats {
  return {
    activeCalls: 0, callsTotal: 0, socketsAwaitingStart: 0, startTimeouts: 0, upgradesRefusedBusy: 0, framesDropped: 0, framesDroppedClosed: 0, slowClientsClosed: 0,
    parseFailures: 0, droppedMalformedJson: 0, droppedUnknownEvent: 0, droppedInvalidField: 0, droppedBadPayload: 0,
    droppedOversized: 0, droppedBinaryFrame: 0, droppedMediaBeforeStart: 0, droppedRate: 0, streamsClosedRate: 0,
    sequenceGaps: 0, streamTokenFailures: 0, streamTokenReplays: 0,
    sessionErrors: 0, upgradesRefusedDraining: 0, upgradesRefusedSignature: 0, webhookSignatureFailures: 0,
    webhooksAnswered: 0,
  };
}

const DROP_COUNTER: Record<DropReason, keyof EdgeThreadStats> = {
  'malformed-json': 'droppedMalformedJson',
  'unknown-event': 'droppedUnknownEvent',
  'invalid-field': 'droppedInvalidField',
  'bad-payload': 'droppedBadPayload',
  oversized: 'droppedOversized',
  'binary-frame': 'droppedBinaryFrame',
  'media-before-start': 'droppedMediaBeforeStart',
  rate: 'droppedRate',
};

export interface MediaSocketOptions {
  sessionFactory: SessionFactory;
  stats: EdgeThreadStats;
  isSignatureCheckOn: boolean;
  streamTokenSecret: string;
  /** Where used stream tokens are remembered (one stream per token). */
  streamTokenLedger: StreamTokenLedger;
  maxBackpressureBytes: number;
  slowClientOverflowMs: number;
  /** Every open socket of this thread (for drain and shutdown). */
  openSockets: Set<MediaSocket>;
  /** The sockets of this thread without an accepted start (the start-deadline sweep reads it). */
  socketsAwaitingStart: Set<MediaSocket>;
  /** The wall clock the inbound rate is measured on (ms); default Date.now (a benchmark drives it by hand). */
  wallClockMs?: () => number;
  /** Called when the number of active calls changes (the thread reports it to the supervisor). */
  onActiveCallsChanged?: () => void;
}

/** The user data object given to res.upgrade; uWS copies its properties, so it holds a reference to our object. */
export interface MediaSocketUserData {
  conn: MediaSocket;
}

let nextSocketId = 1;

/** The CallTransport the session writes through: text frames only, closed flag and backpressure checked first. */
export class UwsCallTransport implements CallTransport {
  private overflowSinceMs = 0;

  constructor(private readonly conn: MediaSocket) {}

  get isClosed(): boolean {
    return this.conn.isClosed;
  }

  /** Per-frame path: no allocation, no log, never throws. False when the frame was dropped. */
  sendText(text: string): boolean {
    return this.conn.send(text);
  }

  /** Per-frame path: as sendText, for a text frame's UTF-8 bytes (uWS copies them before it returns). */
  sendUtf8(utf8: Uint8Array): boolean {
    return this.conn.send(utf8);
  }

  cork(fn: () => void): void {
    this.conn.cork(fn);
  }

  close(code?: number, reason?: string): void {
    this.conn.close(code ?? CloseCode.NORMAL, reason ?? '');
  }

  /** Called on a dropped frame; returns true when the slow-client policy says to close. */
  noteOverflow(nowMs: number, limitMs: number): boolean {
    if (this.overflowSinceMs === 0) {
      this.overflowSinceMs = nowMs;
      return false;
    }
    return nowMs - this.overflowSinceMs >= limitMs;
  }

  clearOverflow(): void {
    this.overflowSinceMs = 0;
  }

  get isOverflowing(): boolean {
    return this.overflowSinceMs !== 0;
  }
}

/** awaiting-start -> (starting: the token ledger is asked) -> live (a session exists). */
type SocketPhase = 'awaiting-start' | 'starting' | 'live';

export class MediaSocket {
  readonly id = nextSocketId++;
  /** Set in the uWS close handler (or when we end the socket); no send happens after it. */
  isClosed = false;
  hasStarted = false;
  callSid = '';
  streamSid = '';
  /** When the socket opened (wall time, ms): the start deadline counts from here, whatever arrives before. */
  readonly openedAtMs = Date.now();

  private ws: WebSocket<MediaSocketUserData> | null = null;
  private readonly transport: UwsCallTransport;
  private session: CallSessionHandle | null = null;
  private phase: SocketPhase = 'awaiting-start';
  /** Messages that arrived while the start waited for the ledger (media payloads copied). */
  private messagesWhileStarting: InboundMessage[] = [];
  private rate: InboundRateLimit | null = null;
  /** Reads this socket's messages; a media message it returns is valid until the next one. */
  private readonly parser = new InboundParser();
  private lastSequence = -1;
  // Inbound / outbound counters of this socket, for the WS_MEDIA / WS_TX / WS_STOP lines.
  private framesIn = 0;
  private framesInAtLastSummary = 0;
  private nextMediaSummaryAtMs = 0;
  private framesOut = 0;
  private framesOutAtLastSummary = 0;
  private nextTxSummaryAtMs = 0;
  private framesDropped = 0;
  private framesDroppedRate = 0;
  private parseFailures = 0;
  private sequenceGaps = 0;
  private hasWarnedParseFailure = false;
  private hasWarnedMediaBeforeStart = false;
  private hasWarnedRate = false;
  private hasLoggedStop = false;
  private closeReason = '';

  constructor(
    readonly info: UpgradeInfo,
    private readonly options: MediaSocketOptions,
  ) {
    this.transport = new UwsCallTransport(this);
    this.nowMs = options.wallClockMs ?? Date.now;
  }

  private readonly nowMs: () => number;

  /** Is this socket a call yet (its start accepted)? */
  get isLive(): boolean {
    return this.phase === 'live';
  }

  // ---- uWS handlers (each wrapped so that nothing escapes) ----

  onOpen(ws: WebSocket<MediaSocketUserData>): void {
    this.ws = ws;
    this.options.stats.socketsAwaitingStart++;
    this.options.openSockets.add(this);
    this.options.socketsAwaitingStart.add(this);
  }

  /** Per-frame path (50 messages a second per call): parse, guard, forward. Never throws. */
  onMessage(message: ArrayBuffer, isBinary: boolean): void {
    if (this.isClosed) return;
    if (isBinary) {
      this.drop('binary-frame', 'binary frame (Twilio sends text frames)');
      return;
    }
    // The ArrayBuffer is uWS's own memory, valid only during this call: the parser reads it in place.
    const result = this.parser.parse(message);
    if (!result.ok) {
      this.drop(result.reason, result.detail);
      return;
    }
    const msg = result.message;
    if (this.phase !== 'live') {
      this.onMessageBeforeLive(msg);
      return;
    }
    this.onLiveMessage(msg);
  }

  onDrain(): void {
    const ws = this.ws;
    if (this.isClosed || ws === null) return;
    if (ws.getBufferedAmount() < this.options.maxBackpressureBytes / 2) this.transport.clearOverflow();
  }

  onClose(code: number, message: ArrayBuffer): void {
    if (this.closeReason.length === 0) {
      this.closeReason = `code ${code}${message.byteLength > 0 ? ` ${Buffer.from(message).toString('utf8')}` : ''}`;
    }
    this.isClosed = true;
    this.ws = null;
    const { stats } = this.options;
    const wasLive = this.phase === 'live';
    if (wasLive) {
      stats.activeCalls--;
    } else {
      stats.socketsAwaitingStart--;
      this.options.socketsAwaitingStart.delete(this);
      this.messagesWhileStarting = [];
    }
    this.options.openSockets.delete(this);
    const session = this.session;
    this.session = null;
    if (session !== null) {
      try {
        session.onTransportClosed();
      } catch (error) {
        stats.sessionErrors++;
        log.error({ event: LogEvent.WS_CLOSE, errKind: ErrorKind.INTERNAL, where: 'session-close', callSid: this.callSid, streamSid: this.streamSid, err: error }, 'session threw in onTransportClosed');
      }
    }
    this.logStop('closed');
    if (wasLive) this.options.onActiveCallsChanged?.();
  }

  // ---- transport ----

  /** Per-frame path: checks the closed flag and backpressure, writes one text frame (a string or its UTF-8 bytes). */
  send(text: string | Uint8Array): boolean {
    const ws = this.ws;
    const { stats } = this.options;
    if (this.isClosed || ws === null) {
      stats.framesDroppedClosed++;
      return false;
    }
    if (ws.getBufferedAmount() > this.options.maxBackpressureBytes || ws.send(text, false, false) === 2) {
      stats.framesDropped++;
      this.framesDropped++;
      if (this.transport.noteOverflow(Date.now(), this.options.slowClientOverflowMs)) this.closeSlowClient();
      return false;
    }
    if (this.transport.isOverflowing && ws.getBufferedAmount() < this.options.maxBackpressureBytes / 2) {
      this.transport.clearOverflow();
    }
    this.framesOut++;
    if (this.framesOut === 1 || (this.framesOut % SUMMARY_CHECK_FRAMES === 0 && Date.now() >= this.nextTxSummaryAtMs)) this.logTx();
    return true;
  }

  cork(fn: () => void): void {
    const ws = this.ws;
    if (this.isClosed || ws === null) return;
    ws.cork(fn);
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (this.isClosed || ws === null) return;
    if (this.closeReason.length === 0) this.closeReason = `server ${code}${reason ? ` ${reason}` : ''}`;
    try {
      // end() runs our close handler synchronously, which sets isClosed.
      ws.end(code, reason);
    } catch {
      this.isClosed = true;
    }
  }

  /** Forcibly closes (no close frame): used when the peer cannot take more data anyway. */
  private closeSlowClient(): void {
    const ws = this.ws;
    if (this.isClosed || ws === null) return;
    this.options.stats.slowClientsClosed++;
    this.closeReason = 'slow client: sustained backpressure overflow';
    log.warn({ event: LogEvent.WS_SLOW_CLIENT_CLOSE, errKind: ErrorKind.BACKPRESSURE, callSid: this.callSid, streamSid: this.streamSid, framesDropped: this.framesDropped, bufferedBytes: ws.getBufferedAmount() }, 'closing a socket that stopped draining');
    try {
      ws.close();
    } catch {
      this.isClosed = true;
    }
  }

  // ---- helpers ----

  /** A message before the call is live: the start is checked; the rest waits for it (while starting) or is dropped. */
  private onMessageBeforeLive(msg: InboundMessage): void {
    if (msg.event === 'connected') return; // carries nothing we need, and does not move the start deadline
    if (this.phase === 'starting') {
      if (msg.event === 'start') return; // one start is being checked already
      if (this.messagesWhileStarting.length >= MAX_MESSAGES_WHILE_STARTING) {
        this.drop('media-before-start', 'message while the start is checked (the queue is full)');
        return;
      }
      this.messagesWhileStarting.push(msg.event === 'media' ? { ...msg, payload: msg.payload.slice() } : msg);
      return;
    }
    if (msg.event === 'start') {
      this.acceptStart(msg);
      return;
    }
    if (msg.event === 'stop') {
      this.close(CloseCode.NORMAL, 'stop before start');
      return;
    }
    this.drop('media-before-start', `${msg.event} before start`);
  }

  /** The stream's start: its token checked (when signatures are on) and consumed; then the call begins. */
  private acceptStart(msg: Extract<InboundMessage, { event: 'start' }>): void {
    const { start } = msg;
    if (!this.options.isSignatureCheckOn) {
      this.beginCall(msg);
      return;
    }
    const token = start.customParameters[STREAM_TOKEN_PARAM];
    const nowMs = Date.now();
    if (token === undefined || !verifyStreamToken(this.options.streamTokenSecret, token, start.callSid, nowMs)) {
      this.refuseToken(msg, token === undefined ? 'missing' : 'invalid');
      return;
    }
    this.phase = 'starting';
    const expiresAtMs = streamTokenExpiryMs(token) ?? nowMs;
    let consumed: Promise<boolean>;
    try {
      consumed = this.options.streamTokenLedger.consume(streamTokenKey(start.callSid, token), expiresAtMs);
    } catch (error) {
      consumed = Promise.reject(error);
    }
    consumed.then(
      (isFirstUse) => {
        if (this.isClosed) return;
        if (!isFirstUse) {
          this.refuseToken(msg, 'replayed');
          return;
        }
        this.beginCall(msg);
        const waiting = this.messagesWhileStarting;
        this.messagesWhileStarting = [];
        for (const queued of waiting) {
          if (this.isClosed || this.phase !== 'live') break;
          this.onLiveMessage(queued);
        }
      },
      (error: unknown) => {
        if (this.isClosed) return;
        log.error({ event: LogEvent.WS_TOKEN_FAIL, errKind: ErrorKind.INTERNAL, callSid: start.callSid, streamSid: msg.streamSid, err: error }, 'the stream-token ledger could not be asked; closing');
        this.close(CloseCode.INTERNAL_ERROR, 'internal error');
      },
    );
  }

  /** Per-frame path: a message of a live call (fresh, or one that waited for the start): guards, counters, forward. */
  private onLiveMessage(msg: InboundMessage): void {
    switch (msg.event) {
      case 'media': {
        const verdict = this.rate!.take(this.nowMs());
        if (verdict !== 'accept') {
          this.onOverRate(verdict);
          return;
        }
        this.noteSequence(msg.sequenceNumber);
        this.framesIn++;
        this.maybeLogMedia();
        break;
      }
      case 'start':
        this.noteDuplicateStart();
        break;
      case 'stop':
      case 'mark':
      case 'dtmf':
        this.noteSequence(msg.sequenceNumber);
        break;
      case 'connected':
        break;
    }
    this.forward(msg);
    if (msg.event === 'stop') this.logStop('stop');
  }

  private refuseToken(msg: Extract<InboundMessage, { event: 'start' }>, reason: 'missing' | 'invalid' | 'replayed'): void {
    const { stats } = this.options;
    if (reason === 'replayed') stats.streamTokenReplays++;
    else stats.streamTokenFailures++;
    log.warn({ event: LogEvent.WS_TOKEN_FAIL, errKind: ErrorKind.SIGNATURE, reason, callSid: msg.start.callSid, streamSid: msg.streamSid, hasToken: reason !== 'missing', socketId: this.id },
      reason === 'replayed' ? 'stream token already used by another stream; closing' : 'stream token missing or invalid; closing');
    this.close(CloseCode.POLICY_VIOLATION, reason === 'replayed' ? 'stream token already used' : 'invalid stream token');
  }

  /** The start is accepted: the socket becomes a call (its session, its counters). */
  private beginCall(msg: Extract<InboundMessage, { event: 'start' }>): void {
    const { stats } = this.options;
    const { start } = msg;
    this.phase = 'live';
    this.hasStarted = true;
    this.callSid = start.callSid;
    this.streamSid = msg.streamSid;
    this.options.socketsAwaitingStart.delete(this);
    stats.socketsAwaitingStart--;
    stats.activeCalls++;
    stats.callsTotal++;
    const nowMs = Date.now();
    this.rate = new InboundRateLimit(this.nowMs());
    this.nextMediaSummaryAtMs = nowMs + LOG_SUMMARY_INTERVAL_MS;
    this.noteSequence(msg.sequenceNumber);
    log.info({
      event: LogEvent.WS_START, callSid: start.callSid, streamSid: msg.streamSid, accountSid: start.accountSid,
      tracks: start.tracks, mediaFormat: start.mediaFormat, subprotocol: this.info.subprotocol, path: this.info.path,
      remoteAddress: this.info.remoteAddress, socketId: this.id, waitedMs: nowMs - this.openedAtMs,
    }, 'media stream started');
    this.options.onActiveCallsChanged?.();
    try {
      this.session = this.options.sessionFactory(this.transport);
    } catch (error) {
      stats.sessionErrors++;
      log.error({ event: LogEvent.WS_CLOSE, errKind: ErrorKind.INTERNAL, where: 'session-create', callSid: this.callSid, streamSid: this.streamSid, socketId: this.id, err: error }, 'session factory threw; closing the socket');
      this.close(CloseCode.INTERNAL_ERROR, 'internal error');
      return;
    }
    this.forward(msg);
  }

  private noteDuplicateStart(): void {
    log.warn({ event: LogEvent.WS_START, errKind: ErrorKind.PROTOCOL, problem: 'duplicate-start', callSid: this.callSid, streamSid: this.streamSid }, 'second start on one stream');
  }

  /** Media over the stream's rate: dropped and counted; a stream that stays over it is closed (logged once). */
  private onOverRate(verdict: 'drop' | 'close'): void {
    this.framesDroppedRate++;
    this.drop('rate', 'media faster than real time');
    if (verdict !== 'close') return;
    this.options.stats.streamsClosedRate++;
    log.warn({ event: LogEvent.WS_RATE_CLOSE, errKind: ErrorKind.PROTOCOL, callSid: this.callSid, streamSid: this.streamSid, framesDroppedRate: this.framesDroppedRate, socketId: this.id }, 'media kept coming faster than real time; closing the stream');
    this.close(CloseCode.POLICY_VIOLATION, 'media faster than real time');
  }

  /** The start deadline passed (the thread's sweep): closed, never counted as a call. */
  closeForStartTimeout(): void {
    if (this.isClosed || this.phase === 'live') return;
    this.options.stats.startTimeouts++;
    this.close(CloseCode.POLICY_VIOLATION, 'no valid start in time');
  }

  private forward(msg: InboundMessage): void {
    const session = this.session;
    if (session === null) return;
    try {
      session.onMessage(msg);
    } catch (error) {
      this.options.stats.sessionErrors++;
      log.error({ event: LogEvent.WS_DROP, errKind: ErrorKind.INTERNAL, where: 'session-message', callSid: this.callSid, streamSid: this.streamSid, messageEvent: msg.event, err: error }, 'session threw on a message');
    }
  }

  /** A gap counts once, however many numbers it skips: one message claiming 10^15 cannot inflate the counters. */
  private noteSequence(sequenceNumber: number): void {
    if (this.lastSequence >= 0 && sequenceNumber > this.lastSequence + 1) {
      this.sequenceGaps++;
      this.options.stats.sequenceGaps++;
    }
    if (sequenceNumber > this.lastSequence) this.lastSequence = sequenceNumber;
  }

  private drop(reason: DropReason, detail: string): void {
    const { stats } = this.options;
    stats[DROP_COUNTER[reason]]++;
    if (reason === 'rate') {
      if (!this.hasWarnedRate) {
        this.hasWarnedRate = true;
        log.warn({ event: LogEvent.WS_DROP, errKind: ErrorKind.PROTOCOL, reason, callSid: this.callSid, streamSid: this.streamSid, socketId: this.id }, 'media faster than real time dropped (further ones are only counted)');
      }
      return;
    }
    if (reason === 'media-before-start') {
      if (!this.hasWarnedMediaBeforeStart) {
        this.hasWarnedMediaBeforeStart = true;
        log.warn({ event: LogEvent.WS_DROP, errKind: ErrorKind.PROTOCOL, reason, socketId: this.id }, 'media before start dropped (further ones are only counted)');
      }
      return;
    }
    stats.parseFailures++;
    this.parseFailures++;
    if (!this.hasWarnedParseFailure) {
      this.hasWarnedParseFailure = true;
      log.warn({ event: LogEvent.WS_PARSE_FAIL, errKind: ErrorKind.PROTOCOL, reason, detail, callSid: this.callSid, streamSid: this.streamSid, socketId: this.id }, 'inbound frame dropped (further ones are only counted)');
    }
  }

  /** Per-frame path: the first frame and a summary every LOG_SUMMARY_INTERVAL_MS are logged. */
  private maybeLogMedia(): void {
    if (this.framesIn === 1) {
      log.info({ event: LogEvent.WS_MEDIA, callSid: this.callSid, streamSid: this.streamSid, first: true, framesIn: 1 }, 'first media frame');
      return;
    }
    if (this.framesIn % SUMMARY_CHECK_FRAMES !== 0) return;
    const nowMs = Date.now();
    if (nowMs < this.nextMediaSummaryAtMs) return;
    this.nextMediaSummaryAtMs = nowMs + LOG_SUMMARY_INTERVAL_MS;
    log.info({
      event: LogEvent.WS_MEDIA, callSid: this.callSid, streamSid: this.streamSid, framesIn: this.framesIn,
      framesSinceLast: this.framesIn - this.framesInAtLastSummary, sequenceGaps: this.sequenceGaps, parseFailures: this.parseFailures,
    }, 'media summary');
    this.framesInAtLastSummary = this.framesIn;
  }

  private logTx(): void {
    const nowMs = Date.now();
    this.nextTxSummaryAtMs = nowMs + LOG_SUMMARY_INTERVAL_MS;
    log.info({
      event: LogEvent.WS_TX, callSid: this.callSid, streamSid: this.streamSid, first: this.framesOut === 1,
      framesOut: this.framesOut, framesSinceLast: this.framesOut - this.framesOutAtLastSummary, framesDropped: this.framesDropped,
    }, this.framesOut === 1 ? 'first outbound frame' : 'outbound summary');
    this.framesOutAtLastSummary = this.framesOut;
  }

  private logStop(cause: 'stop' | 'closed'): void {
    if (this.hasLoggedStop) return;
    this.hasLoggedStop = true;
    log.info({
      event: LogEvent.WS_STOP, callSid: this.callSid, streamSid: this.streamSid, cause, closeReason: this.closeReason || undefined,
      hasStarted: this.hasStarted, durationMs: Date.now() - this.openedAtMs, framesIn: this.framesIn, framesOut: this.framesOut,
      framesDropped: this.framesDropped, framesDroppedRate: this.framesDroppedRate, sequenceGaps: this.sequenceGaps,
      parseFailures: this.parseFailures, socketId: this.id,
    }, cause === 'stop' ? 'media stream stopped' : 'media socket closed');
  }
}
