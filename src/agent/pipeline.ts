// The AI agent: per caller turn, turn audio -> 16 kHz WAV (DSP pool) -> transcription -> a streamed reply -> cut
// into sentences as the deltas arrive -> each sentence synthesized while the one before it plays -> 8 kHz mu-law
// frames -> ctx.enqueue, and ctx.endUtterance when the reply is done. A greeting opens the call. A synthesizer that
// streams has each piece of a sentence converted in this thread and enqueued as it arrives (the turn's first audio is
// its first piece); one that cannot gives the whole sentence, converted in one DSP pool job (sentence-audio.ts).
//
// Interruption: every reply (greeting or turn) has its own AbortController joined with the turn's signal and the
// call's, passed down to each provider request, so a barge-in closes the sockets of whatever is in flight.
// The conversation keeps only what the caller heard of a cut reply (HeardInfo: frames heard per utterance; the text
// is cut in heard-text.ts). A reply of which nothing was heard leaves the history.
//
// Failure: every provider call has a time limit; transcription may retry once. On top of those, a caller turn has
// one budget shared by its stages (TURN_DEADLINE_MS, counted from the end of speech; turn-budget.ts): when it runs
// out before the reply's first audio is ready, whatever is in flight is aborted and the fallback plays, so the caller
// hears something within about 2 s of falling silent. Once the first sentence is playing the budget is released and
// later sentences answer only to their stages' own limits (the caller is already hearing the reply). DSP pool jobs
// have a deadline too, and a pool job that times out or is refused counts as a failure of provider "dsp-pool".
// When a provider fails the caller hears a short fallback line (synthesized at call start and cached; a tone when
// synthesis is down) and the call goes on. Every error is logged with its kind and latency; nothing here ever
// rejects to the call engine except what it catches and logs itself.
//
// Whisper invents text on silence and noise: turns too short or too quiet are not sent, and known hallucination
// phrases on a low-energy turn are dropped (hallucinations.ts).
//
// Interruptions that are not (barge-in-hold.ts): a barge-in holds the cut reply until its turn is known; a turn
// over the agent's line that is nothing (too short or quiet, an empty or hallucinated transcript, only a backchannel:
// backchannels.ts) leaves the line alone, or resumes it where the caller stopped hearing it; only a real one cuts it
// (then as before). So a reply is stopped by its turn's signal only until it speaks: a newer turn supersedes it once
// that turn is known to be real (at once when the agent's line is not playing).
// With streaming ASR a pending barge-in asks for its words early (askBargeInWords, at BARGE_IN_WORDS_AFTER_MS of
// speech): the audio so far is committed as a probe (streaming-asr.ts), and its words answer bargeInWords: not a
// backchannel barges in at once, only backchannel words hold it off, nothing (empty, a failure, a known
// hallucination: what ASR makes of a noise) leaves it to the speech time. The turn's own verdict follows as before.
import type { Logger } from 'pino';
import { ErrorKind, LogEvent, logError, type ErrorKindName } from '../observability/log.js';
import { DspJobError } from '../audio/pool.js';
import { FRAME_BYTES } from '../twilio/media-format.js';
import { fallbackAudioNow, prepareFallback, type FallbackSource } from './fallback-audio.js';
import { asrSkipReason, DEFAULT_ENERGY, isKnownHallucination, shouldDropTranscript, type EnergyThresholds } from './hallucinations.js';
import { heardText, type SpokenSentence } from './heard-text.js';
import { speakSentence, UtteranceFrameStreams } from './sentence-audio.js';
import { BackchannelMatcher, defaultBackchannels } from './backchannels.js';
import { audioFrames, audioFromFrame, BargeInHold, keepAudio, letGoAudio, newResumableAudio, resumeFrame, type InterruptionVerdict, type ResumableAudio } from './barge-in-hold.js';
import { TurnLatency, type TurnLatencyObserver, type TurnStage } from './latency.js';
import { DeadlineExceeded } from './provider-call.js';
import { SentenceQueue } from './sentence-queue.js';
import { TurnBudget } from './turn-budget.js';
import type { StreamingAsr, StreamedTranscript } from './streaming-asr.js';
import { SpeculativeReply, type FirstSentencePrefetch, type SpeculationOutcome } from './speculation.js';
import { SentencePrefetch } from './sentence-prefetch.js';
import { SentenceCutter, type SentenceCutterOptions } from './sentences.js';
import { ProviderError, type ChatMessage, type Responder, type ResponderEvent, type SampleRateHz, type SynthesisResult, type Synthesizer, type ToolCallRequest, type Transcriber } from './types.js';
import { type Agent, type AgentContext, type BargeInWords, type CallBrief, type CallEndReason, type CallerTurn, type CallInfo, type HeardInfo, type PlayedInfo } from '../call/agent-contract.js';
import type { CallCommand } from '../call/events.js';
import { toolLinesFor, type ToolLines } from './tools/lines.js';
import type { ToolOutcome, ToolRegistry } from './tools/registry.js';
import type { CallerLookup } from './tools/built-ins.js';

/** A keypad turn ends this long after the last digit (or at '#'). */
export const DTMF_TURN_GAP_MS = 1500;
const MAX_DTMF_DIGITS = 32;
/** A placed call's context as the instructions carry it: one JSON line (its size bounded by the API). */
export function briefContextInstructions(context: Record<string, unknown>): string {
  return `This call was placed by the business. What it is about, from the business's records (use it; do not read it out): ${JSON.stringify(context)}`;
}

/** Caller memory: how many earlier calls go into the instructions, and how long reading them may take. */
const CALLER_MEMORY_CALLS = 3;
const CALLER_MEMORY_TIMEOUT_MS = 1_000;

/** Keypad turns are numbered apart from the VAD's turns (in logs and records). */
const KEYPAD_TURN_ID_BASE = 10_000;

/** Rounds of tool calls one turn may run; a model that asks for more hears the apology instead. */
export const DEFAULT_MAX_TOOL_ROUNDS = 4;
/** Tools still running this long after they started: the caller hears the filler line (once per turn). */
export const DEFAULT_FILLER_AFTER_MS = 700;
/** The filler plays at least this long before the turn's budget would run out (so that it, not the fallback, is heard). */
const FILLER_BUDGET_MARGIN_MS = 100;

/** Replies whose first frame is awaited at once (normally one; more only when playback was stopped without a clear report). */
const MAX_AWAITING_FIRST_FRAME = 8;

/** The DSP pool's bulk jobs the pipeline uses (src/audio/pool.ts DspPool); `signal` aborts a job (the turn's). */
export interface PipelineAudio {
  utteranceToWav16k(pcm8k: Int16Array, signal?: AbortSignal): Promise<Uint8Array>;
  pcmToMulawFrames(pcm: Int16Array, rateHz: SampleRateHz, signal?: AbortSignal): Promise<Uint8Array>;
}

/** The provider label under which DSP pool failures are logged and counted. */
export const DSP_POOL_PROVIDER = 'dsp-pool';

