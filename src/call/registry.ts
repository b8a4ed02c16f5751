// The calls of one edge thread, and what they share: the thread's 20 ms clock, the batched inbound DSP (one
// InboundBatcher, one slot per call, one crossing per clock pass) and the engine's counters. A session is registered
// when its stream's start is accepted and removed when it ends (stop, close, idle timeout, hang-up), so
// `liveSessions` returning to zero is the proof that nothing was left behind.
// The registry is handed its parts (src/thread-root.ts, the thread's composition root, builds them; tests build
// theirs): it neither picks the agent nor reads configuration beyond the call engine's own settings.
import type { Logger } from 'pino';
import { createEchoAgent } from '../agent/echo.js';
import type { AgentFactory } from './agent-contract.js';
import { FrameClock } from '../audio/clock.js';
import { createClockTimeSource } from '../audio/precise-timer.js';
import { InboundBatcher, resolveVadOptions } from '../audio/dsp.js';
import { ErrorKind, LogEvent, log as rootLog } from '../observability/log.js';
import { InboundBatch, type InboundBatcherLike } from './inbound.js';
import { checkLeadFrames } from './playout.js';
import { NO_EVENTS, type CallCommand, type CallEventSink, type CommandResult } from './events.js';
import { CallSession } from './session.js';
import type { CallAudioTaps } from './audio-tap.js';
import { createThreadCallStats, type CallEngineConfig, type CallTransport, type SessionFactory, type ThreadCallStats } from './types.js';

export const DEFAULT_MAX_CALLS_PER_THREAD = 4096;
/** Frames one DSP crossing takes; more arriving between two passes are processed in an extra crossing. */
export const DEFAULT_MAX_FRAMES_PER_BATCH = 1024;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface CallRegistryOptions {
  /** With the edge's whole Config, ws.idleTimeoutS (WS_IDLE_TIMEOUT_S; 0 = off) is the engine's idle timeout too. */
  config: CallEngineConfig & { ws?: { idleTimeoutS: number } };
  agentFactory: AgentFactory;
  /** Default: a new FrameClock on real time (one per thread). */
  clock?: FrameClock;
  /** Default: a new InboundBatcher from the addon. */
  batcher?: InboundBatcherLike;
  maxCalls?: number;
  maxFramesPerBatch?: number;
  /** Default: config.ws.idleTimeoutS, else DEFAULT_IDLE_TIMEOUT_MS; 0 = never. */
  idleTimeoutMs?: number;
  log?: Logger;
  /** Edge thread index, for logs. */
  threadIndex?: number;
  /** Where the calls' events go (default: nowhere). */
  events?: CallEventSink;
  /** The agent's kind, for the calls' records (default 'echo'). */
  agentKind?: string;
  /** Where each stream's audio is copied for its recording (RECORD_AUDIO=on); default none. */
  audioTaps?: CallAudioTaps;
}

export class CallRegistry {
  readonly clock: FrameClock;
  readonly inbound: InboundBatch;
  private readonly counters: ThreadCallStats = createThreadCallStats();
  private readonly sessions = new Set<CallSession>();
  /** Started calls by callSid: where a command for a call finds it. */
  private readonly byCallSid = new Map<string, CallSession>();
  private readonly removePassHook: () => void;
  private readonly createSessionBound: (transport: CallTransport) => CallSession;

  constructor(options: CallRegistryOptions) {
    checkConfig(options.config);
    const maxCalls = options.maxCalls ?? DEFAULT_MAX_CALLS_PER_THREAD;
    const maxFrames = options.maxFramesPerBatch ?? DEFAULT_MAX_FRAMES_PER_BATCH;
    const log = (options.log ?? rootLog).child({ threadIndex: options.threadIndex ?? 0 });
    this.clock = options.clock ?? createThreadClock(log);
    const batcher = options.batcher ?? new InboundBatcher({ maxSlots: maxCalls, maxFramesPerTick: maxFrames });
    this.inbound = new InboundBatch(batcher, maxFrames, this.counters);
    // The VAD's effective timing (the DSP's defaults where config leaves them out) corrects turn starts and ends.
    const vadOptions = resolveVadOptions(options.config.vad);
    const deps = {
      config: options.config,
      agentFactory: options.agentFactory,
      clock: this.clock,
      inbound: this.inbound,
      stats: this.counters,
      log,
      // the VAD counts both in whole 20 ms frames
      vadTiming: { onsetMs: Math.ceil(vadOptions.onsetMs / 20) * 20, hangoverMs: Math.ceil(vadOptions.hangoverMs / 20) * 20 },
      idleTimeoutMs: options.idleTimeoutMs ?? (options.config.ws !== undefined ? options.config.ws.idleTimeoutS * 1000 : DEFAULT_IDLE_TIMEOUT_MS),
      events: options.events ?? NO_EVENTS,
      agentKind: options.agentKind ?? 'echo',
      audioTaps: options.audioTaps ?? null,
      onStarted: (session: CallSession) => {
        // a second stream for a callSid (a transfer that came back) takes the entry; the first one's end leaves it
        this.byCallSid.set(session.callSid, session);
      },
      onEnded: (session: CallSession) => {
        this.sessions.delete(session);
        if (this.byCallSid.get(session.callSid) === session) this.byCallSid.delete(session.callSid);
      },
    };
    this.createSessionBound = (transport) => {
      const session = new CallSession(deps, transport);
      this.sessions.add(session);
      return session;
    };
    // Inbound in every pass, after its sends (FrameClock): a VAD onset clears a playback from the next pass on.
    this.removePassHook = this.clock.addPassHook(() => this.inbound.flush());
  }

