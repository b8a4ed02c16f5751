// The calls of one edge thread, and what they share: the thread's 20 ms clock, the batched inbound DSP (one
// InboundBatcher, one slot per call, one crossing per clock pass) and the counters reported by /version and metrics.
// A session is registered when its socket opens and removed when it ends (stop, close, idle timeout, hang-up), so
// `activeCalls` returning to zero is the proof that nothing was left behind.
//
// createSessionFactory() builds one thread's engine with a given agent (echo by default); the edge's session module,
// engine-module.ts, loads the configured agent first (createEngineSessionFactory).
import type { Logger } from 'pino';
import { createEchoAgent } from '../agent/echo.js';
import { loadAgentFactory } from '../agent/factory.js';
import type { AgentFactory } from '../agent/types.js';
import { FrameClock } from '../audio/clock.js';
import { InboundBatcher, Vad } from '../audio/dsp.js';
import type { Config } from '../config.js';
import { ErrorKind, LogEvent, log as rootLog } from '../observability/log.js';
import { InboundBatch, type InboundBatcherLike } from './inbound.js';
import { CallSession } from './session.js';
import { createThreadCallStats, type CallEngineConfig, type CallTransport, type SessionFactory, type ThreadCallStats } from './types.js';

export const DEFAULT_MAX_CALLS_PER_THREAD = 4096;
/** Frames one DSP crossing takes; more arriving between two passes are processed in an extra crossing. */
export const DEFAULT_MAX_FRAMES_PER_BATCH = 1024;
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;

export interface CallRegistryOptions {
  /** With the edge's whole Config, ws.idleTimeoutS (WS_IDLE_TIMEOUT_S; 0 = off) is the engine's idle timeout too. */
  config: CallEngineConfig & { agent?: { kind: string }; ws?: { idleTimeoutS: number } };
  /** Default: the echo agent. */
  agentFactory?: AgentFactory;
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
}

export class CallRegistry {
  readonly clock: FrameClock;
  readonly inbound: InboundBatch;
  private readonly counters: ThreadCallStats = createThreadCallStats();
  private readonly sessions = new Set<CallSession>();
  private readonly removePassHook: () => void;
  private readonly createSessionBound: (transport: CallTransport) => CallSession;

  constructor(options: CallRegistryOptions) {
    checkConfig(options.config);
    const maxCalls = options.maxCalls ?? DEFAULT_MAX_CALLS_PER_THREAD;
    const maxFrames = options.maxFramesPerBatch ?? DEFAULT_MAX_FRAMES_PER_BATCH;
    const log = (options.log ?? rootLog).child({ threadIndex: options.threadIndex ?? 0 });
    let clockErrors = 0;
    this.clock = options.clock ?? new FrameClock({
      // a bug; logged the first time and then once per 1000, never 50 lines a second
      onHandlerError: (err) => {
        if (clockErrors++ % 1000 === 0) {
          log.error({ event: LogEvent.CLOCK_LATE, errKind: ErrorKind.INTERNAL, err, count: clockErrors }, 'a clock tick handler threw');
        }
      },
    });
    const batcher = options.batcher ?? new InboundBatcher({ maxSlots: maxCalls, maxFramesPerTick: maxFrames });
    this.inbound = new InboundBatch(batcher, maxFrames, this.counters);
    // The VAD's effective timing (the DSP's defaults where config leaves them out) corrects turn starts and ends.
    const vadOptions = new Vad(options.config.vad).options;
    const deps = {
      config: options.config,
      agentFactory: options.agentFactory ?? createEchoAgent,
      clock: this.clock,
      inbound: this.inbound,
      stats: this.counters,
      log,
      // the VAD counts both in whole 20 ms frames
      vadTiming: { onsetMs: Math.ceil(vadOptions.onsetMs / 20) * 20, hangoverMs: Math.ceil(vadOptions.hangoverMs / 20) * 20 },
      idleTimeoutMs: options.idleTimeoutMs ?? (options.config.ws !== undefined ? options.config.ws.idleTimeoutS * 1000 : DEFAULT_IDLE_TIMEOUT_MS),
      onEnded: (session: CallSession) => {
        this.sessions.delete(session);
      },
    };
    this.createSessionBound = (transport) => {
      const session = new CallSession(deps, transport);
      this.sessions.add(session);
      return session;
    };
    // Inbound first in every pass: a VAD onset can clear a playback before its next frame goes out.
    this.removePassHook = this.clock.addPassHook(() => this.inbound.flush());
  }

  /** The edge's SessionFactory. */
  get sessionFactory(): SessionFactory {
    return this.createSessionBound;
  }

  get activeCalls(): number {
    return this.sessions.size;
  }

  /** Live sessions (tests, drain). */
  get liveSessions(): ReadonlySet<CallSession> {
    return this.sessions;
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
      activeCalls: this.sessions.size,
      clockPasses: clock.passes,
      clockSubTicksMerged: clock.subTicksMerged,
      clockHandlerErrors: clock.handlerErrors,
    };
  }

  /** Ends every call (thread shutdown) and detaches from the clock. */
  shutdown(): void {
    for (const session of [...this.sessions]) session.end('shutdown');
    this.removePassHook();
  }
}

export interface SessionFactoryOptions extends Omit<CallRegistryOptions, 'config'> {
  config: CallRegistryOptions['config'];
}

/** The call engine's SessionFactory, with its registry attached (stats, shutdown). */
export type EngineSessionFactory = SessionFactory & { readonly registry: CallRegistry };

/**
 * Builds one thread's call engine and returns its SessionFactory (with `.registry`), with `options.agentFactory` or
 * the echo agent. A config that asks for the AI agent needs createEngineSessionFactory (it loads the pipeline).
 */
export function createSessionFactory(options: SessionFactoryOptions): EngineSessionFactory {
  if (options.agentFactory === undefined && (options.config as Partial<Config>).agent?.kind === 'openai') {
    throw new TypeError('config.agent.kind is "openai": build the engine with createEngineSessionFactory(), which loads the AI agent');
  }
  const registry = new CallRegistry({ ...options, agentFactory: options.agentFactory ?? createEchoAgent });
  const factory = registry.sessionFactory;
  return Object.assign((transport: CallTransport) => factory(transport), { registry });
}

/** Builds one thread's call engine with the agent its config asks for (the edge's whole Config: echo or the AI pipeline). */
export async function createEngineSessionFactory(options: SessionFactoryOptions): Promise<EngineSessionFactory> {
  const agentFactory = options.agentFactory ?? await loadAgentFactory(options.config as Config);
  return createSessionFactory({ ...options, agentFactory });
}

/** Checks the call engine's settings up front, with messages naming the setting (a session must never throw later). */
function checkConfig(config: CallEngineConfig): void {
  const { leadFrames } = config.playout;
  if (!Number.isInteger(leadFrames) || leadFrames < 0 || leadFrames > 500) {
    throw new RangeError(`config.playout.leadFrames must be an integer from 0 to 500 (got ${leadFrames})`);
  }
  const { minTurnMs, maxTurnMs } = config.turns;
  if (!(minTurnMs >= 0)) throw new RangeError(`config.turns.minTurnMs must be >= 0 (got ${minTurnMs})`);
  if (!(maxTurnMs > minTurnMs)) {
    throw new RangeError(`config.turns.maxTurnMs must be greater than minTurnMs (got ${maxTurnMs} <= ${minTurnMs})`);
  }
  if (!(config.bargeIn.minSpeechMs >= 0)) {
    throw new RangeError(`config.bargeIn.minSpeechMs must be >= 0 (got ${config.bargeIn.minSpeechMs})`);
  }
}
