// One media WebSocket's life on an edge thread: parse every text frame, guard the stream's start (media before it is
// dropped with one warning; the stream token is checked when signatures are on), forward messages to the call's
// session, and own the socket's `closed` flag. uWebSockets.js crashes on a send to a socket that has already closed
// (typically from a timer or a promise), so every outbound write goes through UwsCallTransport, which checks the flag
// and the backpressure first; a reader that stops draining loses frames and, after sustained overflow, is closed,
// without touching any other call. Nothing thrown by parsing or by the session escapes a uWS handler.
import type { CallSessionHandle, CallTransport, SessionFactory } from '../call/types.js';
import { ErrorKind, LogEvent, log } from '../observability/log.js';
import { InboundParser, type InboundMessage, type ParseFailure } from '../twilio/media-streams.js';
import { STREAM_TOKEN_PARAM, verifyStreamToken } from '../twilio/signature.js';
import type { UpgradeInfo } from './upgrade.js';
import type { WebSocket } from './uws.js';

/** How often WS_MEDIA / WS_TX summaries are logged while a call runs. */
export const LOG_SUMMARY_INTERVAL_MS = 5_000;
/** The clock is read for those summaries once per this many frames (about a second of one call), not per frame. */
const SUMMARY_CHECK_FRAMES = 64;
/** WebSocket close codes we use. */
export const CLOSE_NORMAL = 1000;
export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;

type DropReason = ParseFailure | 'binary-frame' | 'media-before-start';

/** Per-thread counters; plain numbers so that the main thread can sum them across threads. */
export interface EdgeThreadStats {
  activeCalls: number;            // open media sockets
  callsTotal: number;             // media sockets opened since start
  framesIn: number;               // media frames forwarded to sessions
  framesOut: number;              // text frames written to sockets
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
  sequenceGaps: number;           // inbound sequence numbers skipped
  streamTokenFailures: number;
  sessionErrors: number;          // exceptions thrown by a session (caught here)
  upgradesRefusedDraining: number;
  upgradesRefusedSignature: number;
  webhookSignatureFailures: number;
  webhooksAnswered: number;
}

