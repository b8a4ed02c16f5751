/**
 * A generator thread: holds its share of the simulated Twilio calls on raw TCP sockets. Sends go out on one
 * 1 ms sub-tick timer for all calls (each call owns a whole-ms phase in the 20 ms period, due times are absolute),
 * and the server's frames are walked straight from the byte stream: media is counted, timed and matched to the
 * caller's audio, marks are echoed back, clears are counted.
 * Every playback is accounted for against the turn the engine makes of the caller's audio (bench/load/turn-rule.ts):
 * its echoed payloads map back to the caller's frames, so its first frame names its turn; a playback that ends with
 * its mark must carry all of the turn's frames, one cut by a clear a gap-free prefix of them (the rest is what the
 * clear dropped), and every voiced frame of the utterance (the plain energy rule) is counted as played, cut or left
 * out by the turn rule.
 */
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { Histogram } from './histogram.js';
import { loadConversation, CONVERSATION_KINDS, type ConversationKind, type LoadConversation } from './conversation.js';
import { steadyTurns, type RuleTurn } from './turn-rule.js';
import { serializeConnected, serializeInboundMark, serializeStart, serializeStop } from '../../src/twilio/caller-messages.js';
import { FRAME_BYTES, FRAME_MS, MEDIA_PAYLOAD_BASE64_CHARS, MULAW_MEDIA_FORMAT, MULAW_SILENCE_BYTE } from '../../src/twilio/media-format.js';
import {
  buildUpgradeRequest, parseResponseHead, clientFrame, clientHeaderLength, writeClientHeader, maskInPlace,
  ServerFrameReader, OPCODE_TEXT, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG, type FrameSink,
} from './ws-frames.js';
import { newFrameAccount, type StepPlan, type ToWorker, type FromWorker, type WorkerResult, type UtteranceTally, type FrameAccount } from './protocol.js';
import { threadCpuMs } from './procstat.js';

const SLOTS = FRAME_MS;                 // one slot per ms of the 20 ms period
const ACCOUNT_SID = 'AC' + '0'.repeat(32);
const PAYLOAD_KEY = Buffer.from('"payload":"', 'latin1');
const EVENT_KEY = Buffer.from('"event":', 'latin1');
const MAX_CATCH_UP_FRAMES = 50;
const SILENT_FRAME_BASE64 = Buffer.alloc(FRAME_BYTES, MULAW_SILENCE_BYTE).toString('base64');

const workerIndex = (workerData as { index: number }).index;

/** One conversation and what the generator looks up in it per frame. */
interface Script {
  conv: LoadConversation;
  utteranceAtStart: Int16Array;
  utteranceAtEnd: Int16Array;
  /** The engine's turns (its own rule) by their first loop frame; null where none starts. */
  turnAt: (RuleTurn | null)[];
}

function makeScript(kind: ConversationKind): Script {
  const conv = loadConversation({ kind });
  const utteranceAtStart = new Int16Array(conv.loopFrames).fill(-1);
  const utteranceAtEnd = new Int16Array(conv.loopFrames).fill(-1);
  conv.utterances.forEach((u, i) => { utteranceAtStart[u.startFrame] = i; utteranceAtEnd[u.endFrame] = i; });
  const turnAt: (RuleTurn | null)[] = new Array<RuleTurn | null>(conv.loopFrames).fill(null);
  for (const t of steadyTurns(conv)) turnAt[t.firstFrame] = t;
  return { conv, utteranceAtStart, utteranceAtEnd, turnAt };
}
const scripts = new Map<ConversationKind, Script>(CONVERSATION_KINDS.map((k) => [k, makeScript(k)]));

function hex32(): string { return randomBytes(16).toString('hex'); }
function nowAbs(): number { return performance.timeOrigin + performance.now(); }

