// Builds the AI pipeline's agent for the calls of one edge thread: its providers, made once and shared by the
// thread's calls (one OpenAI client for ASR, chat and, with TTS_PROVIDER=openai, speech; one Google TTS client), and
// its DSP pool for the bulk audio jobs (started on the first job, sized so that all edge threads together use about
// DSP_THREADS workers). It keeps no state of its own: what it builds is handed back with the means to release it,
// and the thread's metrics are handed in (turn latencies and provider errors go there).
// Imported only when the AI agent is configured (factory.ts): it pulls in the provider SDKs.
import OpenAI from 'openai';
import { resolveVadOptions } from '../audio/dsp.js';
import { DspJobError, DspPool } from '../audio/pool.js';
import type { Config } from '../config.js';
import type { ErrorKindName } from '../observability/log.js';
import { FRAME_MS } from '../twilio/media-format.js';
import { defaultFallbackLine } from './fallback-audio.js';
import type { SpeculationOutcome } from './speculation.js';
import { FailoverResponder, FailoverSynthesizer, type FailoverObserver } from './failover.js';
import { httpTool } from './tools/http-tool.js';
import { GoogleSynthesizer, loadGoogleCredentials } from './google-tts.js';
import type { TurnStage } from './latency.js';
import { OpenAIResponder } from './openai-responder.js';
import { OpenAISynthesizer } from './openai-synthesizer.js';
import { OpenAITranscriber } from './openai-transcriber.js';
import { OpenAIRealtimeTranscriber } from './openai-realtime-transcriber.js';
import { StreamingAsr } from './streaming-asr.js';
import { ErrorKind } from '../observability/log.js';
import { PipelineAgent, type PipelineAudio, type PipelineOptions } from './pipeline.js';
import { asrPromptOf, speechTextFor, withSpeechText } from './speech-text/speech-text.js';
import type { InterruptionVerdict } from './barge-in-hold.js';
import type { Responder, Synthesizer, Transcriber } from './types.js';
import { builtInTools, type CallerLookup } from './tools/built-ins.js';
import { ToolRegistry } from './tools/registry.js';
import type { Tool } from './tools/types.js';
import type { AgentFactory } from '../call/agent-contract.js';

/** The parts of Config the agent reads. */
export type AgentConfig = Pick<Config, 'agent' | 'language' | 'openai' | 'tts' | 'google' | 'timeouts' | 'vad' | 'dspThreads' | 'edgeThreads' | 'dspPool'> & Partial<Pick<Config, 'replyCut' | 'bargeIn'>>
  & Partial<Pick<Config, 'webhookSigningSecret' | 'turns'>>;

/** Anything built outside (tests give fakes or their own pool; the rest is built from config). */
export interface AgentFactoryDeps {
  audio?: PipelineAudio;
  transcriber?: Transcriber;
  responder?: Responder;
  synthesizer?: Synthesizer;
  /** Overrides the pipeline's options (thresholds, fallback line, metrics callbacks, ...). */
  pipeline?: Partial<PipelineOptions>;
  /** A placed call's brief (greeting, context); the thread's composition root asks the main thread for it. */
  briefFor?: PipelineOptions['briefFor'];
  /** transfer_call's targets, name -> E.164 number or sip: URI (none: no transfer_call). */
  transfers?: Readonly<Record<string, string>>;
  /** lookup_caller's read of the records (none: no lookup_caller). */
  lookupCaller?: CallerLookup;
  /** Tools besides the built-ins (the agent file's HTTP tools). */
  tools?: readonly Tool[];
}

/** Where the pipeline reports, per turn and never per frame: the thread's metrics (src/observability/metrics.ts). */
export interface AgentMetrics {
  /** One stage of one turn, in ms since the end of the caller's speech (aicrmd_turn_latency_seconds). */
  observeTurnLatency(stage: TurnStage, ms: number): void;
  /** One failed provider call (aicrmd_provider_errors_total). */
  countProviderError(provider: string, kind: ErrorKindName): void;
  /** One stage served by the next provider after `from` failed (aicrmd_provider_failovers_total). */
  countFailover?: FailoverObserver;
  /** What became of the line the caller spoke over (aicrmd_interruptions_total). */
  countInterruption?: (verdict: InterruptionVerdict) => void;
  /** One reply asked for at a pause, used or thrown away (aicrmd_early_replies_total). */
  countSpeculation?: (outcome: SpeculationOutcome) => void;
}

/** What the builder is handed: the thread's metrics, and optionally parts built outside. */
export interface AgentParts extends AgentFactoryDeps {
  metrics: AgentMetrics;
}

