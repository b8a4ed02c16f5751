// One call's life on its edge thread, from the socket's first message to its last: connected -> started -> stopped.
// The session owns the call's inbound DSP slot, its turn detector, its playout queue and its agent, and it is the
// only writer to the call's transport (through the playout). Time comes from Twilio's media timestamps, not from
// counting frames: Twilio may leave out silent frames, and such a gap is filled with silence before the VAD (when
// no media comes at all, the session feeds silence itself, a little behind real time, so that a turn still ends).
// The timestamps are the caller's claim, so the stream's clock only trusts them forward: a frame is never placed
// before the end of the previous one (a timestamp that stands still or runs back still moves stream time by 20 ms),
// and a jump is filled with at most MAX_GAP_FILL_FRAMES of silence, from a budget that refills at
// GAP_FILL_RATE_PER_TICK times real time; the rest of the jump is skipped (counted), so no message costs the thread
// more than a bounded amount of VAD work.
// The session ends on `stop`, on the socket's close, on idle timeout or on the agent's hang-up, and leaves nothing
// behind: its clock subscription, DSP slot, buffers, in-flight agent work and registry entry all go.
import type { Logger } from 'pino';
import { TURN_AUDIO_BATCH_MS, type Agent, type AgentContext, type AgentFactory, type AgentReport, type BargeInDecision, type BargeInWords, type CallEndReason, type CallerTurn, type CallInfo, type HeardInfo } from './agent-contract.js';
import type { CallCommand, CallEventSink, CommandResult } from './events.js';
import type { CallAudioTaps, StreamAudioTap } from './audio-tap.js';
import type { ClockSubscription, FrameClock } from '../audio/clock.js';
import { ErrorKind, LogEvent, callLogger } from '../observability/log.js';
import type { InboundMessage } from '../twilio/media-messages.js';
import type { InboundBatch, InboundFrameSink } from './inbound.js';
import { Playout } from './playout.js';
import { TurnDetector, type TurnListener } from './turns.js';
import { CloseCode, type CallEngineConfig, type CallSessionHandle, type CallTransport, type ThreadCallStats } from './types.js';
import { FRAME_MS } from '../twilio/media-format.js';

/** A gap longer than this (in frames, 2 s) is filled only with its last part: enough silence for any VAD hangover. */
export const MAX_GAP_FILL_FRAMES = 100;
/** Gap-fill frames the budget regains per clock tick (20 ms): filling never runs faster than 5x real time. */
export const GAP_FILL_RATE_PER_TICK = 5;
/** A timestamp this far (ms) behind the stream's time is counted as a correction (less is jitter). */
const TIMESTAMP_JITTER_MS = FRAME_MS / 2;
/**
 * When no media has arrived for this many ticks, the session itself feeds silence (one frame per tick, this far
 * behind real time), so that a turn still ends when Twilio leaves out every frame after the caller stops talking.
 * Real media that arrives later fills the rest of its gap from its timestamp.
 */
export const MEDIA_WAIT_TICKS = 15;
/** How often (in ticks) a session checks its idle timer: once a second. */
const IDLE_CHECK_TICKS = 50;

export type SessionState = 'connected' | 'started' | 'stopped';

/** What a session needs from its thread (the registry gives it these). */
export interface SessionDeps {
  config: CallEngineConfig;
  agentFactory: AgentFactory;
  clock: FrameClock;
  inbound: InboundBatch;
  stats: ThreadCallStats;
  log: Logger;
  /** The VAD's effective onset and hangover (the DSP's defaults where config leaves them out). */
  vadTiming: { onsetMs: number; hangoverMs: number };
  /** End the call when no message arrived for this long (WS_IDLE_TIMEOUT_S); 0 = never. */
  idleTimeoutMs: number;
  /** Where this call's events go. */
  events: CallEventSink;
  /** The agent's kind, for the record (echo, openai). */
  agentKind: string;
  /** Where each stream's audio is copied for its recording (RECORD_AUDIO=on); null: not recorded. */
  audioTaps: CallAudioTaps | null;
  /** Called once when the stream has started (the callSid is known). */
  onStarted(session: CallSession): void;
  /** Called once when the session has ended. */
  onEnded(session: CallSession): void;
}