class Stats {
  callsOpened = 0; handshakeFailed = 0; handshakeFailReasons: Record<string, number> = {}; subprotocolMissing = 0;
  callsDropped = 0; protocolErrors = 0; mediaSent = 0; mediaReceived = 0; marksReceived = 0; marksEchoed = 0;
  clearsReceived = 0; badPayloads = 0; audibleGaps = 0; unexpectedPlaybacks = 0; interruptedPlaybacks = 0;
  contentLost = 0; contentDuplicated = 0; contentUnmatchedFrames = 0; contentCheckedPlaybacks = 0; maxWritableBytes = 0;
  pacing = new Histogram(10, 1000);          // |inter-arrival - 20 ms|, 10 us bins to 1 s
  echoDelay = new Histogram(1000, 20_000);   // 1 ms bins to 20 s
  sendLag = new Histogram(10, 1000);
  perUtterance: UtteranceTally[];
  frames: FrameAccount = newFrameAccount();
  constructor(conv: LoadConversation) {
    this.perUtterance = conv.utterances.map(() => ({ frameCounts: {}, completed: 0 }));
  }
  failHandshake(reason: string): void {
    this.handshakeFailed++;
    this.handshakeFailReasons[reason] = (this.handshakeFailReasons[reason] ?? 0) + 1;
  }
}

class Call implements FrameSink {
  readonly streamSid = 'MZ' + hex32();
  readonly callSid = 'CA' + hex32();
  readonly maskKey = randomBytes(4);
  readonly suffix: Buffer;
  socket: Socket | null = null;
  isOpen = false;
  isStopping = false;
  isClosed = false;
  private head = '';
  private expectedAccept = '';
  private handshakeTimer: NodeJS.Timeout | null = null;
  private reader = new ServerFrameReader();
  seq = 1;
  mediaCount = 0;
  nextDue = 0;
  private arrivalMs = 0;
  // utterances whose first frame this call has sent (in the current loop), and ends awaiting their echo
  private readonly uttStarted: Uint8Array;
  private pendingUtt: number[] = [];
  private pendingEndAt: number[] = [];
  // the playback being received
  private inPlayback = false;
  private pbUtt = -1;
  private pbFrames = 0;
  private pbLastArrival = 0;
  private pbLastIdx = -1;
  private pbLost = 0;
  private pbDup = 0;
  private pbUnmatched = 0;
  /** Loop frame of the playback's first frame mapped by content, and how many frames came before it. */
  private pbFirstIdx = -1;
  private pbFramesBeforeFirst = 0;
  private pbFirstArrival = 0;

  constructor(readonly plan: StepPlan, readonly spec: StepPlan['calls'][number], readonly stats: Stats,
              readonly windowStart: number, readonly windowEnd: number, readonly script: Script) {
    this.suffix = Buffer.from(`"},"streamSid":"${this.streamSid}"}`, 'latin1');
    this.uttStarted = new Uint8Array(script.conv.utterances.length);
  }