export function createEdgeThreadStats(): EdgeThreadStats {
  return {
    activeCalls: 0, callsTotal: 0, framesIn: 0, framesOut: 0, framesDropped: 0, framesDroppedClosed: 0, slowClientsClosed: 0,
    parseFailures: 0, droppedMalformedJson: 0, droppedUnknownEvent: 0, droppedInvalidField: 0, droppedBadPayload: 0,
    droppedOversized: 0, droppedBinaryFrame: 0, droppedMediaBeforeStart: 0, sequenceGaps: 0, streamTokenFailures: 0,
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
};

export interface MediaSocketOptions {
  sessionFactory: SessionFactory;
  stats: EdgeThreadStats;
  isSignatureCheckOn: boolean;
  streamTokenSecret: string;
  maxBackpressureBytes: number;
  slowClientOverflowMs: number;
  /** Every open socket of this thread (for drain and shutdown). */
  openSockets: Set<MediaSocket>;
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
    this.conn.close(code ?? CLOSE_NORMAL, reason ?? '');
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

export class MediaSocket {
  readonly id = nextSocketId++;
  /** Set in the uWS close handler (or when we end the socket); no send happens after it. */
  isClosed = false;
  hasStarted = false;
  hasStopped = false;
  callSid = '';
  streamSid = '';

  private ws: WebSocket<MediaSocketUserData> | null = null;
  private readonly transport: UwsCallTransport;
  private session: CallSessionHandle | null = null;
  /** Reads this socket's messages; a media message it returns is valid until the next one. */
  private readonly parser = new InboundParser();
  private lastSequence = -1;
  private readonly openedAtMs = Date.now();
  // Inbound / outbound counters of this socket, for the WS_MEDIA / WS_TX / WS_STOP lines.
  private framesIn = 0;
  private framesInAtLastSummary = 0;
  private nextMediaSummaryAtMs = 0;
  private framesOut = 0;
  private framesOutAtLastSummary = 0;
  private nextTxSummaryAtMs = 0;
  private framesDropped = 0;
  private parseFailures = 0;
  private sequenceGaps = 0;
  private hasWarnedParseFailure = false;
  private hasWarnedMediaBeforeStart = false;
  private hasLoggedStop = false;
  private closeReason = '';

  constructor(
    readonly info: UpgradeInfo,
    private readonly options: MediaSocketOptions,
  ) {
    this.transport = new UwsCallTransport(this);
  }

  // ---- uWS handlers (each wrapped so that nothing escapes) ----

  onOpen(ws: WebSocket<MediaSocketUserData>): void {
    this.ws = ws;
    const { stats } = this.options;
    stats.activeCalls++;
    stats.callsTotal++;
    this.options.openSockets.add(this);
    this.options.onActiveCallsChanged?.();
    try {
      this.session = this.options.sessionFactory(this.transport);
    } catch (error) {
      stats.sessionErrors++;
      log.error({ event: LogEvent.WS_CLOSE, errKind: ErrorKind.INTERNAL, where: 'session-create', socketId: this.id, err: error }, 'session factory threw; closing the socket');
      this.close(1011, 'internal error');
    }
  }

  /** Per-frame path (50 messages a second per call): parse, guard, forward. Never throws. */
  onMessage(message: ArrayBuffer, isBinary: boolean): void {
    if (this.isClosed) return;
    if (isBinary) {
      this.drop('binary-frame', 'binary frame (Twilio sends text frames)');
      return;
    }
    // The ArrayBuffer is uWS's own memory, valid only during this call: the parser reads it in place.
    const result = this.parser.parse(new Uint8Array(message));
    if (!result.ok) {
      this.drop(result.reason, result.detail);
      return;
    }
    const msg = result.message;
    switch (msg.event) {
      case 'media':
        if (!this.hasStarted) {
          this.drop('media-before-start', 'media before start');
          return;
        }
        this.noteSequence(msg.sequenceNumber);
        this.framesIn++;
        this.options.stats.framesIn++;
        this.maybeLogMedia();
        break;
      case 'start':
        if (!this.acceptStart(msg)) return;
        break;
      case 'stop':
        this.noteSequence(msg.sequenceNumber);
        this.hasStopped = true;
        break;
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
    stats.activeCalls--;
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
    this.options.onActiveCallsChanged?.();
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
    stats.framesOut++;
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

  private acceptStart(msg: Extract<InboundMessage, { event: 'start' }>): boolean {
    const { start } = msg;
    if (this.options.isSignatureCheckOn) {
      const token = start.customParameters[STREAM_TOKEN_PARAM];
      if (token === undefined || !verifyStreamToken(this.options.streamTokenSecret, token, start.callSid, Date.now())) {
        this.options.stats.streamTokenFailures++;
        log.warn({ event: LogEvent.WS_TOKEN_FAIL, errKind: ErrorKind.SIGNATURE, callSid: start.callSid, streamSid: msg.streamSid, hasToken: token !== undefined }, 'stream token missing or invalid; closing');
        this.close(CLOSE_POLICY_VIOLATION, 'invalid stream token');
        return false;
      }
    }
    if (this.hasStarted) {
      log.warn({ event: LogEvent.WS_START, errKind: ErrorKind.PROTOCOL, problem: 'duplicate-start', callSid: this.callSid, streamSid: this.streamSid }, 'second start on one stream');
    }
    this.hasStarted = true;
    this.callSid = start.callSid;
    this.streamSid = msg.streamSid;
    this.noteSequence(msg.sequenceNumber);
    this.nextMediaSummaryAtMs = Date.now() + LOG_SUMMARY_INTERVAL_MS;
    log.info({
      event: LogEvent.WS_START, callSid: start.callSid, streamSid: msg.streamSid, accountSid: start.accountSid,
      tracks: start.tracks, mediaFormat: start.mediaFormat, subprotocol: this.info.subprotocol, path: this.info.path,
      remoteAddress: this.info.remoteAddress, socketId: this.id,
    }, 'media stream started');
    return true;
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

  private noteSequence(sequenceNumber: number): void {
    if (this.lastSequence >= 0 && sequenceNumber > this.lastSequence + 1) {
      const skipped = sequenceNumber - this.lastSequence - 1;
      this.sequenceGaps += skipped;
      this.options.stats.sequenceGaps += skipped;
    }
    if (sequenceNumber > this.lastSequence) this.lastSequence = sequenceNumber;
  }

  private drop(reason: DropReason, detail: string): void {
    const { stats } = this.options;
    stats[DROP_COUNTER[reason]]++;
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
      framesDropped: this.framesDropped, sequenceGaps: this.sequenceGaps, parseFailures: this.parseFailures, socketId: this.id,
    }, cause === 'stop' ? 'media stream stopped' : 'media socket closed');
  }
}