/** A goodbye (or a transfer's line) not heard by then is given up on: the hang-up or transfer goes ahead. */
export const LINE_BEFORE_ACTION_TIMEOUT_MS = 15_000;

/** What waits for a line to be heard (its mark back) before it happens. */
interface PendingAction {
  utteranceId: string;
  deadlineMs: number;
  run(): void;
}

export class CallSession implements CallSessionHandle, InboundFrameSink, TurnListener {
  state: SessionState = 'connected';
  streamSid = '';
  callSid = '';
  endReason: CallEndReason | undefined;

  private readonly deps: SessionDeps;
  private readonly transport: CallTransport;
  private log: Logger;
  private readonly subscription: ClockSubscription;
  private slot = -1;
  private playout: Playout | null = null;
  private turns: TurnDetector | null = null;
  private agent: Agent | null = null;
  private context: SessionAgentContext | null = null;
  private readonly callAbort = new AbortController();
  private turnAbort: AbortController | null = null;
  /** Stream time the next media frame is expected at (the stream's time starts at 0 with `start`). */
  private nextMediaMs = 0;
  private hasMedia = false;
  private messagesIn = 0;
  private messagesAtIdleCheck = 0;
  private idleSinceMs: number;
  private ticksToIdleCheck = IDLE_CHECK_TICKS;
  private framesIn = 0;
  private framesInAtLastTick = 0;
  private ticksWithoutMedia = 0;
  /** Silence frames a timestamp jump may still be filled with (refilled on ticks, capped at MAX_GAP_FILL_FRAMES). */
  private gapFillBudget = MAX_GAP_FILL_FRAMES;
  private gapFramesFilled = 0;
  private bargeIns = 0;
  /** Wall time of the accepted start: stream time 0 (records speak wall time). */
  private startedAtEpochMs = 0;
  private commandUtterances = 0;
  /** Recent turns' wall times, so that the text reported later lands on its turn's times (bounded). */
  private readonly turnTimes = new Map<number, { startedAtMs: number; endedAtMs: number }>();
  /** When each recent utterance's first frame went out (wall time), for its record (bounded). */
  private readonly utteranceStarts = new Map<string, number>();
  private pendingAction: PendingAction | null = null;
  /** This stream's recording (null when RECORD_AUDIO is off): one null check on the per-frame paths. */
  private audioTap: StreamAudioTap | null = null;

  constructor(deps: SessionDeps, transport: CallTransport) {
    this.deps = deps;
    this.transport = transport;
    this.log = deps.log;
    this.idleSinceMs = deps.clock.nowMs();
    this.subscription = deps.clock.subscribe(this.onTick);
  }

  get isEnded(): boolean {
    return this.state === 'stopped';
  }

  /** Every parsed message from the edge. Never throws past the agent (its errors are caught and counted). */
  onMessage(msg: InboundMessage): void {
    if (this.state === 'stopped') return;
    this.messagesIn++;
    switch (msg.event) {
      case 'media':
        this.onMedia(msg.payload, msg.timestampMs, msg.track);
        // a due pass goes now, not after the rest of the loop's batch of reads
        this.deps.clock.serveIfDue();
        return;
      case 'connected':
        return;
      case 'start':
        this.onStart(msg.streamSid, msg.start.callSid, msg.start.accountSid, msg.start.customParameters);
        return;
      case 'mark':
        this.onMark(msg.name);
        return;
      case 'dtmf':
        if (this.agent !== null) {
          this.log.debug({ event: LogEvent.WS_DTMF, digit: msg.digit }, 'dtmf');
          this.deps.events.publish({ kind: 'dtmf', callSid: this.callSid, atMs: Date.now(), digit: msg.digit });
          const agent = this.agent;
          this.guard('onDtmf', () => agent.onDtmf(msg.digit));
        }
        return;
      case 'stop':
        this.end('stop');
        return;
    }
  }