export interface PipelineOptions {
  transcriber: Transcriber;
  /**
   * Streaming transcription for this call (one per call; streaming-asr.ts): the agent then hears each turn while it
   * is spoken and `transcriber` is its fallback. Undefined: batch only.
   */
  streamingAsr?: StreamingAsr | undefined;
  /**
   * EARLY_REPLY_PAUSE_MS, with streaming ASR: at a quiet stretch this long inside a turn, the words so far are
   * committed and the reply asked for speculatively (speculation.ts); used if the pause becomes the turn's end,
   * thrown away (never played) if the caller goes on. 0 or undefined: off.
   */
  earlyReplyPauseMs?: number;
  /**
   * EARLY_REPLY_AUDIO: an early reply's first sentence is synthesized while the reply is held (sentence-prefetch.ts),
   * so that its audio is ready when the pause becomes the turn's end; a reply thrown away costs its TTS request.
   * Default true.
   */
  earlyReplyAudio?: boolean;
  /** Told of each speculative reply's fate (metrics). */
  onSpeculation?: (outcome: SpeculationOutcome) => void;
  responder: Responder;
  synthesizer: Synthesizer;
  audio: PipelineAudio;
  systemPrompt: string;
  /** Spoken at call start; none when undefined or empty. */
  greeting?: string | undefined;
  /**
   * Caller memory (the agent file's callerMemory): this number's earlier calls, read at call start, join the
   * instructions before the first reply. Undefined: off.
   */
  callerMemory?: CallerLookup;
  /** A placed call's brief (undefined for other calls): its greeting replaces ours, its context joins the instructions. */
  briefFor?: (call: CallInfo) => Promise<CallBrief | undefined>;
  /** The transcriber's language code (Whisper "he"). */
  asrLanguage: string;
  /** The fallback line's text (see fallback-audio.ts for defaults per language). */
  fallbackLine: string;
  /** Cache key part for the fallback line (voice, encoding). */
  fallbackVariant?: string;
  /** Time limit for synthesizing the fallback line at call start. */
  fallbackTimeoutMs: number;
  /** The VAD hangover: the agent hears of a turn this long after the speech ended (latency origin). */
  hangoverMs?: number;
  /**
   * TURN_DEADLINE_MS: the budget all of a turn's stages share until its first audio is ready, counted from the end
   * of speech (the turn reaching the agent less hangoverMs). Undefined: the stages' own limits only.
   */
  turnDeadlineMs?: number;
  /** Turns shorter than this are not transcribed (default DEFAULT_MIN_ASR_TURN_MS, 300 ms). */
  minAsrTurnMs?: number;
  /** Turns whose loudest frame is quieter than this are not transcribed (default DEFAULT_MIN_PEAK_DBFS, -45 dBFS). */
  minPeakDbfs?: number;
  /** A turn with a mean level below this (or a peak below lowEnergyPeakDbfs) is low-energy (default -42 dBFS). */
  lowEnergyMeanDbfs?: number;
  lowEnergyPeakDbfs?: number;
  /** Messages kept besides the system prompt (default 24). */
  maxHistoryMessages?: number;
  cutter?: SentenceCutterOptions;
  /** Told of each failed provider call (metrics). */
  onProviderError?: (provider: string, kind: ErrorKindName) => void;
  /** Told of each turn's latency at each stage, in ms since the end of speech (metrics). */
  onTurnLatency?: TurnLatencyObserver;
  /** The functions the model may call (none: plain replies, as before tools). */
  tools?: ToolRegistry;
  /** The call's language code (he, en-US): the tool loop's own lines (filler, goodbye, ...) are chosen by it. */
  languageCode?: string;
  /** Rounds of tool calls per turn (default DEFAULT_MAX_TOOL_ROUNDS). */
  maxToolRounds?: number;
  /** Tools still running after this long: the filler line (default DEFAULT_FILLER_AFTER_MS). */
  fillerAfterMs?: number;
  /** A barge-in that turns out to be nothing resumes the line (BARGE_IN_RESUME; default true). */
  resumeAfterFalseBargeIn?: boolean;
  /** Phrases that only say "I'm listening" (default: the language's, backchannels.ts). */
  backchannels?: readonly string[];
  /** A held reply with no verdict after this long is cut (default MAX_HOLD_MS). */
  maxHoldMs?: number;
  /**
   * Real words said over the agent's line without enough speech to barge in (a short "no", "רגע") stop the line once
   * transcribed, as a barge-in would (BARGE_IN; default true). False: the line plays on, the answer follows it.
   */
  stopLineOnWords?: boolean;
  /** Told what became of each line the caller spoke over (metrics). */
  onInterruption?: (verdict: InterruptionVerdict) => void;
}

/** What one turn's tool loop has done so far. */
interface TurnProgress {
  /** Reply sentences queued (the filler not counted). */
  sentences: number;
  /** The filler played (at most once per turn). */
  hasFiller: boolean;
  /** The call's last action, asked for by a tool (end_call, transfer_call). */
  finish: CallCommand | undefined;
}

/** An utterance the agent produced: its sentences as enqueued, and its message in the history (if any). */
interface SpokenUtterance extends ResumableAudio {
  id: string;
  sentences: SpokenSentence[];
  message: ChatMessage | undefined;
  /** The id the playout knows it by: `id`, then `id~r1`, ... after each resume. */
  playId: string;
  /** Frames of the utterance before playId's first frame (where the last resume started). */
  baseFrames: number;
  resumes: number;
  /** No more audio is coming (the pipeline ended it). */
  isEnded: boolean;
}

/** Utterances that keep their audio for a resume (the latest few: older ones have been heard or cut). */
const MAX_RESUMABLE_UTTERANCES = 4;

export class PipelineAgent implements Agent {
  private readonly options: PipelineOptions;
  private readonly thresholds: EnergyThresholds;
  private ctx: AgentContext | null = null;
  private dtmfDigits = '';
  private dtmfTimer: NodeJS.Timeout | null = null;
  private keypadTurns = 0;
  private log: Logger | undefined;
  /** The conversation without the system prompt. */
  readonly history: ChatMessage[] = [];
  private readonly spoken = new Map<string, SpokenUtterance>();
  /** Replies whose first frame has not been written to Twilio yet: their turn's latency waits for first_frame. */
  private readonly awaitingFirstFrame = new Map<string, TurnLatency>();
  private reply: AbortController | null = null;
  private fallbacks = 0;
  private readonly fallbackSource: FallbackSource;
  /** This call's own instructions (a placed call's context), after the system prompt. */
  private callInstructions: string | undefined;
  /** The caller's earlier calls, for the instructions; read at call start, awaited (bounded) by the first reply. */
  private callerHistory: Promise<string | undefined> = Promise.resolve(undefined);
  private callerHistoryText: string | undefined;
  /** The tool loop's own lines in the call's language; the filler is synthesized once and cached like the fallback. */
  private readonly toolLines: ToolLines;
  private readonly fillerSource: FallbackSource;
  private readonly backchannels: BackchannelMatcher;
  /** A barge-in's cleared utterances, until its turn is known (barge-in-hold.ts). */
  private held: BargeInHold<SpokenUtterance> | undefined;

  // present only with streaming ASR (the engine hands turn audio only to an agent that has onTurnAudio)
  onTurnStarted?: (turnId: number, startMs: number, mayAskWords: boolean) => void;
  onTurnAudio?: (turnId: number, pcm8k: Int16Array) => void;
  onTurnAbandoned?: (turnId: number) => void;
  // present only with streaming ASR and early replies on
  onTurnPaused?: (turnId: number, quietSinceMs: number) => void;
  onTurnResumed?: (turnId: number) => void;
  readonly turnPauseMs?: number;
  // present only with streaming ASR: a pending barge-in's words (askBargeInWords commits them early)
  askBargeInWords?: (turnId: number) => boolean;
  bargeInWords?: () => BargeInWords;
  /** What the current turn's barge-in probe said; 'unknown' until one is asked for. */
  private bargeInVerdict: BargeInWords = 'unknown';
  /** Probes asked for: an answer counts only while its probe is the latest (a new turn starts over). */
  private bargeInProbes = 0;
  /** The reply asked for at the current turn's last pause (early replies). */
  private speculation: { turnId: number; reply: SpeculativeReply | undefined } | null = null;