/** A built agent: the factory of the thread's calls, and the release of what it holds. */
export interface BuiltAgent {
  readonly agentFactory: AgentFactory;
  /**
   * Releases what the build holds (the DSP pool, if a job started it). Call it once the thread's calls have ended;
   * a pool job asked for after it fails with a DspJobError. Safe to call more than once.
   */
  release(): Promise<void>;
}

/** The pipeline's DSP pool for one build: started on its first job, destroyed by `release`. */
function lazyPool(config: AgentConfig): { audio: PipelineAudio; release: () => Promise<void> } {
  let pool: DspPool | undefined;
  let isReleased = false;
  const poolFor = (job: string): DspPool => {
    if (isReleased) throw new DspJobError(`dsp job ${job}: the agent's DSP pool was released`, job, 'failed');
    if (pool === undefined) {
      const threads = Math.max(1, Math.floor(config.dspThreads / Math.max(1, config.edgeThreads)));
      pool = new DspPool({ threads, ...config.dspPool });
    }
    return pool;
  };
  return {
    audio: {
      utteranceToWav16k: async (pcm, signal) => poolFor('utteranceToWav16k').utteranceToWav16k(pcm, signal),
      pcmToMulawFrames: async (pcm, rateHz, signal) => poolFor('pcmToMulawFrames').pcmToMulawFrames(pcm, rateHz, signal),
    },
    release: async () => {
      isReleased = true;
      const started = pool;
      pool = undefined;
      await started?.destroy();
    },
  };
}

export function createSynthesizer(config: AgentConfig, openai: OpenAI | undefined, onFailover?: FailoverObserver): Synthesizer {
  const primary = createOneSynthesizer(config, config.tts.provider, openai);
  const fallback = config.tts.fallback;
  if (fallback === undefined) return primary;
  return new FailoverSynthesizer([primary, createOneSynthesizer(config, fallback, openai)], onFailover !== undefined ? { onFailover } : {});
}

function createOneSynthesizer(config: AgentConfig, provider: AgentConfig['tts']['provider'], openai: OpenAI | undefined): Synthesizer {
  if (provider === 'openai') {
    if (openai === undefined) throw new TypeError('TTS_PROVIDER=openai needs OPENAI_API_KEY');
    return new OpenAISynthesizer({ client: openai, model: config.openai.ttsModel, voice: config.openai.ttsVoice, timeoutMs: config.timeouts.ttsMs });
  }
  return new GoogleSynthesizer({
    credentials: loadGoogleCredentials(config.google),
    endpointUrl: config.google.apiEndpoint,
    languageCode: config.language.google,
    voiceName: config.google.voice,
    encoding: config.google.audioEncoding,
    timeoutMs: config.timeouts.ttsMs,
    streaming: config.google.streaming,
    grpcEndpointUrl: config.google.grpcEndpoint,
  });
}

/**
 * Builds the AI pipeline for one edge thread from `config`: its providers (unless `parts` gives them) and its DSP
 * pool (unless `parts.audio` is given), reporting to `parts.metrics`. Throws (with a message naming the setting) when
 * the providers cannot be built, e.g. unreadable Google credentials.
 */