  open(onOpen: (call: Call) => void): void {
    const { host, port, path, protocol } = this.plan;
    const req = buildUpgradeRequest(host, port, path, protocol);
    this.expectedAccept = req.expectedAccept;
    const socket = connect({ host, port });
    this.socket = socket;
    socket.setNoDelay(true);
    this.handshakeTimer = setTimeout(() => this.failHandshake('timeout'), this.plan.handshakeTimeoutMs);
    socket.once('connect', () => socket.write(req.text));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.isOpen && !this.isClosed) this.failHandshake(err.code ?? 'socket-error');
    });
    socket.on('close', () => this.onClose());
    socket.on('data', (chunk: Buffer) => {
      if (this.isOpen) { this.onData(chunk); return; }
      this.head += chunk.toString('latin1');
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (this.head.length > 16_384) this.failHandshake('oversized-response');
        return;
      }
      const res = parseResponseHead(this.head.slice(0, end));
      const rest = Buffer.from(this.head.slice(end + 4), 'latin1');
      this.head = '';
      if (res.status !== 101) { this.failHandshake(`http-${res.status}`); return; }
      if (res.headers.get('sec-websocket-accept') !== this.expectedAccept) { this.failHandshake('bad-accept'); return; }
      if ((res.headers.get('sec-websocket-protocol') ?? '').toLowerCase() !== protocol.toLowerCase()) this.stats.subprotocolMissing++;
      if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
      this.isOpen = true;
      this.stats.callsOpened++;
      this.sendText(serializeConnected());
      this.sendText(serializeStart(this.seq++, {
        accountSid: ACCOUNT_SID, streamSid: this.streamSid, callSid: this.callSid, tracks: ['inbound'],
        mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
      }));
      onOpen(this);
      if (rest.length > 0) this.onData(rest);
    });
  }

  private failHandshake(reason: string): void {
    if (this.isOpen || this.isClosed) return;
    this.stats.failHandshake(reason);
    this.isClosed = true;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.socket?.destroy();
  }

  private onClose(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.isOpen && !this.isStopping && !this.isClosed) this.stats.callsDropped++;
    if (!this.isOpen && !this.isClosed) this.stats.failHandshake('closed');
    this.isClosed = true;
    this.isOpen = false;
  }

  sendText(text: string): void {
    if (!this.socket || this.isClosed) return;
    this.socket.write(clientFrame(OPCODE_TEXT, Buffer.from(text, 'utf8'), this.maskKey));
  }

  /** Per-frame path: one media message built into one Buffer, masked, written. */
  sendMedia(now: number): void {
    const socket = this.socket;
    if (!socket || this.isClosed || !this.isOpen) return;
    const { conv, utteranceAtStart, utteranceAtEnd } = this.script;
    const f = (this.spec.startFrame + this.mediaCount) % conv.loopFrames;
    const chunk = this.mediaCount + 1;
    // serializeInboundMedia's text, built by hand around a pre-encoded payload: the generator's per-frame cost stays out of the figures
    const prefix = '{"event":"media","sequenceNumber":"' + this.seq + '","media":{"track":"inbound","chunk":"' + chunk +
      '","timestamp":"' + this.mediaCount * FRAME_MS + '","payload":"';
    const payload = conv.payloadAscii[f]!;
    const len = prefix.length + payload.length + this.suffix.length;
    const buf = Buffer.allocUnsafe(clientHeaderLength(len) + len);
    const o = writeClientHeader(buf, OPCODE_TEXT, len, this.maskKey);
    buf.write(prefix, o, 'latin1');
    payload.copy(buf, o + prefix.length);
    this.suffix.copy(buf, o + prefix.length + payload.length);
    maskInPlace(buf, o, len, this.maskKey);
    socket.write(buf);
    if (socket.writableLength > this.stats.maxWritableBytes) this.stats.maxWritableBytes = socket.writableLength;
    this.seq++;
    this.mediaCount++;
    this.stats.mediaSent++;
    const us = utteranceAtStart[f]!;
    if (us >= 0) this.uttStarted[us] = 1;
    const ue = utteranceAtEnd[f]!;
    if (ue >= 0 && this.uttStarted[ue] === 1) {
      this.uttStarted[ue] = 0;
      this.pendingUtt.push(ue);
      this.pendingEndAt.push(now);
    }
  }

  /** The playback cut by the hang-up still counts for content continuity (not for frame counts). */
  private flushPartialPlayback(): void {
    if (!this.inPlayback) return;
    this.inPlayback = false;
    if (this.pbUnmatched === 0 && this.pbFrames > 1) {
      this.stats.contentCheckedPlaybacks++;
      this.stats.contentLost += this.pbLost;
      this.stats.contentDuplicated += this.pbDup;
    }
  }

  stop(): void {
    this.flushPartialPlayback();
    if (this.socket && !this.isOpen && !this.isClosed) this.failHandshake('unanswered-at-hang-up');
    if (!this.socket || this.isClosed) return;
    this.isStopping = true;
    if (this.isOpen) {
      this.sendText(serializeStop(this.seq++, this.streamSid, ACCOUNT_SID, this.callSid));
      this.socket.write(clientFrame(OPCODE_CLOSE, Buffer.from([0x03, 0xe8]), this.maskKey));
    }
    this.socket.end();
  }

  private onData(chunk: Buffer): void {
    this.arrivalMs = performance.now();
    this.reader.push(chunk, this);
  }

  onProtocolError(): void {
    this.stats.protocolErrors++;
    this.socket?.destroy();
  }

  /** Per-frame path for media: find the event by bytes, no JSON.parse. */
  onFrame(opcode: number, buf: Buffer, start: number, end: number): void {
    if (opcode === OPCODE_TEXT) {
      const e = buf.indexOf(EVENT_KEY, start);
      if (e < 0 || e >= end) { this.stats.protocolErrors++; return; }
      let p = e + EVENT_KEY.length;
      while (buf[p] === 0x20) p++;
      const c1 = buf[p + 1];
      const c2 = buf[p + 2];
      if (c1 === 0x6d /* m */ && c2 === 0x65 /* e */) this.onMedia(buf, start, end);
      else if (c1 === 0x6d && c2 === 0x61 /* a */) this.onMark(buf.toString('utf8', start, end));
      else if (c1 === 0x63 /* c */) this.onClear();
      else this.stats.protocolErrors++;
    } else if (opcode === OPCODE_PING) {
      this.socket?.write(clientFrame(OPCODE_PONG, Buffer.from(buf.subarray(start, end)), this.maskKey));
    } else if (opcode === OPCODE_CLOSE) {
      if (!this.isStopping) this.stats.callsDropped++;
      this.isClosed = true;
      this.socket?.end();
    } else if (opcode !== OPCODE_PONG) {
      this.stats.protocolErrors++;   // binary frames are refused by Twilio (31950)
    }
  }

  private inWindow(t: number): boolean { return t >= this.windowStart && t <= this.windowEnd; }

  private onMedia(buf: Buffer, start: number, end: number): void {
    if (this.isStopping) return;   // after the hang-up, whatever is still in flight is not measured
    const stats = this.stats;
    const t = this.arrivalMs;
    stats.mediaReceived++;
    const p = buf.indexOf(PAYLOAD_KEY, start);
    let q = -1;
    if (p >= 0 && p < end) q = buf.indexOf(0x22, p + PAYLOAD_KEY.length);
    const b64Start = p + PAYLOAD_KEY.length;
    if (q < 0 || q > end || q - b64Start !== MEDIA_PAYLOAD_BASE64_CHARS) stats.badPayloads++;
    if (!this.inPlayback) {
      this.inPlayback = true;
      this.pbFrames = 0; this.pbLastIdx = -1; this.pbLost = 0; this.pbDup = 0; this.pbUnmatched = 0;
      this.pbFirstIdx = -1; this.pbFramesBeforeFirst = 0; this.pbFirstArrival = t;
      if (this.pendingUtt.length > 0) {
        this.pbUtt = this.pendingUtt.shift()!;
        const endAt = this.pendingEndAt.shift()!;
        if (this.inWindow(t)) stats.echoDelay.add(t - endAt);
      } else {
        this.pbUtt = -1;
        stats.unexpectedPlaybacks++;
      }
    } else {
      const dt = t - this.pbLastArrival;
      if (this.pbFrames > this.plan.pacingSkipFrames && this.inWindow(t)) {
        stats.pacing.add(Math.abs(dt - FRAME_MS));
        if (dt > 3 * FRAME_MS) stats.audibleGaps++;
      }
    }
    this.pbFrames++;
    this.pbLastArrival = t;
    if (q > 0) this.trackContent(buf.toString('latin1', b64Start, q));
  }

  /** Maps an echoed payload back to the loop frame it came from, to find skipped or repeated frames. */
  private trackContent(b64: string): void {
    const conv = this.script.conv;
    const last = this.pbLastIdx;
    if (b64 === SILENT_FRAME_BASE64) {
      // Digital silence: the echo of a silent frame. Continuity is assumed when the source was silent too.
      if (last >= 0 && conv.isSilent[last + 1] === 1) this.pbLastIdx = last + 1;
      return;
    }
    const list = conv.contentIndex.get(b64);
    if (!list) { this.pbUnmatched++; return; }
    if (this.pbFirstIdx < 0) { this.pbFirstIdx = list[0]!; this.pbFramesBeforeFirst = this.pbFrames - 1; }
    let idx = list[0]!;
    if (last >= 0) {
      let best = -1;
      for (const i of list) { if (i > last) { best = i; break; } }
      idx = list.includes(last + 1) ? last + 1 : best >= 0 ? best : idx;
      if (idx > last + 1) this.pbLost += idx - last - 1;
      else if (idx <= last) this.pbDup++;
    }
    this.pbLastIdx = idx;
  }

  /**
   * The playback against the engine's turn it echoes: found by its first frame (the first frame mapped by content,
   * less the frames before it). Only playbacks that began inside the window count.
   */
  private accountFrames(interrupted: boolean): void {
    if (!this.inWindow(this.pbFirstArrival)) return;
    const a = this.stats.frames;
    a.playbacks++;
    if (this.pbFirstIdx < 0 || this.pbUnmatched > 0) { a.playbacksUnmapped++; return; }
    const { conv, turnAt } = this.script;
    const firstFrame = (this.pbFirstIdx - this.pbFramesBeforeFirst + conv.loopFrames) % conv.loopFrames;
    const turn = turnAt[firstFrame];
    if (turn === null || turn === undefined) { a.playbacksOffRule++; return; }
    const received = this.pbFrames;
    if (interrupted) {
      a.playbacksCut++;
      a.cutFramesReceived += Math.min(received, turn.frames);
      a.cutFramesDropped += Math.max(0, turn.frames - received);
    } else {
      a.playbacksWhole++;
      a.wholeFramesExpected += turn.frames;
      a.wholeFramesReceived += Math.min(received, turn.frames);
    }
    if (received > turn.frames) a.framesBeyondTurn += received - turn.frames;
    // the plain energy rule: the utterance's voiced frames, each played, cut by the clear, or left out by the turn rule
    const u = conv.utterances[turn.utterance];
    if (u !== undefined) {
      const lastFrame = firstFrame + turn.frames - 1;
      const lastReceived = firstFrame + Math.min(received, turn.frames) - 1;
      const voiced = u.voicedLastFrame - u.voicedFirstFrame + 1;
      const leftOut = Math.max(0, firstFrame - u.voicedFirstFrame) + Math.max(0, u.voicedLastFrame - lastFrame);
      const played = Math.max(0, Math.min(lastReceived, u.voicedLastFrame) - Math.max(firstFrame, u.voicedFirstFrame) + 1);
      a.voicedFrames += voiced;
      a.voicedPlayed += played;
      a.voicedLeftOutByRule += leftOut;
      a.voicedCut += Math.max(0, voiced - played - leftOut);
    }
  }

  private endPlayback(interrupted: boolean): void {
    if (!this.inPlayback) return;
    this.inPlayback = false;
    const stats = this.stats;
    this.accountFrames(interrupted);
    if (interrupted) { stats.interruptedPlaybacks++; return; }
    if (this.pbUtt >= 0) {
      const tally = stats.perUtterance[this.pbUtt]!;
      tally.completed++;
      tally.frameCounts[this.pbFrames] = (tally.frameCounts[this.pbFrames] ?? 0) + 1;
    }
    if (this.pbUnmatched === 0) {
      stats.contentCheckedPlaybacks++;
      stats.contentLost += this.pbLost;
      stats.contentDuplicated += this.pbDup;
    } else {
      stats.contentUnmatchedFrames += this.pbUnmatched;
    }
  }

  private onMark(text: string): void {
    this.stats.marksReceived++;
    this.endPlayback(false);
    let name = '';
    try { name = String((JSON.parse(text) as { mark?: { name?: unknown } }).mark?.name ?? ''); } catch { this.stats.protocolErrors++; }
    if (this.isStopping || this.isClosed) return;
    this.sendText(serializeInboundMark(this.seq++, this.streamSid, name));
    this.stats.marksEchoed++;
  }

  private onClear(): void {
    this.stats.clearsReceived++;
    this.endPlayback(true);
  }
}