  constructor(options: PipelineOptions) {
    this.options = options;
    const streaming = options.streamingAsr;
    if (streaming !== undefined) {
      this.onTurnStarted = (turnId, _startMs, mayAskWords) => {
        this.dropSpeculation('a new turn');
        this.endBargeInProbe();
        streaming.onTurnStarted(turnId, mayAskWords);
      };
      this.onTurnAudio = (turnId, pcm8k) => streaming.onTurnAudio(turnId, pcm8k);
      this.onTurnAbandoned = (turnId) => {
        this.dropSpeculation('the turn was too short');
        this.endBargeInProbe();
        streaming.onTurnAbandoned(turnId);
      };
      this.askBargeInWords = (turnId) => this.probeBargeIn(turnId, streaming);
      // per frame while a barge-in is pending: a field read, no allocation
      this.bargeInWords = () => this.bargeInVerdict;
      const pauseMs = options.earlyReplyPauseMs ?? 0;
      if (pauseMs > 0) {
        this.turnPauseMs = pauseMs;
        this.onTurnPaused = (turnId) => this.speculate(turnId, streaming);
        this.onTurnResumed = (turnId) => {
          streaming.onTurnResumed(turnId);
          this.dropSpeculation('the caller went on');
        };
      }
    }
    this.thresholds = {
      lowEnergyMeanDbfs: options.lowEnergyMeanDbfs ?? DEFAULT_ENERGY.lowEnergyMeanDbfs,
      lowEnergyPeakDbfs: options.lowEnergyPeakDbfs ?? DEFAULT_ENERGY.lowEnergyPeakDbfs,
    };
    this.fallbackSource = {
      synthesizer: options.synthesizer,
      toMulaw: (result) => this.toMulaw(result),
      text: options.fallbackLine,
      ...(options.fallbackVariant !== undefined ? { variant: options.fallbackVariant } : {}),
    };
    this.toolLines = toolLinesFor(options.languageCode ?? options.asrLanguage);
    this.fillerSource = { ...this.fallbackSource, text: this.toolLines.filler };
    this.backchannels = new BackchannelMatcher(options.backchannels ?? defaultBackchannels(options.languageCode ?? options.asrLanguage));
  }

  /** Which providers this agent uses (logs, tests). */
  get providers(): { transcriber: string; responder: string; synthesizer: string } {
    return { transcriber: this.options.transcriber.name, responder: this.options.responder.name, synthesizer: this.options.synthesizer.name };
  }

  /** The messages the next reply would be asked with (system prompt first). */
  messages(): ChatMessage[] {
    const system = [this.options.systemPrompt, this.callInstructions, this.callerHistoryText].filter((part) => part !== undefined).join('\n\n');
    return [{ role: 'system', content: system }, ...this.history];
  }

  async onCallStart(ctx: AgentContext): Promise<void> {
    this.ctx = ctx;
    this.log = ctx.log;
    this.options.streamingAsr?.open(ctx.log);
    // the fallback line is ready (cached) before anything can fail; never rejects
    void prepareFallback(this.fallbackSource, this.options.fallbackTimeoutMs);
    if (this.hasTools) void prepareFallback(this.fillerSource, this.options.fallbackTimeoutMs);
    this.callerHistory = this.readCallerHistory(ctx);
    const brief = await this.briefOf(ctx);
    if (ctx.signal.aborted) return;
    if (brief?.context !== undefined) this.callInstructions = briefContextInstructions(brief.context);
    const greeting = (brief?.greeting ?? this.options.greeting)?.trim();
    if (greeting === undefined || greeting.length === 0) return;
    const reply = this.newReply(ctx.signal);
    const utteranceId = 'greeting';
    try {
      const spoken = await this.speak(() => singleSentence(greeting), utteranceId, reply.signal, undefined, 'greeting');
      if (spoken > 0) ctx.log.info({ event: LogEvent.AGENT_GREETING, text: greeting }, 'greeting');
    } catch (error) {
      this.onFailure(error, 'greeting', reply.signal, undefined);
    } finally {
      if (this.reply === reply.controller) this.reply = null;
    }
  }