  /** The socket closed (from the edge's close handler). */
  onTransportClosed(): void {
    this.end('closed');
  }

  /**
   * Ends the call: releases everything and closes the socket if it is still open. Idempotent. Each release runs even
   * when one before it throws (the first error is rethrown at the end), so a failing step never leaks the call's
   * DSP slot, ring or registry entry.
   */
  end(reason: CallEndReason): void {
    if (this.state === 'stopped') return;
    const wasStarted = this.state === 'started';
    this.state = 'stopped';
    this.endReason = reason;
    const { stats } = this.deps;
    const framesOut = this.playout?.framesSent ?? 0;
    const turns = this.turns?.turns ?? 0;
    let firstError: unknown;
    const step = (fn: () => void): void => {
      try {
        fn();
      } catch (error) {
        firstError ??= error;
      }
    };
    step(() => this.subscription.unsubscribe());
    step(() => {
      const slot = this.slot;
      this.slot = -1;
      if (slot >= 0) this.deps.inbound.freeSlot(slot); // processes this call's pending frames first
    });
    step(() => {
      const turnAbort = this.turnAbort;
      this.turnAbort = null;
      turnAbort?.abort(new Error(`call ended (${reason})`));
    });
    step(() => this.callAbort.abort(new Error(`call ended (${reason})`)));
    step(() => {
      const playout = this.playout;
      this.playout = null;
      playout?.dispose();
    });
    step(() => {
      const tap = this.audioTap;
      this.audioTap = null;
      tap?.close();
    });
    step(() => {
      const turnDetector = this.turns;
      this.turns = null;
      turnDetector?.dispose();
    });
    const agent = this.agent;
    this.agent = null;
    this.context = null;
    this.pendingAction = null;
    if (agent !== null) this.guard('onCallEnd', () => agent.onCallEnd(reason));
    if (wasStarted) {
      step(() => this.deps.events.publish({
        kind: 'call-ended', callSid: this.callSid, atMs: Date.now(), reason, durationMs: Date.now() - this.startedAtEpochMs,
        turns, bargeIns: this.bargeIns,
      }));
    }
    if (reason === 'idle') stats.idleTimeouts++;
    step(() => {
      if (wasStarted || reason !== 'closed') {
        this.log.info({ event: LogEvent.CALL_END, reason, framesIn: this.framesIn, gapFramesFilled: this.gapFramesFilled, framesOut, turns, bargeIns: this.bargeIns }, 'call ended');
      }
    });
    step(() => {
      if (reason !== 'closed' && !this.transport.isClosed) {
        this.transport.close(reason === 'shutdown' ? CloseCode.GOING_AWAY : CloseCode.NORMAL, reason);
      }
    });
    this.deps.onEnded(this);
    if (firstError !== undefined) throw firstError;
  }

  // ---- inbound ----