async function runStep(plan: StepPlan): Promise<WorkerResult> {
  const script = scripts.get(plan.conversation);
  if (script === undefined) throw new Error(`unknown conversation ${plan.conversation}`);
  const stats = new Stats(script.conv);
  const origin = performance.timeOrigin;
  const windowStart = plan.windowStartAbs - origin;
  const windowEnd = plan.windowEndAbs - origin;
  const gridBase = plan.gridBaseAbs - origin;
  const slots: Call[][] = Array.from({ length: SLOTS }, () => []);
  const calls: Call[] = [];
  let isRunning = true;

  const onOpen = (call: Call): void => {
    const now = performance.now();
    const phase = call.spec.phaseMs % SLOTS;
    const k = Math.ceil((now + 1 - gridBase - phase) / FRAME_MS);
    call.nextDue = gridBase + k * FRAME_MS + phase;
    slots[phase]!.push(call);
  };

  // The send loop: slot s of the period is served at grid + n*20 + s. A late pass serves every due frame.
  let slotIdx = 0;
  let slotTime = gridBase;
  while (slotTime < performance.now()) { slotTime += 1; slotIdx = (slotIdx + 1) % SLOTS; }
  let timer: NodeJS.Timeout | null = null;
  const pump = (): void => {
    const now = performance.now();
    let guard = 0;
    while (slotTime <= now && guard++ < 1000) {
      for (const call of slots[slotIdx]!) {
        let n = 0;
        while (call.isOpen && !call.isStopping && call.nextDue <= now && n++ < MAX_CATCH_UP_FRAMES) {
          if (call.nextDue >= windowStart && call.nextDue <= windowEnd) stats.sendLag.add(now - call.nextDue);
          call.sendMedia(now);
          call.nextDue += FRAME_MS;
        }
      }
      slotIdx = (slotIdx + 1) % SLOTS;
      slotTime += 1;
    }
    if (isRunning) timer = setTimeout(pump, Math.max(0, slotTime - performance.now()));
  };
  pump();

  // Connections, each at its planned instant.
  const connectTimers: NodeJS.Timeout[] = [];
  for (const spec of plan.calls) {
    const call = new Call(plan, spec, stats, windowStart, windowEnd, script);
    calls.push(call);
    connectTimers.push(setTimeout(() => call.open(onOpen), Math.max(0, spec.connectAtAbs - origin - performance.now())));
  }

  // The measurement window: thread CPU and event-loop utilisation of this generator thread.
  await sleep(Math.max(0, windowStart - performance.now()));
  const cpu0 = threadCpuMs();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  await sleep(Math.max(0, windowEnd - performance.now()));
  const windowMs = performance.now() - t0;
  const cpu1 = threadCpuMs();
  const elu = performance.eventLoopUtilization(elu0);

  // Hang up: stop + close on every call, then wait (bounded) for the sockets to close.
  isRunning = false;
  if (timer) clearTimeout(timer);
  for (const t of connectTimers) clearTimeout(t);
  for (const call of calls) call.stop();
  const deadline = performance.now() + 3000;
  while (calls.some((c) => c.socket && !c.socket.destroyed) && performance.now() < deadline) await sleep(50);
  for (const call of calls) call.socket?.destroy();

  return {
    worker: workerIndex,
    callsPlanned: plan.calls.length,
    callsOpened: stats.callsOpened,
    handshakeFailed: stats.handshakeFailed,
    handshakeFailReasons: stats.handshakeFailReasons,
    subprotocolMissing: stats.subprotocolMissing,
    callsDropped: stats.callsDropped,
    protocolErrors: stats.protocolErrors,
    mediaSent: stats.mediaSent,
    mediaReceived: stats.mediaReceived,
    marksReceived: stats.marksReceived,
    marksEchoed: stats.marksEchoed,
    clearsReceived: stats.clearsReceived,
    badPayloads: stats.badPayloads,
    pacing: stats.pacing.toData(),
    audibleGaps: stats.audibleGaps,
    echoDelay: stats.echoDelay.toData(),
    sendLag: stats.sendLag.toData(),
    perUtterance: stats.perUtterance,
    frames: stats.frames,
    unexpectedPlaybacks: stats.unexpectedPlaybacks,
    interruptedPlaybacks: stats.interruptedPlaybacks,
    contentLost: stats.contentLost,
    contentDuplicated: stats.contentDuplicated,
    contentUnmatchedFrames: stats.contentUnmatchedFrames,
    contentCheckedPlaybacks: stats.contentCheckedPlaybacks,
    windowMs,
    threadCpuMs: cpu1 - cpu0,
    eventLoopUtilization: elu.utilization,
    maxWritableBytes: stats.maxWritableBytes,
  };
}

function sleep(ms: number): Promise<void> { return new Promise((resolve) => setTimeout(resolve, ms)); }

function post(msg: FromWorker): void { parentPort?.postMessage(msg); }

parentPort?.on('message', (msg: ToWorker) => {
  if (msg.type === 'exit') { process.exit(0); }
  if (msg.type === 'run') {
    runStep(msg.plan).then(
      (result) => post({ type: 'result', result }),
      (err: unknown) => post({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) }),
    );
  }
});
post({ type: 'ready', worker: workerIndex });