export function buildAiAgent(config: AgentConfig, parts: AgentParts): BuiltAgent {
  const needsOpenAI = parts.transcriber === undefined || parts.responder === undefined
    || (parts.synthesizer === undefined && (config.tts.provider === 'openai' || config.tts.fallback === 'openai'));
  const openai = needsOpenAI
    ? new OpenAI({
      apiKey: config.openai.apiKey,
      ...(config.openai.baseUrl !== undefined ? { baseURL: config.openai.baseUrl } : {}),
      // per-request limits are set by each provider class; these are the backstops
      maxRetries: 0,
      timeout: Math.max(config.timeouts.asrMs, config.timeouts.llmMs, config.timeouts.ttsMs) + 2000,
    })
    : undefined;
  // a transcriber per call (it is only a few fields; its attempt count is per call), the clients shared
  const asrPrompt = asrPromptOf(config.agent.vocabulary);
  const newTranscriber = (): Transcriber => parts.transcriber
    ?? new OpenAITranscriber({ client: openai as OpenAI, model: config.openai.asrModel, timeoutMs: config.timeouts.asrMs, prompt: asrPrompt });
  const newResponder = (model: string, name?: string): OpenAIResponder =>
    new OpenAIResponder({ client: openai as OpenAI, model, timeoutMs: config.timeouts.llmMs, ...(name !== undefined ? { name } : {}) });
  // OPENAI_CHAT_FALLBACK_MODEL: a second model answers when the first fails before its reply has begun
  const fallbackModel = config.openai.chatFallbackModel;
  const responder = parts.responder ?? (fallbackModel !== undefined
    ? new FailoverResponder([newResponder(config.openai.chatModel), newResponder(fallbackModel, 'openai-llm-fallback')], parts.metrics.countFailover !== undefined ? { onFailover: parts.metrics.countFailover } : {})
    : newResponder(config.openai.chatModel));
  // the TTS reads numbers, phones, times and prices written out (speech-text/); everything else keeps the model's text
  const synthesizer = withSpeechText(parts.synthesizer ?? createSynthesizer(config, openai, parts.metrics.countFailover),
    speechTextFor(config.language.code, config.agent.normalizeNumbers));
  // the pool is this build's unless the audio jobs were handed in (then releasing them is the giver's business)
  const audio = parts.audio !== undefined ? { audio: parts.audio, release: async () => {} } : lazyPool(config);
  // the VAD's effective hangover (the DSP's default where config leaves it out), in whole frames: the latency origin
  const hangoverMs = Math.ceil(resolveVadOptions(config.vad).hangoverMs / FRAME_MS) * FRAME_MS;
  const { metrics } = parts;
  // the tools are stateless and shared by the thread's calls; each run is given its call's context
  // the agent file's transfer targets and HTTP tools unless the parts give their own (the config requires the
  // signing secret once a tool is declared)
  const transfers = parts.transfers ?? Object.fromEntries((config.agent.transfers ?? []).map((target) => [target.name, target.to]));
  const fileTools = (config.agent.tools ?? []).map((spec) => httpTool(spec, config.webhookSigningSecret ?? ''));
  const tools = new ToolRegistry([
    ...builtInTools({ transfers, ...(parts.lookupCaller !== undefined ? { lookupCaller: parts.lookupCaller } : {}) }),
    ...(parts.tools ?? fileTools),
  ]);
  const options: Omit<PipelineOptions, 'transcriber'> = {
    responder,
    synthesizer,
    audio: audio.audio,
    systemPrompt: config.agent.systemPrompt,
    greeting: config.agent.greeting,
    asrLanguage: config.language.whisper,
    fallbackLine: defaultFallbackLine(config.language.code),
    fallbackVariant: `${config.language.google}/${config.tts.provider === 'google' ? `${config.google.voice ?? ''}/${config.google.audioEncoding}` : config.openai.ttsVoice}`,
    fallbackTimeoutMs: config.timeouts.ttsMs,
    hangoverMs,
    turnDeadlineMs: config.timeouts.turnMs,
    ...(config.replyCut !== undefined ? { cutter: config.replyCut } : {}),
    onProviderError: (provider, kind) => metrics.countProviderError(provider, kind),
    onTurnLatency: (stage, ms) => metrics.observeTurnLatency(stage, ms),
    ...(metrics.countSpeculation !== undefined ? { onSpeculation: metrics.countSpeculation } : {}),
    ...(config.openai.asrStreaming && (config.turns?.earlyReplyPauseMs ?? 0) > 0 ? { earlyReplyPauseMs: config.turns!.earlyReplyPauseMs, earlyReplyAudio: config.turns!.earlyReplyAudio } : {}),
    ...(parts.briefFor !== undefined ? { briefFor: parts.briefFor } : {}),
    ...(config.agent.callerMemory === true && parts.lookupCaller !== undefined ? { callerMemory: parts.lookupCaller } : {}),
    tools,
    languageCode: config.language.code,
    resumeAfterFalseBargeIn: config.bargeIn?.resume ?? true,
    stopLineOnWords: config.bargeIn?.enabled ?? true,
    ...(metrics.countInterruption !== undefined ? { onInterruption: metrics.countInterruption } : {}),
    ...(config.agent.backchannels !== undefined ? { backchannels: config.agent.backchannels } : {}),
    ...parts.pipeline,
  };
  // streaming ASR (ASR_STREAMING, a gpt-4o transcribe model): one realtime socket per call, the batch route its fallback
  const newStreamingAsr = (): StreamingAsr | undefined => {
    if (!config.openai.asrStreaming || openai === undefined || config.openai.apiKey === undefined) return undefined;
    const socket = new OpenAIRealtimeTranscriber({
      baseUrl: openai.baseURL, apiKey: config.openai.apiKey, model: config.openai.asrModel, language: config.language.whisper,
      ...(asrPrompt !== undefined ? { prompt: asrPrompt } : {}),
      onError: (kind) => metrics.countProviderError('openai-realtime-asr', kind === 'connect' || kind === 'closed' ? ErrorKind.PROVIDER_NETWORK
        : kind === 'stall' ? ErrorKind.TIMEOUT : kind === 'overflow' ? ErrorKind.BACKPRESSURE : ErrorKind.PROVIDER_HTTP),
    });
    return new StreamingAsr(socket, config.openai.asrStreamingWaitMs);
  };
  return {
    agentFactory: () => new PipelineAgent({ ...options, transcriber: newTranscriber(), streamingAsr: newStreamingAsr() }),
    release: audio.release,
  };
}