  private onStart(streamSid: string, callSid: string, accountSid: string, customParameters: Record<string, string>): void {
    if (this.state !== 'connected') return; // a second start (the edge has logged it)
    this.streamSid = streamSid;
    this.callSid = callSid;
    this.log = callLogger(callSid, streamSid, this.deps.log);
    const { config } = this.deps;
    try {
      this.slot = this.deps.inbound.allocSlot(this, config.vad);
    } catch (error) {
      this.log.error({ event: LogEvent.CALL_START_FAILED, errKind: ErrorKind.DSP, err: error }, 'no DSP slot for this call; closing');
      this.transport.close(CloseCode.TRY_AGAIN_LATER, 'server full');
      this.end('closed');
      return;
    }
    this.state = 'started';
    this.startedAtEpochMs = Date.now();
    this.deps.onStarted(this);
    this.audioTap = this.deps.audioTaps?.open(callSid, streamSid, this.deps.clock.nowMs()) ?? null;
    this.playout = new Playout({
      transport: this.transport, streamSid, leadFrames: config.playout.leadFrames, stats: this.deps.stats,
      onUtteranceStarted: this.onUtteranceStarted, nowMs: () => this.deps.clock.nowMs(), audioTap: this.audioTap,
    });
    const call: CallInfo = { callSid, streamSid, accountSid, customParameters };
    let agent: Agent;
    try {
      agent = this.deps.agentFactory(call);
    } catch (error) {
      this.deps.stats.agentErrors++;
      this.log.error({ event: LogEvent.CALL_START_FAILED, errKind: ErrorKind.INTERNAL, err: error }, 'agent factory threw; closing');
      this.end('hang-up');
      return;
    }
    this.agent = agent;
    // an agent that listens while the caller speaks (streaming ASR) is handed each turn's audio in batches
    this.turns = new TurnDetector(
      {
        onsetMs: this.deps.vadTiming.onsetMs,
        hangoverMs: this.deps.vadTiming.hangoverMs,
        minTurnMs: config.turns.minTurnMs,
        maxTurnMs: config.turns.maxTurnMs,
        bargeIn: config.bargeIn,
        audioBatchMs: agent.onTurnAudio !== undefined ? TURN_AUDIO_BATCH_MS : 0,
        // an agent that answers early hears of pauses inside a turn
        pauseMs: agent.onTurnAudio !== undefined && agent.onTurnPaused !== undefined ? agent.turnPauseMs ?? 0 : 0,
      },
      this,
    );
    this.context = new SessionAgentContext(this, call, this.log, this.callAbort.signal);
    this.deps.events.publish({
      kind: 'call-started', callSid, streamSid, accountSid, atMs: this.startedAtEpochMs, customParameters, agent: this.deps.agentKind,
    });
    const context = this.context;
    this.guard('onCallStart', () => agent.onCallStart(context));
  }

  /**
   * Per-frame path: the frame's place on the stream's clock (never before the end of the previous frame), the gap
   * before it filled with silence within the fill budget, then the frame into the thread's batch.
   */
  private onMedia(payload: Uint8Array, timestampMs: number, track: string): void {
    if (this.state !== 'started' || track === 'outbound') return;
    const { inbound, stats } = this.deps;
    const expectedMs = this.nextMediaMs;
    let frameMs = timestampMs;
    if (!(timestampMs >= expectedMs)) {
      // stands still or runs back (or is not a number): the frame still takes the next 20 ms of stream time
      if (!(timestampMs >= expectedMs - TIMESTAMP_JITTER_MS)) stats.timestampsCorrected++;
      frameMs = expectedMs;
    } else {
      const missing = Math.floor((timestampMs - expectedMs + FRAME_MS / 2) / FRAME_MS);
      if (missing > 0) {
        // the budget is a whole number of frames, capped at MAX_GAP_FILL_FRAMES (the per-jump bound too)
        const fill = Math.min(missing, this.gapFillBudget);
        const slot = this.slot;
        for (let k = fill; k > 0; k--) inbound.pushSilence(slot, timestampMs - k * FRAME_MS);
        this.gapFillBudget -= fill;
        this.gapFramesFilled += fill;
        stats.gapFramesFilled += fill;
        if (fill < missing) stats.gapFramesSkipped += missing - fill;
      }
    }
    // the slot is read again: a flush inside the pushes above may have ended this call
    if (this.state !== 'started') return;
    inbound.pushPayload(this.slot, payload, frameMs);
    if (this.audioTap !== null) this.audioTap.onCallerFrame(payload, frameMs);
    this.nextMediaMs = frameMs + FRAME_MS;
    this.hasMedia = true;
    this.framesIn++;
    stats.framesIn++;
  }

  /** Feeds `frames` silence frames where media is overdue (Twilio leaves silent frames out). */
  private fillMissingMedia(frames: number): void {
    const wanted = Math.min(frames, MAX_GAP_FILL_FRAMES);
    let n = 0;
    for (; n < wanted && this.state === 'started'; n++) {
      this.deps.inbound.pushSilence(this.slot, this.nextMediaMs);
      this.nextMediaMs += FRAME_MS;
    }
    this.gapFramesFilled += n;
    this.deps.stats.gapFramesFilled += n;
  }