  /**
   * With caller memory on, an inbound caller's last calls (from the records) as a few lines for the instructions;
   * undefined when off, for an outbound call (its From is our own number), when there are none, or when the read
   * fails or takes longer than CALLER_MEMORY_TIMEOUT_MS. Never rejects.
   */
  private async readCallerHistory(ctx: AgentContext): Promise<string | undefined> {
    const lookup = this.options.callerMemory;
    const from = ctx.call.customParameters['from'];
    if (lookup === undefined || from === undefined || from.length === 0 || ctx.call.customParameters['direction'] === 'outbound') return undefined;
    // a timer of our own (a timeout signal combined with AbortSignal.any can be collected before it fires)
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error('caller memory: read timed out')), CALLER_MEMORY_TIMEOUT_MS);
    const signal = AbortSignal.any([ctx.signal, deadline.signal]);
    try {
      // the read may not stop at its signal (it is a question to the main thread): the wait for it does
      const found = await Promise.race([lookup(from, CALLER_MEMORY_CALLS + 1, signal), abortedOf(signal)]);
      if (found === undefined) {
        if (!ctx.signal.aborted) ctx.log.warn({ event: LogEvent.CALLER_MEMORY, timeoutMs: CALLER_MEMORY_TIMEOUT_MS }, 'caller memory: the earlier calls were not read in time; answering without them');
        return undefined;
      }
      const calls = found.filter((call) => call.callSid !== ctx.call.callSid).slice(0, CALLER_MEMORY_CALLS);
      if (calls.length === 0) return undefined;
      const lines = calls.map((call) => `- ${call.at.slice(0, 16).replace('T', ' ')} UTC: ${call.summary.length > 0 ? call.summary : '(nothing recorded)'}`);
      return `This caller (${from}) called before; their latest calls, newest first:\n${lines.join('\n')}`;
    } catch (error) {
      ctx.log.warn({ event: LogEvent.CALLER_MEMORY, err: error }, 'caller memory: the earlier calls could not be read; answering without them');
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /** The brief of a call placed through the API; undefined for any other, or when it cannot be read. */
  private async briefOf(ctx: AgentContext): Promise<CallBrief | undefined> {
    const briefFor = this.options.briefFor;
    if (briefFor === undefined) return undefined;
    try {
      return await briefFor(ctx.call);
    } catch (error) {
      ctx.log.warn({ event: LogEvent.AGENT_GREETING, err: error }, "the placed call's brief could not be read; starting without it");
      return undefined;
    }
  }

  async onTurn(turn: CallerTurn, turnSignal: AbortSignal): Promise<void> {
    this.endBargeInProbe(); // the turn is over: its barge-in (if any) was decided
    const ctx = this.ctx;
    if (ctx === null || turnSignal.aborted) return;
    const log = ctx.log;
    const latency = new TurnLatency(this.options.hangoverMs ?? 0, this.options.onTurnLatency);
    // Over the agent's line (playing, or held by a barge-in) the turn may be nothing: the line is left alone until
    // its words are known. Otherwise it supersedes the reply in flight at once, as it always did.
    const isOverLine = this.held !== undefined || ctx.isPlaying;
    let reply = isOverLine ? undefined : this.newReply(ctx.signal);
    // the turn's own work (ASR): stopped by a newer turn, the call's end, or (when it has one) its reply's abort
    const turnWork = AbortSignal.any([turnSignal, reply?.signal ?? ctx.signal]);
    const budget = this.options.turnDeadlineMs !== undefined ? new TurnBudget(latency.originMs, this.options.turnDeadlineMs) : undefined;
    const stageSignal = budget !== undefined ? AbortSignal.any([turnWork, budget.signal]) : turnWork;
    let stage = 'asr';
    try {
      // 1. too short or too quiet: Whisper would invent something
      const skipReason = asrSkipReason(turn, this.options.minAsrTurnMs, this.options.minPeakDbfs);
      if (skipReason !== undefined) {
        this.options.streamingAsr?.discard(turn.turnId);
        log.info({ event: LogEvent.ASR_SKIP, turnId: turn.turnId, durationMs: turn.durationMs, peakDbfs: round1(turn.peakDbfs),
          reason: skipReason }, 'turn not transcribed');
        this.nothingSaid(turn.turnId, skipReason);
        return;
      }
      // 2-3. the transcript: streamed while the caller spoke, or (not streamed, late, failed) the batch upload of
      // the turn as a 16 kHz WAV built in the pool (the turn's buffer is ours: it is transferred)
      const asrStartMs = performance.now();
      const batch = async (batchSignal: AbortSignal): Promise<string> => {
        const wav16k = await this.options.audio.utteranceToWav16k(turn.pcm8k, batchSignal);
        return this.options.transcriber.transcribe({
          wav16k, language: this.options.asrLanguage, signal: batchSignal, ...(budget !== undefined ? { deadlineAtMs: budget.deadlineAtMs } : {}),
        });
      };
      const streaming = this.options.streamingAsr;
      const transcript: StreamedTranscript = streaming !== undefined
        ? await streaming.transcribe(turn.turnId, stageSignal, batch)
        : { text: await batch(stageSignal), via: 'batch' };
      const text = transcript.text;
      if (turnWork.aborted) return;
      if (transcript.fallbackReason !== undefined && transcript.fallbackReason !== 'not-streamed') {
        log.warn({ event: LogEvent.ASR_STREAM, turnId: turn.turnId, reason: transcript.fallbackReason, provider: this.options.transcriber.name },
          'the streamed transcript failed or was late; the batch upload answered');
      }
      latency.mark('transcript');
      const asrMs = Math.round(performance.now() - asrStartMs);
      const attempts = transcript.via === 'batch' ? (this.options.transcriber as { lastAttempts?: number }).lastAttempts : undefined;
      const provider = transcript.via === 'stream' ? streaming?.socket.name : this.options.transcriber.name;
      if (shouldDropTranscript(text, turn, this.thresholds)) {
        const reason = text.trim().length === 0 ? 'empty' : 'hallucination';
        log.info({ event: LogEvent.ASR_SKIP, turnId: turn.turnId, text, meanDbfs: round1(turn.meanDbfs), peakDbfs: round1(turn.peakDbfs),
          reason, asrMs }, 'transcript dropped');
        this.nothingSaid(turn.turnId, reason);
        return;
      }
      if (isOverLine && this.backchannels.isBackchannel(text)) {
        // "uh-huh" over the agent: listening, not taking the turn (in the record, not answered)
        log.info({ event: LogEvent.ASR_SKIP, turnId: turn.turnId, text, reason: 'backchannel', asrMs }, 'backchannel over the agent; not answered');
        ctx.report({ kind: 'caller-text', turnId: turn.turnId, text });
        this.nothingSaid(turn.turnId, 'backchannel');
        return;
      }
      // a real turn: it cuts the held line (if any) and supersedes the reply in flight; a line still playing (the
      // words were too short to barge in) stops now, and the history keeps what was heard of it
      if (isOverLine && this.held === undefined && ctx.isPlaying && this.options.stopLineOnWords !== false) {
        log.info({ event: LogEvent.BARGE_IN, turnId: turn.turnId, text }, 'real words over the agent; the line stops');
        this.cutHeard(ctx.stopPlayback());
        this.countInterruption('stopped_by_words');
      }
      reply ??= this.newReply(ctx.signal);
      // asked for at the pause that became this turn's end, on the conversation as it is now: already on its way
      const early = await this.takeSpeculation(turn.turnId, text);
      if (turnWork.aborted || reply.signal.aborted) {
        early?.discard('the turn was aborted');
        return;
      }
      log.info({ event: LogEvent.ASR_TEXT, turnId: turn.turnId, text, language: this.options.asrLanguage, provider, via: transcript.via,
        ...(transcript.fallbackReason !== undefined ? { fallbackReason: transcript.fallbackReason } : {}), asrMs, ...(attempts !== undefined ? { attempts } : {}), ...latency.fields() }, 'caller said');
      ctx.report({ kind: 'caller-text', turnId: turn.turnId, text, latencyMs: Math.round(performance.now() - latency.originMs) });
      this.remember({ role: 'user', content: text });
      // 4-6. the reply, streamed, cut, synthesized and played sentence by sentence
      stage = 'reply';
      await this.reply_(`reply-${turn.turnId}`, turn.turnId, reply.signal, latency, budget, early);
    } catch (error) {
      // a turn whose words cannot be known is taken as real: the held line is cut (the fallback follows)
      if (reply === undefined && !turnWork.aborted) this.cutHeld();
      this.onFailure(error, stage, reply?.signal ?? turnWork, turn.turnId, latency);
    } finally {
      // skipped, dropped, failed or aborted before its words were compared: an early reply for it is not wanted
      if (this.speculation?.turnId === turn.turnId) this.dropSpeculation('the turn has no reply of its own');
      budget?.release();
      if (reply !== undefined && this.reply === reply.controller) this.reply = null;
    }
  }

  /** A turn that said nothing: a line it held (after a barge-in) resumes; one still playing just goes on. */
  private nothingSaid(turnId: number, reason: string): void {
    if (this.held !== undefined) this.resumeHeld(`turn ${turnId}: ${reason}`);
  }

  /**
   * Digits pressed are a caller turn: collected until '#' or DTMF_TURN_GAP_MS without a digit, then answered like
   * words (the model is told they came from the keypad).
   */
  onDtmf(digit: string): void {
    this.log?.info({ event: LogEvent.WS_DTMF, digit, agent: 'ai' }, 'dtmf digit');
    if (this.dtmfTimer !== null) clearTimeout(this.dtmfTimer);
    this.dtmfTimer = null;
    if (digit !== '#') this.dtmfDigits += digit;
    if (digit === '#' || this.dtmfDigits.length >= MAX_DTMF_DIGITS) {
      this.onKeypadTurn();
      return;
    }
    this.dtmfTimer = setTimeout(() => this.onKeypadTurn(), DTMF_TURN_GAP_MS);
    this.dtmfTimer.unref?.();
  }

  /** Says `text` as a command asked (a goodbye, a line before a transfer, the API's say). */
  async say(text: string, utteranceId: string): Promise<boolean> {
    const ctx = this.ctx;
    if (ctx === null) return false;
    const reply = this.newReply(ctx.signal);
    try {
      return (await this.speak(() => singleSentence(text), utteranceId, reply.signal, undefined, 'command')) > 0;
    } catch (error) {
      this.logProviderFailure(error, `say ${utteranceId}`);
      return false;
    } finally {
      if (this.reply === reply.controller) this.reply = null;
    }
  }

  /**
   * Early replies, at a pause inside turn `turnId`: the words so far are committed, and once they are known the
   * reply to them is asked for and held (speculation.ts). Never throws; a failure only means no early reply.
   */
  private speculate(turnId: number, streaming: StreamingAsr): void {
    const ctx = this.ctx;
    if (ctx === null) return;
    const words = streaming.commitSegment(turnId);
    if (words === undefined) return;
    this.dropSpeculation('a later pause');
    const entry: { turnId: number; reply: SpeculativeReply | undefined } = { turnId, reply: undefined };
    this.speculation = entry;
    void (async () => {
      try {
        const text = await words;
        if (this.callerHistoryText === undefined) this.callerHistoryText = await this.callerHistory;
        if (this.speculation !== entry || this.ctx !== ctx || text.trim().length === 0) return;
        const messages = this.messages();
        const definitions = this.hasTools ? this.options.tools?.definitions() ?? [] : [];
        entry.reply = new SpeculativeReply(this.options.responder, [...messages, { role: 'user', content: text }], text, conversationKeyOf(messages),
          ctx.signal, definitions.length > 0 ? { tools: definitions } : undefined, {}, this.firstSentencePrefetch());
        ctx.log.debug({ event: LogEvent.EARLY_REPLY, turnId, text }, 'reply asked for at a pause');
      } catch (error) {
        // the segment's transcript failed: the turn's end answers as usual (the batch route included)
        ctx.log.debug({ event: LogEvent.EARLY_REPLY, turnId, err: error }, 'no early reply: the pause\'s words failed');
      }
    })();
  }

  /**
   * A barge-in pending over the agent's line (streaming ASR): the turn's audio so far is committed early as a probe,
   * and its words become bargeInWords' answer. False when the turn cannot be probed. Never throws.
   */
  private probeBargeIn(turnId: number, streaming: StreamingAsr): boolean {
    const words = streaming.commitBargeInProbe(turnId);
    if (words === undefined) return false;
    const probe = ++this.bargeInProbes;
    this.bargeInVerdict = 'pending';
    const askedAtMs = performance.now();
    words.then((text) => {
      if (probe !== this.bargeInProbes) return;
      this.bargeInVerdict = this.verdictOfWords(text);
      this.log?.info({ event: LogEvent.BARGE_IN, turnId, text, words: this.bargeInVerdict, probeMs: Math.round(performance.now() - askedAtMs) },
        "the words spoken over the agent so far");
    }, (error: unknown) => {
      if (probe !== this.bargeInProbes) return;
      this.bargeInVerdict = 'unknown';
      this.log?.info({ event: LogEvent.BARGE_IN, turnId, err: error }, 'the words spoken over the agent are not known; the speech time decides');
    });
    return true;
  }

  /** What a probe's words say about the barge-in. */
  private verdictOfWords(text: string): BargeInWords {
    if (text.trim().length === 0) return 'unknown';
    if (this.backchannels.isBackchannel(text)) return 'backchannel';
    // what ASR makes of a noise ("thank you", "you") must not cut the agent off at once: the speech time decides
    if (isKnownHallucination(text)) return 'unknown';
    return 'words';
  }

  /** The current probe's answer, if it comes, no longer counts. */
  private endBargeInProbe(): void {
    this.bargeInProbes++;
    this.bargeInVerdict = 'unknown';
  }

  /** How an early reply synthesizes its first sentence ahead (undefined when that is off: EARLY_REPLY_AUDIO). */
  private firstSentencePrefetch(): FirstSentencePrefetch | undefined {
    if (this.options.earlyReplyAudio === false) return undefined;
    const deps = { synthesizer: this.options.synthesizer, toMulaw: (result: SynthesisResult, s: AbortSignal) => this.toMulaw(result, s) };
    return { cutter: new SentenceCutter(this.options.cutter), start: (sentence, signal) => new SentencePrefetch(sentence, signal, deps) };
  }

  /** The speculation for this turn if it answers its final words on the conversation as it is now; else dropped. */
  private async takeSpeculation(turnId: number, text: string): Promise<SpeculativeReply | undefined> {
    const entry = this.speculation;
    if (entry === null || entry.turnId !== turnId) return undefined;
    this.speculation = null;
    const reply = entry.reply;
    if (reply === undefined) {
      this.options.onSpeculation?.('discarded');
      return undefined;
    }
    if (this.callerHistoryText === undefined) this.callerHistoryText = await this.callerHistory;
    if (!reply.answers(text, conversationKeyOf(this.messages()))) {
      reply.discard('the turn\'s words differ');
      this.countSpeculation('discarded', turnId, 'the final words or the conversation differ');
      return undefined;
    }
    this.countSpeculation('used', turnId, undefined, Math.round(performance.now() - reply.startedAtMs));
    return reply;
  }

  private dropSpeculation(reason: string): void {
    const entry = this.speculation;
    if (entry === null) return;
    this.speculation = null;
    entry.reply?.discard(reason);
    this.countSpeculation('discarded', entry.turnId, reason);
  }

  private countSpeculation(outcome: SpeculationOutcome, turnId: number, reason?: string, aheadMs?: number): void {
    this.options.onSpeculation?.(outcome);
    this.log?.info({ event: LogEvent.EARLY_REPLY, turnId, outcome, ...(reason !== undefined ? { reason } : {}), ...(aheadMs !== undefined ? { aheadMs } : {}) },
      outcome === 'used' ? 'the reply asked for at the pause is used' : 'the reply asked for at a pause is thrown away');
  }

  onBargeIn(heard: HeardInfo): void {
    this.cutHeld();
    for (const progress of heard.utterances) this.awaitingFirstFrame.delete(progress.utteranceId);
    if (this.holdCleared(heard)) return;
    this.cutHeard(heard);
    this.countInterruption('cut');
  }

  private countInterruption(verdict: InterruptionVerdict): void {
    try {
      this.options.onInterruption?.(verdict);
    } catch {
      // metrics must not break a call
    }
  }

  /** The reply stops, and the history keeps what was heard of each utterance that was cleared. */
  private cutHeard(heard: HeardInfo): void {
    this.reply?.abort(new Error('barge-in'));
    this.reply = null;
    for (const progress of heard.utterances) {
      this.awaitingFirstFrame.delete(progress.utteranceId);
      const utterance = this.spoken.get(progress.utteranceId);
      if (utterance === undefined) continue;
      this.truncate(utterance, utterance.baseFrames + progress.framesHeard);
    }
  }

  /** The turn that barged in was too short to keep: nothing was said, the held line resumes. */
  onBargeInDropped(): void {
    if (this.held !== undefined) this.resumeHeld('the turn was too short');
  }

  /**
   * Holds what a barge-in cleared instead of cutting it (barge-in-hold.ts), when resuming is on and every cleared
   * utterance of ours can be resumed and something of them was not heard yet. False: cut as before.
   */
  private holdCleared(heard: HeardInfo): boolean {
    if (this.options.resumeAfterFalseBargeIn === false || this.ctx === null) return false;
    const entries: { utterance: SpokenUtterance; framesHeard: number }[] = [];
    let isAllHeard = true;
    for (const progress of heard.utterances) {
      const utterance = this.spoken.get(progress.utteranceId);
      if (utterance === undefined) continue; // a filler or fallback line: not resumed
      if (!utterance.isResumable) return false;
      const framesHeard = utterance.baseFrames + progress.framesHeard;
      if (!utterance.isEnded || framesHeard < audioFrames(utterance)) isAllHeard = false;
      entries.push({ utterance, framesHeard });
    }
    if (entries.length === 0 || isAllHeard) return false;
    const hold = new BargeInHold<SpokenUtterance>(() => {
      if (this.held !== hold) return;
      this.log?.info({ event: LogEvent.BARGE_IN, heldMs: Math.round(performance.now() - hold.startedAtMs) }, 'no verdict on the barge-in in time; the held reply is cut');
      this.cutHeld('expired');
    }, this.options.maxHoldMs);
    for (const entry of entries) hold.add(entry.utterance, entry.framesHeard);
    this.held = hold;
    this.log?.info({ event: LogEvent.BARGE_IN, isHeld: true, utterances: entries.map((e) => ({ utteranceId: e.utterance.id, framesHeard: e.framesHeard })) },
      'reply held until the interruption is known');
    return true;
  }

  /** The held line was interrupted for real: the reply stops and the history keeps what was heard (as before holds). */
  private cutHeld(verdict: InterruptionVerdict = 'cut'): void {
    const hold = this.held;
    if (hold === undefined) return;
    this.held = undefined;
    hold.end();
    this.countInterruption(verdict);
    this.reply?.abort(new Error('barge-in'));
    this.reply = null;
    for (const { item, framesHeard } of hold.entries) this.truncate(item, framesHeard);
  }

  /** The interruption was nothing: each held utterance plays again from a little before the caller's last heard frame. */
  private resumeHeld(why: string): void {
    const hold = this.held;
    const ctx = this.ctx;
    if (hold === undefined) return;
    if (hold.entries.some((entry) => !entry.item.isResumable)) {
      this.cutHeld(); // its audio was let go meanwhile: it cannot be resumed after all
      return;
    }
    this.held = undefined;
    hold.end();
    if (ctx === null) return;
    const resumed: { utteranceId: string; fromFrame: number; frames: number }[] = [];
    for (const { item: utterance, framesHeard } of hold.entries) {
      const frames = audioFrames(utterance);
      if (utterance.isEnded && framesHeard >= frames) {
        // heard to its end before the clear (its mark was flushed): it counts as played
        this.onUtterancePlayed({ utteranceId: utterance.playId, frames });
        continue;
      }
      const fromFrame = resumeFrame(framesHeard);
      this.spoken.delete(utterance.playId);
      utterance.playId = `${utterance.id}~r${++utterance.resumes}`;
      utterance.baseFrames = fromFrame;
      this.spoken.set(utterance.playId, utterance);
      const audio = audioFromFrame(utterance, fromFrame);
      if (audio.length > 0) ctx.enqueue(audio, utterance.playId);
      if (utterance.isEnded) ctx.endUtterance(utterance.playId);
      resumed.push({ utteranceId: utterance.id, fromFrame, frames });
    }
    ctx.log.info({ event: LogEvent.BARGE_IN, isResumed: true, why, heldMs: Math.round(performance.now() - hold.startedAtMs), resumed }, 'not an interruption; the line resumes');
    ctx.report({ kind: 'note', note: 'barge-in-resumed', data: { why, resumed } });
    this.countInterruption('resumed');
  }

  onUtteranceStarted(utteranceId: string, sentAtMs: number): void {
    const latency = this.awaitingFirstFrame.get(utteranceId);
    if (latency === undefined) return;
    this.awaitingFirstFrame.delete(utteranceId);
    const stage: TurnStage = 'first_frame';
    latency.mark(stage, sentAtMs);
    this.log?.info({ event: LogEvent.REPLY_FIRST_FRAME, utteranceId, stage, ...latency.fields() }, 'first frame sent');
  }

  onUtterancePlayed(played: PlayedInfo): void {
    // heard to its end: its history entry is final
    const utterance = this.spoken.get(played.utteranceId);
    this.spoken.delete(played.utteranceId);
    if (utterance !== undefined) {
      letGoAudio(utterance);
      const text = utterance.sentences.map((s) => s.text).join(' ');
      this.ctx?.report({ kind: 'agent-said', utteranceId: utterance.id, text, heardText: text, isCut: false });
    }
  }

  onCallEnd(_reason?: CallEndReason): void {
    this.dropSpeculation('the call ended');
    this.options.streamingAsr?.close();
    if (this.dtmfTimer !== null) clearTimeout(this.dtmfTimer);
    this.dtmfTimer = null;
    this.held?.end();
    this.held = undefined;
    this.reply?.abort(new Error('call ended'));
    this.reply = null;
    this.ctx = null;
    this.spoken.clear();
    this.awaitingFirstFrame.clear();
  }

  // ---- internals ----

  /**
   * Steps 4-6 of a turn: the reply to the history as it stands, streamed, cut, synthesized and played; with tools,
   * the loop: each round's text is spoken as it streams, its tool calls run (together) once the round's text is
   * queued, their results go into the history and the model is asked again, for at most maxToolRounds rounds.
   */
  private async reply_(utteranceId: string, turnId: number, signal: AbortSignal, latency: TurnLatency, budget: TurnBudget | undefined,
    early?: SpeculativeReply): Promise<void> {
    const tools = this.hasTools ? this.options.tools : undefined;
    const definitions = tools?.definitions() ?? [];
    const maxRounds = this.options.maxToolRounds ?? DEFAULT_MAX_TOOL_ROUNDS;
    const progress: TurnProgress = { sentences: 0, hasFiller: false, finish: undefined };
    // the caller's earlier calls join the instructions before the first request (read at call start; bounded)
    if (this.callerHistoryText === undefined) this.callerHistoryText = await this.callerHistory;
    if (signal.aborted) return;
    for (let round = 0; ; round++) {
      const messages = this.messages();
      const calls: ToolCallRequest[] = [];
      const roundId = round === 0 ? utteranceId : `${utteranceId}-${round + 1}`;
      const what = round === 0 ? `turn ${turnId}` : `turn ${turnId} round ${round + 1}`;
      // the first round may already be on its way: asked at the pause that became the turn's end, on these messages
      const events = (s: AbortSignal): AsyncIterable<ResponderEvent> => round === 0 && early !== undefined
        ? early.adopt(s)
        : this.options.responder.respond(messages, s, definitions.length > 0 ? { tools: definitions } : undefined);
      let servedLlm: string | undefined;
      progress.sentences += await this.speak((s) => textOf(events(s), calls, (provider) => (servedLlm = provider)), roundId, signal, latency, what, budget,
        () => servedLlm ?? this.options.responder.name, round === 0 ? () => early?.firstSentenceAudio : undefined);
      if (signal.aborted) return;
      if (calls.length === 0) break;
      if (round >= maxRounds) {
        this.log?.warn({ event: LogEvent.TOOL_CALL, turnId, rounds: round, tools: calls.map((c) => c.name) }, 'too many tool rounds; apologizing');
        progress.sentences += await this.speak(() => singleSentence(this.toolLines.tooManyRounds), `${utteranceId}-sorry`, signal, undefined, 'tool rounds');
        return;
      }
      const outcomes = await this.runTools(calls, turnId, signal, latency, budget, progress);
      if (signal.aborted) return;
      // the calls and their results, in OpenAI's order: the assistant's tool_calls, then one tool message per call
      this.remember({ role: 'assistant', content: '', toolCalls: calls });
      for (const outcome of outcomes) this.remember({ role: 'tool', toolCallId: outcome.call.id, content: outcome.content });
      if (progress.finish !== undefined) {
        this.finishCall(progress.finish);
        return;
      }
    }
    if (progress.sentences === 0 && !signal.aborted) {
      this.log?.warn({ event: LogEvent.LLM_TEXT, turnId, errKind: ErrorKind.PROVIDER_HTTP }, 'the reply was empty');
      this.playFallback(`turn ${turnId}: empty reply`, turnId, ErrorKind.PROVIDER_HTTP);
    }
  }

  private get hasTools(): boolean {
    return this.options.tools !== undefined && this.options.tools.size > 0;
  }

  /**
   * One round's tool calls, run together under the reply's signal (barge-in cancels them) and, until the caller hears
   * something, the turn's budget. If they are still running fillerAfterMs after they started (or when the budget
   * would run out first) and nothing of this turn was heard yet, the filler line plays, once per turn; it counts as
   * the turn's first audio (the budget is released).
   */
  private async runTools(calls: readonly ToolCallRequest[], turnId: number, signal: AbortSignal, latency: TurnLatency, budget: TurnBudget | undefined,
    progress: TurnProgress): Promise<ToolOutcome[]> {
    const ctx = this.ctx;
    const tools = this.options.tools;
    if (ctx === null || tools === undefined) return [];
    const remainingMs = budget?.remainingMs() ?? Infinity;
    const toolSignal = Number.isFinite(remainingMs) && budget !== undefined ? AbortSignal.any([signal, budget.signal]) : signal;
    let fillerTimer: NodeJS.Timeout | undefined;
    if (progress.sentences === 0 && !progress.hasFiller) {
      const fillerAfterMs = Math.max(0, Math.min(this.options.fillerAfterMs ?? DEFAULT_FILLER_AFTER_MS, remainingMs - FILLER_BUDGET_MARGIN_MS));
      fillerTimer = setTimeout(() => {
        fillerTimer = undefined;
        if (signal.aborted || progress.hasFiller) return;
        progress.hasFiller = true;
        void this.playFiller(turnId, signal, latency, budget);
      }, fillerAfterMs);
    }
    // the caller's number: an outbound call's `from` is our own caller ID (every outbound call has it), so none there
    const params = ctx.call.customParameters;
    const from = params['direction'] === 'outbound' ? undefined : params['from'] ?? params['From'];
    const toolContext = {
      callSid: ctx.call.callSid, from, languageCode: this.options.languageCode ?? this.options.asrLanguage, signal: toolSignal, log: ctx.log,
      report: (report: Parameters<AgentContext['report']>[0]) => ctx.report(report),
      finish: (command: CallCommand) => {
        progress.finish ??= command;
      },
    };
    try {
      const outcomes = await Promise.all(calls.map((call) => tools.dispatch(call, toolContext)));
      for (const outcome of outcomes) {
        const { call, result, durationMs } = outcome;
        ctx.log.info({
          event: LogEvent.TOOL_CALL, turnId, tool: call.name, toolCallId: call.id, isOk: result.ok, durationMs,
          ...(result.ok ? {} : { error: result.error }), wasAborted: signal.aborted,
        }, 'tool call');
      }
      return outcomes;
    } finally {
      if (fillerTimer !== undefined) clearTimeout(fillerTimer);
    }
  }

  /** The filler line, from the cache (synthesized now when it is not there yet); its own utterance, not in the history. */
  private async playFiller(turnId: number, signal: AbortSignal, latency: TurnLatency, budget: TurnBudget | undefined): Promise<void> {
    const ctx = this.ctx;
    if (ctx === null) return;
    const utteranceId = `filler-${turnId}`;
    try {
      let mulaw = await Promise.race([prepareFallback(this.fillerSource, this.options.fallbackTimeoutMs), abortedOf(signal)]);
      if (mulaw === undefined && !signal.aborted) {
        const result = await this.options.synthesizer.synthesize(this.toolLines.filler, signal);
        mulaw = await this.toMulaw(result, signal);
      }
      if (mulaw === undefined || signal.aborted || this.ctx !== ctx || this.held !== undefined) return;
      budget?.release();
      latency.mark('first_audio');
      this.awaitFirstFrame(utteranceId, latency);
      ctx.play(mulaw, utteranceId);
      ctx.log.info({ event: LogEvent.TOOL_FILLER, turnId, utteranceId, text: this.toolLines.filler, ...latency.fields() }, 'filler while tools run');
    } catch (error) {
      if (!signal.aborted) this.logProviderFailure(error, `turn ${turnId}: filler`);
    }
  }

  /** A tool asked for the call's last action: the same command the API would send (its line, then the act). */
  private finishCall(command: CallCommand): void {
    const ctx = this.ctx;
    if (ctx === null) return;
    const result = ctx.command(command);
    ctx.log.info({ event: LogEvent.CALL_COMMAND, command: command.kind, from: 'tool', isOk: result.ok, ...(result.ok ? {} : { code: result.code }) }, 'tool ends the call');
  }

  /** The digits collected so far, as a caller turn. */
  private onKeypadTurn(): void {
    this.dtmfTimer = null;
    const digits = this.dtmfDigits;
    this.dtmfDigits = '';
    const ctx = this.ctx;
    if (ctx === null || digits.length === 0) return;
    const turnId = ++this.keypadTurns + KEYPAD_TURN_ID_BASE;
    const text = `(pressed on the keypad: ${digits.split('').join(' ')})`;
    ctx.report({ kind: 'caller-text', turnId, text });
    this.remember({ role: 'user', content: text });
    const latency = new TurnLatency(0, this.options.onTurnLatency);
    const reply = this.newReply(ctx.signal);
    const budget = this.options.turnDeadlineMs !== undefined ? new TurnBudget(latency.originMs, this.options.turnDeadlineMs) : undefined;
    void this.reply_(`reply-keypad-${this.keypadTurns}`, turnId, reply.signal, latency, budget)
      .catch((error: unknown) => this.onFailure(error, 'reply', reply.signal, turnId, latency))
      .finally(() => {
        budget?.release();
        if (this.reply === reply.controller) this.reply = null;
      });
  }


  private newReply(...signals: AbortSignal[]): { signal: AbortSignal; controller: AbortController } {
    // a new reply is something real to say: a held line is cut
    this.cutHeld();
    this.reply?.abort(new Error('superseded'));
    const controller = new AbortController();
    this.reply = controller;
    return { signal: AbortSignal.any([controller.signal, ...signals]), controller };
  }

  /**
   * Cuts `source` into sentences, synthesizes each while the previous plays, and enqueues them as one utterance.
   * Returns the number of sentences enqueued. Throws a ProviderError when nothing could be said; a failure after
   * something was said ends the utterance with what was said (logged). `budget` (a turn's) bounds everything up to
   * the first sentence's audio and is released once that is enqueued.
   */
  private async speak(source: (signal: AbortSignal) => AsyncIterable<string>, utteranceId: string, signal: AbortSignal, latency: TurnLatency | undefined,
    what: string, budget?: TurnBudget, servedLlm?: () => string | undefined, firstSentenceAudio?: () => SentencePrefetch | undefined): Promise<number> {
    const ctx = this.ctx;
    /** The synthesizers that spoke this utterance (more than one after a fail-over), for its record. */
    const servedTts = new Set<string>();
    if (ctx === null) return 0;
    const queue = new SentenceQueue();
    const cutter = new SentenceCutter(this.options.cutter);
    // what the providers are given: the reply's signal, plus the turn's budget until the first audio is enqueued
    // (a released budget never aborts, so the chat stream started under it runs on)
    const stageSignal = budget !== undefined ? AbortSignal.any([signal, budget.signal]) : signal;
    // the producer stops when synthesis gives up (its own controller) or the reply is aborted
    const producerAbort = new AbortController();
    const producerSignal = AbortSignal.any([stageSignal, producerAbort.signal]);
    let replyText = '';
    const producer = (async () => {
      try {
        for await (const delta of source(producerSignal)) {
          if (producerSignal.aborted) break;
          latency?.mark('first_token');
          replyText += delta;
          for (const sentence of cutter.push(delta)) queue.push(sentence);
        }
        for (const sentence of cutter.flush()) queue.push(sentence);
        queue.close();
      } catch (error) {
        queue.close(error);
      }
    })();
    const utterance: SpokenUtterance = {
      id: utteranceId, sentences: [], message: undefined, playId: utteranceId, baseFrames: 0, resumes: 0, isEnded: false, ...newResumableAudio(),
    };
    const sentenceDeps = { synthesizer: this.options.synthesizer, toMulaw: (result: SynthesisResult, s: AbortSignal) => this.toMulaw(result, s), streams: new UtteranceFrameStreams() };
    let failure: unknown;
    let sentencesTaken = 0;
    try {
      for (let sentence = await queue.next(); sentence !== undefined; sentence = await queue.next()) {
        if (signal.aborted) break;
        const ttsStartMs = performance.now();
        // an early reply's first sentence may be synthesized already (sentence-prefetch.ts): the same text, cut alike
        const prefetched = sentencesTaken++ === 0 ? firstSentenceAudio?.() : undefined;
        // streamed: each piece is enqueued as it is converted (sentence-audio.ts); the sentence is recorded at its
        // first piece and its length grows with each, so a barge-in mid-sentence knows what was queued of it
        let spoken: SpokenSentence | undefined;
        const sink = (mulaw: Uint8Array, isFirst: boolean): boolean => {
          if (signal.aborted || this.ctx !== ctx) return false;
          if (isFirst) {
            // the caller is about to hear the reply: later sentences are bound by their own stages' limits only
            budget?.release();
            latency?.mark('first_audio');
            // first_frame is marked when the playout writes this sentence's first frame (onUtteranceStarted)
            if (latency !== undefined && utterance.sentences.length === 0) this.awaitFirstFrame(utteranceId, latency);
          }
          if (spoken === undefined) {
            spoken = { text: sentence, frames: 0 };
            this.recordSentence(utterance, spoken);
          }
          spoken.frames += Math.ceil(mulaw.length / FRAME_BYTES);
          // to the playout, or (while a barge-in holds the line) kept for the resume
          this.output(ctx, utterance, mulaw);
          return true;
        };
        const audio = prefetched?.text === sentence ? await prefetched.playInto(sink) : await speakSentence(sentence, stageSignal, sentenceDeps, sink);
        if (audio.frames > 0) servedTts.add(audio.provider);
        if (signal.aborted || this.ctx !== ctx || audio.wasStopped) break;
        ctx.log.info({
          event: LogEvent.TTS_SUCCESS, utteranceId, sentence: utterance.sentences.length, chars: sentence.length, frames: audio.frames,
          provider: audio.provider, ttsMs: Math.round(performance.now() - ttsStartMs), ttsFirstAudioMs: audio.firstAudioMs,
          isStreamed: audio.isStreamed, pieces: audio.pieces, ...(prefetched?.text === sentence ? { wasPrefetched: true } : {}),
          ...(utterance.sentences.length === 1 ? latency?.fields() : {}),
        }, `said (${what})`);
        // the stream broke mid-sentence: what was queued plays, the rest of this sentence is skipped, the reply goes on
        if (audio.lateError !== undefined) this.logProviderFailure(audio.lateError, `${what}: sentence ${utterance.sentences.length} cut off mid-stream`);
      }
    } catch (error) {
      failure = error;
    } finally {
      producerAbort.abort(new Error('synthesis ended'));
      await producer;
    }
    const llmError = queue.error;
    if (utterance.sentences.length > 0) {
      // what was said is said: end the utterance (its mark follows) even when something failed after it
      utterance.isEnded = true;
      if (this.ctx === ctx && this.held?.has(utterance) !== true) ctx.endUtterance(utterance.playId);
      // which providers served this reply, for its record (a fail-over shows here)
      const llm = servedLlm?.() ?? (latency !== undefined ? this.options.responder.name : undefined);
      if (this.ctx === ctx) ctx.report({ kind: 'note', note: 'providers', data: { utteranceId, tts: [...servedTts], ...(llm !== undefined ? { llm } : {}) } });
      if (latency !== undefined) {
        ctx.log.info({ event: LogEvent.LLM_TEXT, utteranceId, text: replyText, sentences: utterance.sentences.length, wasAborted: signal.aborted, ...latency.fields() }, 'agent replied');
      }
      const late = failure ?? llmError;
      if (late !== undefined && !signal.aborted) this.logProviderFailure(late, `${what}: after ${utterance.sentences.length} sentence(s)`);
      return utterance.sentences.length;
    }
    if (failure !== undefined) throw failure;
    if (llmError !== undefined) throw llmError;
    return 0;
  }

  private awaitFirstFrame(utteranceId: string, latency: TurnLatency): void {
    this.awaitingFirstFrame.set(utteranceId, latency);
    // bounded: an utterance the playout never starts (cleared by stopPlayback) must not pile up
    if (this.awaitingFirstFrame.size > MAX_AWAITING_FIRST_FRAME) {
      const oldest = this.awaitingFirstFrame.keys().next().value;
      if (oldest !== undefined) this.awaitingFirstFrame.delete(oldest);
    }
  }

  /** One sentence's audio to the playout, or (while a barge-in holds the line) kept for the resume only. */
  private output(ctx: AgentContext, utterance: SpokenUtterance, mulaw: Uint8Array): void {
    keepAudio(utterance, mulaw);
    const hold = this.held;
    if (hold !== undefined) {
      hold.add(utterance, 0);
      if (!utterance.isResumable) this.cutHeld(); // it outgrew what a resume keeps: the barge-in cuts it after all
      return;
    }
    ctx.enqueue(mulaw, utterance.playId);
  }

  private recordSentence(utterance: SpokenUtterance, sentence: SpokenSentence): void {
    utterance.sentences.push(sentence);
    if (utterance.message === undefined) {
      utterance.message = { role: 'assistant', content: sentence.text };
      this.remember(utterance.message);
      this.spoken.set(utterance.playId, utterance);
      // only the latest few keep their audio for a resume (marks that never come must not pile audio up)
      let keep = MAX_RESUMABLE_UTTERANCES;
      for (const older of [...this.spoken.values()].reverse()) if (keep-- <= 0) letGoAudio(older);
    } else {
      utterance.message.content = utterance.sentences.map((s) => s.text).join(' ');
    }
  }

  /** Keeps what the caller heard of `utterance` in the history (nothing heard: the message goes). */
  private truncate(utterance: SpokenUtterance, framesHeard: number): void {
    this.spoken.delete(utterance.playId);
    letGoAudio(utterance);
    const message = utterance.message;
    if (message === undefined) return;
    const text = heardText(utterance.sentences, framesHeard);
    this.ctx?.report({ kind: 'agent-said', utteranceId: utterance.id, text: utterance.sentences.map((s) => s.text).join(' '), heardText: text, isCut: true });
    if (text.length === 0) {
      const index = this.history.indexOf(message);
      if (index >= 0) this.history.splice(index, 1);
    } else {
      message.content = text;
    }
    this.log?.info({ event: LogEvent.BARGE_IN, utteranceId: utterance.id, framesHeard, heardText: text }, 'history keeps what the caller heard');
  }

  private remember(message: ChatMessage): void {
    this.history.push(message);
    const max = this.options.maxHistoryMessages ?? 24;
    while (this.history.length > max) this.history.shift();
    // a tool result whose call was dropped would be refused by the API: results go with their call
    while (this.history[0]?.role === 'tool') this.history.shift();
  }

  private async toMulaw(result: SynthesisResult, signal?: AbortSignal): Promise<Uint8Array> {
    if (result.encoding === 'mulaw') return result.audio as Uint8Array;
    return this.options.audio.pcmToMulawFrames(result.audio as Int16Array, result.sampleRateHz, signal);
  }

  /** A failed turn or greeting: log it; for a turn not aborted, the caller hears the fallback. */
  private onFailure(error: unknown, stage: string, signal: AbortSignal, turnId: number | undefined, latency?: TurnLatency): void {
    if (signal.aborted) {
      this.log?.debug({ event: LogEvent.AGENT_REPLY_ABORTED, errKind: ErrorKind.ABORTED, stage, turnId }, 'turn aborted');
      return;
    }
    const errKind = this.logProviderFailure(error, turnId !== undefined ? `turn ${turnId} (${stage})` : stage, latency);
    if (turnId !== undefined) this.playFallback(`turn ${turnId}: ${stage} failed`, turnId, errKind);
  }

  private logProviderFailure(error: unknown, where: string, latency?: TurnLatency): ErrorKindName {
    const log = this.log;
    const isProvider = error instanceof ProviderError;
    const { provider, kind } = failureOf(error);
    const latencyMs = latency !== undefined ? Math.round(performance.now() - latency.originMs) : undefined;
    if (log !== undefined) {
      logError(log, LogEvent.PROVIDER_ERROR, kind, error, {
        provider, where, ...(isProvider && error.status !== undefined ? { status: error.status } : {}),
        ...(latencyMs !== undefined ? { latencyMs } : {}), ...(latency?.fields() ?? {}),
      });
    }
    try {
      this.options.onProviderError?.(provider, kind);
    } catch {
      // metrics must not break a call
    }
    return kind;
  }

  private playFallback(reason: string, turnId: number, errKind: ErrorKindName): void {
    const ctx = this.ctx;
    if (ctx === null) return;
    const { mulaw, kind } = fallbackAudioNow(this.fallbackSource);
    const utteranceId = `fallback-${turnId}-${++this.fallbacks}`;
    ctx.play(mulaw, utteranceId);
    ctx.log.warn({ event: LogEvent.AGENT_FALLBACK, errKind, utteranceId, kind, reason }, 'fallback played');
    ctx.report({ kind: 'note', note: 'fallback', data: { utteranceId, errKind, reason, audio: kind } });
    // try again for next time when the line was not ready
    if (kind === 'tone') void prepareFallback(this.fallbackSource, this.options.fallbackTimeoutMs);
  }
}

