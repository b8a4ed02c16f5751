// Test doubles for the call engine: a transport that records what the session writes (parsed back with the
// twilio module's own reader), a whole engine on a manual clock, and a caller that streams fixtures like Twilio.
// Not a test file (no .test.ts).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CallTransport } from '../../src/call/types.js';
import { parseOutbound } from '../../src/twilio/caller-messages.js';
import type { OutboundMessage } from '../../src/twilio/media-messages.js';
import type { Agent, AgentContext, CallerTurn, HeardInfo, PlayedInfo } from '../../src/call/agent-contract.js';
import { EchoAgent } from '../../src/agent/echo.js';
import { FrameClock } from '../../src/audio/clock.js';
import { ManualTimeSource } from '../helpers/manual-time-source.js';
import { InboundBatcher } from '../../src/audio/dsp.js';
import { createSessionFactory, type EngineSessionFactory } from '../../src/call/registry.js';
import type { CallEventSink } from '../../src/call/events.js';
import type { CallEngineConfig, CallSessionHandle } from '../../src/call/types.js';
import { createLogger } from '../../src/observability/log.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES, name)));
}

export interface Labels {
  [call: string]: { utterances_s: [number, number][]; total_s: number };
}

export function readLabels(): Labels {
  return JSON.parse(readFileSync(join(FIXTURES, 'labels.json'), 'utf8')) as Labels;
}

/** Records every text frame; `sent` holds them parsed. `onSend` lets a test see the time of each write. */
export class FakeTransport implements CallTransport {
  readonly texts: string[] = [];
  readonly sent: OutboundMessage[] = [];
  corks = 0;
  isInCork = false;
  writesOutsideCork = 0;
  isClosed = false;
  closeCode: number | undefined;
  acceptWrites = true;
  onSend: ((msg: OutboundMessage) => void) | undefined;
  onClose: (() => void) | undefined;

  sendUtf8(utf8: Uint8Array): boolean {
    return this.sendText(Buffer.from(utf8).toString('utf8'));
  }

  sendText(text: string): boolean {
    if (this.isClosed || !this.acceptWrites) return false;
    if (!this.isInCork) this.writesOutsideCork++;
    this.texts.push(text);
    const msg = parseOutbound(text);
    if (msg === null) throw new Error(`unparseable outbound frame: ${text.slice(0, 80)}`);
    this.sent.push(msg);
    this.onSend?.(msg);
    return true;
  }

  cork(fn: () => void): void {
    this.corks++;
    const was = this.isInCork;
    this.isInCork = true;
    try {
      fn();
    } finally {
      this.isInCork = was;
    }
  }

  close(code?: number): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.closeCode = code;
    this.onClose?.();
  }

  media(): Extract<OutboundMessage, { event: 'media' }>[] {
    return this.sent.filter((m): m is Extract<OutboundMessage, { event: 'media' }> => m.event === 'media');
  }

  count(event: OutboundMessage['event']): number {
    return this.sent.filter((m) => m.event === event).length;
  }

  marks(): string[] {
    return this.sent.flatMap((m) => (m.event === 'mark' ? [m.name] : []));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// A whole call engine on a manual clock, and a caller that streams a mu-law file like Twilio does.

export const SILENT_LOG = createLogger({ level: 'silent' });

export function engineConfig(overrides: Partial<CallEngineConfig> = {}): CallEngineConfig {
  return {
    playout: { leadFrames: 3 },
    vad: {},
    turns: { minTurnMs: 300, maxTurnMs: 30_000 },
    bargeIn: { enabled: true, minSpeechMs: 200 },
    ...overrides,
  };
}

/** An echo agent that also records what the engine told it. */
export class RecordingEchoAgent implements Agent {
  readonly echo = new EchoAgent();
  readonly turns: CallerTurn[] = [];
  readonly bargeIns: HeardInfo[] = [];
  readonly digits: string[] = [];
  readonly played: PlayedInfo[] = [];
  readonly signals: AbortSignal[] = [];
  endReason: string | undefined;
  ctx: AgentContext | undefined;

  onCallStart(ctx: AgentContext): void {
    this.ctx = ctx;
    this.echo.onCallStart(ctx);
  }
  onTurn(turn: CallerTurn, signal: AbortSignal): void {
    this.turns.push(turn);
    this.signals.push(signal);
    this.echo.onTurn(turn, signal);
  }
  onDtmf(digit: string): void {
    this.digits.push(digit);
    this.echo.onDtmf(digit);
  }
  onBargeIn(heard: HeardInfo): void {
    this.bargeIns.push(heard);
  }
  onUtterancePlayed(played: PlayedInfo): void {
    this.played.push(played);
  }
  onCallEnd(reason: string): void {
    this.endReason = reason;
    this.echo.onCallEnd();
  }
}

export interface TestEngine {
  time: ManualTimeSource;
  clock: FrameClock;
  batcher: InboundBatcher;
  factory: EngineSessionFactory;
  agents: RecordingEchoAgent[];
}

export function makeEngine(
  config: CallEngineConfig = engineConfig(),
  options: { idleTimeoutMs?: number; events?: CallEventSink; agent?: () => RecordingEchoAgent } = {},
): TestEngine {
  const time = new ManualTimeSource(0);
  const clock = new FrameClock({ time });
  const batcher = new InboundBatcher({ maxSlots: 64, maxFramesPerTick: 256 });
  const agents: RecordingEchoAgent[] = [];
  const factory = createSessionFactory({
    config,
    clock,
    batcher,
    log: SILENT_LOG,
    maxFramesPerBatch: 256,
    idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    ...(options.events !== undefined ? { events: options.events } : {}),
    agentFactory: () => {
      const agent = options.agent?.() ?? new RecordingEchoAgent();
      agents.push(agent);
      return agent;
    },
  });
  return { time, clock, batcher, factory, agents };
}

/** Splits mu-law bytes into 160-byte frames (the last one padded with silence). */
export function toFrames(mulaw: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let i = 0; i < mulaw.length; i += 160) {
    const frame = new Uint8Array(160).fill(0xff);
    frame.set(mulaw.subarray(i, Math.min(i + 160, mulaw.length)));
    frames.push(frame);
  }
  return frames;
}