  /** Per-frame path: a processed frame from the batch. */
  onInboundFrame(event: number, levelDbfs: number, frame: Int16Array, frameStartMs: number): void {
    if (this.state !== 'started') return; // frames flushed while the call ends
    this.turns?.onFrame(event, levelDbfs, frame, frameStartMs);
  }

  private readonly onUtteranceStarted = (utteranceId: string, sentAtMs: number): void => {
    remember(this.utteranceStarts, utteranceId, Date.now());
    const agent = this.agent;
    if (agent?.onUtteranceStarted !== undefined) this.guard('onUtteranceStarted', () => agent.onUtteranceStarted!(utteranceId, sentAtMs));
  };

  private onMark(name: string): void {
    const playout = this.playout;
    if (playout === null) return;
    const result = playout.onMark(name);
    if (result.kind === 'heard') {
      this.log.debug({ event: LogEvent.PLAYOUT_DONE, utteranceId: result.played.utteranceId, frames: result.played.frames }, 'utterance played');
      const agent = this.agent;
      if (agent?.onUtterancePlayed !== undefined) this.guard('onUtterancePlayed', () => agent.onUtterancePlayed!(result.played));
      const pending = this.pendingAction;
      if (pending !== null && pending.utteranceId === result.played.utteranceId) {
        this.pendingAction = null;
        pending.run();
      }
    }
  }

  // ---- turns (TurnListener) ----

  isAgentPlaying(): boolean {
    return this.playout !== null && this.playout.isPlayingAt(this.deps.clock.nowMs());
  }

  onBargeIn(atMs: number, decidedBy: BargeInDecision): void {
    const playout = this.playout;
    if (playout === null) return;
    const heard = playout.clear(this.deps.clock.nowMs(), atMs);
    this.bargeIns++;
    this.deps.stats.bargeIns++;
    if (decidedBy === 'words') this.deps.stats.bargeInsByWords++;
    this.turnAbort?.abort(new Error('barge-in'));
    this.turnAbort = null;
    this.log.info({ event: LogEvent.BARGE_IN, atMs, decidedBy, framesHeard: heard.framesHeard, utterances: heard.utterances }, 'caller spoke over the agent; playback cleared');
    this.deps.events.publish({ kind: 'barge-in', callSid: this.callSid, atMs: Date.now(), framesHeard: heard.framesHeard });
    const agent = this.agent;
    if (agent !== null) this.guard('onBargeIn', () => agent.onBargeIn(heard));
  }

  onTurn(turn: CallerTurn): void {
    const stats = this.deps.stats;
    stats.turns++;
    if (turn.endReason === 'max-length') stats.turnsForcedEnd++;
    // One turn in flight at a time: a newer turn supersedes the previous one's work.
    this.turnAbort?.abort(new Error('superseded by a newer turn'));
    const abort = new AbortController();
    this.turnAbort = abort;
    this.log.info({
      event: LogEvent.CALL_TURN, turnId: turn.turnId, startMs: turn.startMs, endMs: turn.endMs, durationMs: turn.durationMs,
      endReason: turn.endReason, peakDbfs: round1(turn.peakDbfs), meanDbfs: round1(turn.meanDbfs), wasBargeIn: turn.wasBargeIn,
    }, 'caller turn');
    const startedAtMs = this.startedAtEpochMs + turn.startMs;
    const endedAtMs = this.startedAtEpochMs + turn.endMs;
    remember(this.turnTimes, turn.turnId, { startedAtMs, endedAtMs });
    this.deps.events.publish({
      kind: 'caller-turn', callSid: this.callSid, turnId: turn.turnId, atMs: Date.now(), startedAtMs, endedAtMs,
      durationMs: turn.durationMs, endReason: turn.endReason, wasBargeIn: turn.wasBargeIn,
    });
    const agent = this.agent;
    if (agent !== null) this.guard('onTurn', () => agent.onTurn(turn, abort.signal), abort.signal);
  }