/** A conversation as a key that changes whenever any of its messages does (a cut reply, a tool result, ...). */
function conversationKeyOf(messages: readonly ChatMessage[]): string {
  return JSON.stringify(messages);
}

async function* singleSentence(text: string): AsyncIterable<string> {
  yield text;
}

/** The reply's text deltas, for the sentence cutter; its tool calls go into `calls`. */
async function* textOf(events: AsyncIterable<ResponderEvent>, calls: ToolCallRequest[], served?: (provider: string) => void): AsyncIterable<string> {
  for await (const event of events) {
    if (event.kind === 'text') yield event.delta;
    else if (event.kind === 'tool-call') calls.push({ id: event.id, name: event.name, argumentsJson: event.argumentsJson });
    else served?.(event.provider);
  }
}

/** Resolves undefined once `signal` is aborted (never rejects). */
function abortedOf(signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve(undefined);
    else signal.addEventListener('abort', () => resolve(undefined), { once: true });
  });
}

/** Who failed and how, for the log line and aicrmd_provider_errors_total. */
function failureOf(error: unknown): { provider: string; kind: ErrorKindName } {
  if (error instanceof ProviderError) return { provider: error.provider, kind: errorKindOf(error) };
  if (error instanceof DspJobError) {
    // a job the turn's deadline aborted timed out as far as the caller is concerned
    const isTimeout = error.kind === 'timeout' || (error.kind === 'aborted' && error.cause instanceof DeadlineExceeded);
    return { provider: DSP_POOL_PROVIDER, kind: isTimeout ? ErrorKind.TIMEOUT : error.kind === 'aborted' ? ErrorKind.ABORTED : ErrorKind.DSP };
  }
  return { provider: 'pipeline', kind: ErrorKind.INTERNAL };
}

function errorKindOf(error: ProviderError): ErrorKindName {
  switch (error.kind) {
    case 'timeout':
      return ErrorKind.TIMEOUT;
    case 'http':
    case 'bad-response':
      return ErrorKind.PROVIDER_HTTP;
    case 'network':
      return ErrorKind.PROVIDER_NETWORK;
    case 'aborted':
      return ErrorKind.ABORTED;
  }
}

function round1(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 10) / 10 : x;
}