/** Twilio's side of one stream, feeding typed messages straight into a session. */
export class FakeCaller {
  readonly transport = new FakeTransport();
  readonly session: CallSessionHandle;
  readonly streamSid: string;
  /** Manual time of each outbound message, parallel to transport.sent. */
  readonly sentAtMs: number[] = [];
  private seq = 1;
  private chunk = 1;
  /** Stream time of the next frame. */
  mediaMs = 0;

  constructor(private readonly engine: TestEngine, readonly name = 'A') {
    this.streamSid = `MZ${name}`;
    this.transport.onSend = () => this.sentAtMs.push(engine.time.nowMs());
    this.session = engine.factory(this.transport);
    this.transport.onClose = () => this.session.onTransportClosed();
  }

  connect(params: Record<string, string> = {}): void {
    this.session.onMessage({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.session.onMessage({
      event: 'start', sequenceNumber: this.seq++, streamSid: this.streamSid,
      start: {
        streamSid: this.streamSid, accountSid: 'ACtest', callSid: `CA${this.name}`, tracks: ['inbound'],
        mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 }, customParameters: params,
      },
    });
  }

  /** One media message for stream time `mediaMs` (then advances it by 20 ms). */
  sendFrame(frame: Uint8Array): void {
    this.session.onMessage({
      event: 'media', sequenceNumber: this.seq++, streamSid: this.streamSid, track: 'inbound', chunk: this.chunk++,
      timestampMs: this.mediaMs, payload: frame,
    });
    this.mediaMs += 20;
  }

  /** Twilio leaves a frame out: stream time moves on, nothing is sent. */
  skipFrame(): void {
    this.mediaMs += 20;
    this.chunk++;
  }

  returnMark(name: string): void {
    this.session.onMessage({ event: 'mark', sequenceNumber: this.seq++, streamSid: this.streamSid, name });
  }

  dtmf(digit: string): void {
    this.session.onMessage({ event: 'dtmf', sequenceNumber: this.seq++, streamSid: this.streamSid, track: 'inbound_track', digit });
  }

  stop(): void {
    this.session.onMessage({ event: 'stop', sequenceNumber: this.seq++, streamSid: this.streamSid, accountSid: 'ACtest', callSid: `CA${this.name}` });
  }
}

/**
 * Streams frames in real time on the manual clock: each frame arrives, then 20 ms pass (the clock's passes run
 * inside). `skip(i)` says which frames Twilio leaves out. Marks the server sends are returned after `markDelayMs`
 * when `returnMarks` is set.
 */
export function stream(engine: TestEngine, callers: FakeCaller[], frames: Uint8Array[], opts: { skip?: (i: number) => boolean; returnMarks?: boolean } = {}): void {
  const marksSeen = callers.map(() => 0);
  for (let i = 0; i < frames.length; i++) {
    for (const caller of callers) {
      if (opts.skip?.(i) === true) caller.skipFrame();
      else caller.sendFrame(frames[i]!);
    }
    engine.time.advance(20);
    if (opts.returnMarks === true) {
      callers.forEach((caller, c) => {
        const marks = caller.transport.marks();
        for (; marksSeen[c]! < marks.length; marksSeen[c]!++) caller.returnMark(marks[marksSeen[c]!]!);
      });
    }
  }
}

export function silenceFrames(n: number): Uint8Array[] {
  return Array.from({ length: n }, () => new Uint8Array(160).fill(0xff));
}