  onTurnDropped(durationMs: number, wasBargeIn: boolean): void {
    this.deps.stats.turnsTooShort++;
    const agent = this.agent;
    if (!wasBargeIn || agent?.onBargeInDropped === undefined) return;
    this.log.info({ event: LogEvent.BARGE_IN, durationMs, isDropped: true }, 'the turn that barged in was too short; telling the agent');
    this.guard('onBargeInDropped', () => agent.onBargeInDropped!());
  }

  /** Per-frame path while a barge-in is pending: the agent's word verdict (streaming ASR), without allocating. */
  bargeInWords(): BargeInWords {
    const agent = this.agent;
    if (agent === null || agent.bargeInWords === undefined) return 'unknown';
    try {
      return agent.bargeInWords();
    } catch {
      return 'unknown';
    }
  }

  /** Streaming, once per pending barge-in: the agent is asked to find out the words so far (false: it cannot). */
  askBargeInWords(turnId: number): boolean {
    const agent = this.agent;
    if (agent?.askBargeInWords === undefined) return false;
    try {
      return agent.askBargeInWords(turnId);
    } catch (error) {
      this.onAgentError('askBargeInWords', error, undefined);
      return false;
    }
  }

  // streaming (only for an agent with onTurnAudio: the detector calls these only then); errors are caught and counted

  onTurnStarted(turnId: number, startMs: number, mayAskWords: boolean): void {
    const agent = this.agent;
    if (agent?.onTurnStarted !== undefined) this.guard('onTurnStarted', () => agent.onTurnStarted!(turnId, startMs, mayAskWords));
  }

  /** Per batch (TURN_AUDIO_BATCH_MS), never per frame. */
  onTurnAudio(turnId: number, pcm8k: Int16Array): void {
    const agent = this.agent;
    if (agent?.onTurnAudio === undefined) return;
    try {
      agent.onTurnAudio(turnId, pcm8k);
    } catch (error) {
      this.onAgentError('onTurnAudio', error, undefined);
    }
  }

  onTurnAbandoned(turnId: number): void {
    const agent = this.agent;
    if (agent?.onTurnAbandoned !== undefined) this.guard('onTurnAbandoned', () => agent.onTurnAbandoned!(turnId));
  }

  onTurnPaused(turnId: number, quietSinceMs: number): void {
    const agent = this.agent;
    if (agent?.onTurnPaused !== undefined) this.guard('onTurnPaused', () => agent.onTurnPaused!(turnId, quietSinceMs));
  }

  onTurnResumed(turnId: number): void {
    const agent = this.agent;
    if (agent?.onTurnResumed !== undefined) this.guard('onTurnResumed', () => agent.onTurnResumed!(turnId));
  }

  // ---- outbound and timers ----

  /**
   * Per-frame path: this call's clock tick: the playout's due frames, silence while media is missing, and once a
   * second the idle check.
   */
  private readonly onTick = (tickIndex: number, dueMs: number, nowMs: number, ticksCovered: number): void => {
    this.playout?.onTick(tickIndex, dueMs);
    if (this.audioTap !== null) this.audioTap.onTick(tickIndex, dueMs);
    if (this.gapFillBudget < MAX_GAP_FILL_FRAMES) {
      this.gapFillBudget = Math.min(MAX_GAP_FILL_FRAMES, this.gapFillBudget + GAP_FILL_RATE_PER_TICK * ticksCovered);
    }
    if (this.framesIn !== this.framesInAtLastTick) {
      this.framesInAtLastTick = this.framesIn;
      this.ticksWithoutMedia = 0;
    } else if (this.hasMedia && this.state === 'started') {
      this.ticksWithoutMedia += ticksCovered;
      if (this.ticksWithoutMedia > MEDIA_WAIT_TICKS) this.fillMissingMedia(ticksCovered);
    }
    if (--this.ticksToIdleCheck > 0) return;
    this.ticksToIdleCheck = IDLE_CHECK_TICKS;
    const pending = this.pendingAction;
    if (pending !== null && nowMs >= pending.deadlineMs) {
      this.pendingAction = null;
      this.log.warn({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.TIMEOUT, utteranceId: pending.utteranceId }, 'the line before a hang-up or transfer was not heard in time; going ahead');
      pending.run();
      if (this.state === 'stopped') return;
    }
    if (this.messagesIn !== this.messagesAtIdleCheck) {
      this.messagesAtIdleCheck = this.messagesIn;
      this.idleSinceMs = nowMs;
    } else if (this.deps.idleTimeoutMs > 0 && nowMs - this.idleSinceMs >= this.deps.idleTimeoutMs) {
      this.log.warn({ event: LogEvent.CALL_END, errKind: ErrorKind.TIMEOUT, idleMs: Math.round(nowMs - this.idleSinceMs) }, 'no message for too long; ending the call');
      this.end('idle');
    }
  };