  /** The edge's SessionFactory. */
  get sessionFactory(): SessionFactory {
    return this.createSessionBound;
  }

  /** Sessions alive on this thread (the same figure as stats().liveSessions). */
  get activeCalls(): number {
    return this.sessions.size;
  }


  /** Batched inbound DSP crossings so far (the metrics pass hook reads it every pass: no copy of the counters). */
  get dspBatches(): number {
    return this.counters.dspBatches;
  }

  /** A copy of this thread's counters (with the clock's). */
  stats(): ThreadCallStats {
    const clock = this.clock.stats;
    return {
      ...this.counters,
      liveSessions: this.sessions.size,
      clockPasses: clock.passes,
      clockSubTicksMerged: clock.subTicksMerged,
      clockHandlerErrors: clock.handlerErrors,
    };
  }

  /** Is `callSid` a live call of this thread? */
  hasCall(callSid: string): boolean {
    return this.byCallSid.has(callSid);
  }

  /** Carries out `command` on the live call `callSid` of this thread. Never throws. */
  command(callSid: string, command: CallCommand): CommandResult {
    const session = this.byCallSid.get(callSid);
    if (session === undefined) return { ok: false, code: 'unknown-call', message: `no live call ${callSid} on this thread` };
    try {
      return session.command(command);
    } catch (error) {
      return { ok: false, code: 'bad-command', message: error instanceof Error ? error.message : String(error) };
    }
  }

  /** Ends every call (thread shutdown) and detaches from the clock. */
  shutdown(): void {
    for (const session of [...this.sessions]) session.end('shutdown');
    this.removePassHook();
  }
}

export interface SessionFactoryOptions extends Omit<CallRegistryOptions, 'agentFactory'> {
  /** Default: the echo agent. */
  agentFactory?: AgentFactory;
}

/** The call engine's SessionFactory, with its registry attached (tests and benchmarks read its stats). */
export type EngineSessionFactory = SessionFactory & { readonly registry: CallRegistry };

/** A registry for tests and benchmarks, with the echo agent unless told otherwise; returns its SessionFactory. */
export function createSessionFactory(options: SessionFactoryOptions): EngineSessionFactory {
  const registry = new CallRegistry({ ...options, agentFactory: options.agentFactory ?? createEchoAgent });
  const factory = registry.sessionFactory;
  return Object.assign((transport: CallTransport) => factory(transport), { registry });
}

/** One thread's clock, whose tick-handler errors (a bug) are logged the first time and then once per 1000. */
export function createThreadClock(log: Logger): FrameClock {
  let handlerErrors = 0;
  return new FrameClock({
    // the precise timer where there is one: setTimeout's whole milliseconds were most of a pass's lateness
    time: createClockTimeSource(),
    onHandlerError: (err) => {
      if (handlerErrors++ % 1000 === 0) {
        log.error({ event: LogEvent.TICK_HANDLER_ERROR, errKind: ErrorKind.INTERNAL, err, count: handlerErrors }, 'a clock tick handler threw');
      }
    },
  });
}

/** Checks the call engine's settings up front, with messages naming the setting (a session must never throw later). */
function checkConfig(config: CallEngineConfig): void {
  checkLeadFrames(config.playout.leadFrames, 'config.playout.leadFrames');
  const { minTurnMs, maxTurnMs } = config.turns;
  if (!(minTurnMs >= 0)) throw new RangeError(`config.turns.minTurnMs must be >= 0 (got ${minTurnMs})`);
  if (!(maxTurnMs > minTurnMs)) {
    throw new RangeError(`config.turns.maxTurnMs must be greater than minTurnMs (got ${maxTurnMs} <= ${minTurnMs})`);
  }
  for (const key of ['minSpeechMs', 'wordsAfterMs', 'wordsWaitMs'] as const) {
    const value = config.bargeIn[key];
    if (value !== undefined && !(value >= 0)) throw new RangeError(`config.bargeIn.${key} must be >= 0 (got ${value})`);
  }
}