  // ---- commands (the control API, the agent's own actions) ----

  /** Carries out `command` on this call (see src/call/events.ts). Never throws. */
  command(command: CallCommand): CommandResult {
    if (this.state !== 'started') return { ok: false, code: 'call-ended', message: `call ${this.callSid || '(not started)'} is not live` };
    this.log.info({ event: LogEvent.CALL_COMMAND, command: command.kind }, 'call command');
    switch (command.kind) {
      case 'clear':
        this.stopPlayback();
        return { ok: true };
      case 'say': {
        if (!this.sayLine(command.text, `say-${++this.commandUtterances}`)) {
          return { ok: false, code: 'not-supported', message: `the ${this.deps.agentKind} agent cannot speak a line` };
        }
        return { ok: true };
      }
      case 'hang-up': {
        const reason = command.reason ?? 'hang-up';
        this.afterLine(command.goodbye, `goodbye-${++this.commandUtterances}`, () => this.hangUpNow(reason));
        return { ok: true };
      }
      case 'transfer': {
        const { to } = command;
        const isWarm = command.isWarm ?? false;
        const summary = command.summary ?? '';
        this.afterLine(command.line, `transfer-${++this.commandUtterances}`, () => {
          this.deps.events.publish({ kind: 'transfer', callSid: this.callSid, atMs: Date.now(), to, isWarm, summary });
        });
        return { ok: true };
      }
    }
  }

  /** Completes the call: control/ hangs the Twilio call up (the event), and the stream ends here. */
  hangUpNow(reason: string): void {
    if (this.state !== 'started') return;
    this.deps.events.publish({ kind: 'hang-up', callSid: this.callSid, atMs: Date.now(), reason });
    this.end('hang-up');
  }

  /** Runs `action` once `line` (if any, and if the agent can say it) was heard, or at once. */
  private afterLine(line: string | undefined, utteranceId: string, action: () => void): void {
    const text = line?.trim();
    if (text === undefined || text.length === 0 || !this.sayLine(text, utteranceId)) {
      action();
      return;
    }
    this.pendingAction = { utteranceId, deadlineMs: this.deps.clock.nowMs() + LINE_BEFORE_ACTION_TIMEOUT_MS, run: action };
  }

  /** Asks the agent to say `text`; false when it has no voice. */
  private sayLine(text: string, utteranceId: string): boolean {
    const agent = this.agent;
    if (agent === null || agent.say === undefined) return false;
    const say = agent.say.bind(agent);
    this.guard('say', () => say(text, utteranceId).then((isQueued) => {
      // the agent could not say it after all (synthesis failed): what waited for it goes ahead
      if (!isQueued && this.pendingAction?.utteranceId === utteranceId) {
        const pending = this.pendingAction;
        this.pendingAction = null;
        pending.run();
      }
    }));
    return true;
  }

  /** @internal From the agent's context: what it knows of the conversation, as call events. */
  report(report: AgentReport): void {
    if (this.state !== 'started') return;
    const atMs = Date.now();
    const callSid = this.callSid;
    switch (report.kind) {
      case 'caller-text': {
        const times = this.turnTimes.get(report.turnId) ?? { startedAtMs: atMs, endedAtMs: atMs };
        this.deps.events.publish({
          kind: 'caller-turn', callSid, turnId: report.turnId, atMs, startedAtMs: times.startedAtMs, endedAtMs: times.endedAtMs, durationMs: times.endedAtMs - times.startedAtMs,
          endReason: 'transcribed', wasBargeIn: false, text: report.text, ...(report.latencyMs !== undefined ? { latencyMs: report.latencyMs } : {}),
        });
        return;
      }
      case 'agent-said':
        this.deps.events.publish({
          kind: 'agent-said', callSid, utteranceId: report.utteranceId, atMs, startedAtMs: this.utteranceStarts.get(report.utteranceId) ?? atMs, text: report.text,
          heardText: report.heardText, isCut: report.isCut, ...(report.latencyMs !== undefined ? { latencyMs: report.latencyMs } : {}),
        });
        return;
      case 'note':
        this.deps.events.publish({ kind: 'note', callSid, atMs, note: report.note, data: report.data ?? {} });
        return;
      case 'message':
        // a record event of kind `message` (GET /api/calls/{sid} lists it with the call's events)
        this.deps.events.publish({
          kind: 'note', callSid, atMs, note: 'message', data: {
            message: report.message, ...(report.name !== undefined ? { name: report.name } : {}),
            ...(report.callbackNumber !== undefined ? { callbackNumber: report.callbackNumber } : {}),
          },
        });
        return;
    }
  }

  // ---- for the agent context ----

  /** @internal */ playoutOrNull(): Playout | null {
    return this.playout;
  }

  /** @internal */ stopPlayback(): HeardInfo {
    const playout = this.playout;
    if (playout === null) return { atMs: this.nextMediaMs, utterances: [], framesHeard: 0 };
    return playout.clear(this.deps.clock.nowMs(), this.nextMediaMs);
  }

  /** Runs an agent callback; exceptions and rejections are caught, counted and logged (aborts only at debug). */
  private guard(what: string, fn: () => void | Promise<void>, signal?: AbortSignal): void {
    try {
      const result = fn();
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        (result as Promise<void>).then(undefined, (error: unknown) => this.onAgentError(what, error, signal));
      }
    } catch (error) {
      this.onAgentError(what, error, signal);
    }
  }

  private onAgentError(what: string, error: unknown, signal: AbortSignal | undefined): void {
    if (signal?.aborted === true || this.callAbort.signal.aborted) {
      this.log.debug({ event: LogEvent.AGENT_CALLBACK_ERROR, errKind: ErrorKind.ABORTED, where: what, err: error }, 'agent work aborted');
      return;
    }
    this.deps.stats.agentErrors++;
    this.log.error({ event: LogEvent.AGENT_CALLBACK_ERROR, errKind: ErrorKind.INTERNAL, where: what, err: error }, 'agent callback failed');
  }
}

/** The agent's handle on its call; every method is a no-op once the call has ended. */
class SessionAgentContext implements AgentContext {
  constructor(
    private readonly session: CallSession,
    readonly call: CallInfo,
    readonly log: Logger,
    readonly signal: AbortSignal,
  ) {}

  play(mulaw: Uint8Array, utteranceId: string): void {
    this.session.playoutOrNull()?.play(mulaw, utteranceId);
  }

  enqueue(mulaw: Uint8Array, utteranceId: string): void {
    this.session.playoutOrNull()?.enqueue(mulaw, utteranceId);
  }

  endUtterance(utteranceId: string): void {
    this.session.playoutOrNull()?.endUtterance(utteranceId);
  }

  stopPlayback(): HeardInfo {
    return this.session.stopPlayback();
  }

  get isPlaying(): boolean {
    return this.session.isAgentPlaying();
  }

  hangUp(reason?: string): void {
    if (reason !== undefined) this.log.info({ event: LogEvent.CALL_END, reason }, 'agent hangs up');
    this.session.hangUpNow(reason ?? 'agent');
  }

  report(report: AgentReport): void {
    this.session.report(report);
  }

  command(command: CallCommand): CommandResult {
    return this.session.command(command);
  }
}

/** Recent entries only: a call's record needs the last few turns' and utterances' times, not all of them. */
const MAX_REMEMBERED = 16;
function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.set(key, value);
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value as K);
}

function round1(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 10) / 10 : x;
}
