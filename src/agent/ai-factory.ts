// The AI pipeline's agent factory for the calls of one edge thread, with its providers built once per thread and
// shared by its calls: one OpenAI client (ASR, chat and, with TTS_PROVIDER=openai, speech), one Google TTS client, and
// one DSP pool for the bulk audio jobs (created lazily, sized so that all edge threads together use about DSP_THREADS
// workers). The pipeline's turn latencies and provider errors go to the metrics module's histogram and counter here.
// Imported only when the AI agent is configured (factory.ts): it pulls in the provider SDKs.
import OpenAI from 'openai';
import { Vad } from '../audio/dsp.js';
import { DspPool } from '../audio/pool.js';
import type { Config } from '../config.js';
import { countProviderError, observeTurnLatency } from '../observability/metrics.js';
import { defaultFallbackLine } from './fallback-audio.js';
import { GoogleSynthesizer, loadGoogleCredentials } from './google-tts.js';
import { addTurnLatencyObserver } from './latency.js';
import { OpenAIResponder } from './openai-responder.js';
import { OpenAISynthesizer } from './openai-synthesizer.js';
import { OpenAITranscriber } from './openai-transcriber.js';
import { PipelineAgent, type PipelineAudio, type PipelineOptions } from './pipeline.js';
import type { AgentFactory, Responder, Synthesizer, Transcriber } from './types.js';

/** The parts of Config the agent reads. */
export type AgentConfig = Pick<Config, 'agent' | 'language' | 'openai' | 'tts' | 'google' | 'timeouts' | 'vad' | 'dspThreads' | 'edgeThreads' | 'dspPool'>;

/** Anything built outside (tests give fakes or their own pool; the rest is built from config). */
export interface AgentFactoryDeps {
  audio?: PipelineAudio;
  transcriber?: Transcriber;
  responder?: Responder;
  synthesizer?: Synthesizer;
  /** Overrides the pipeline's options (thresholds, fallback line, ...). */
  pipeline?: Partial<PipelineOptions>;
}

let threadPool: DspPool | undefined;
let isMetricsWired = false;

/** This thread's DSP pool for the pipeline, created on first use. */
function poolFor(config: AgentConfig): PipelineAudio {
  return {
    utteranceToWav16k: (pcm, signal) => (threadPool ??= newPool(config)).utteranceToWav16k(pcm, signal),
    pcmToMulawFrames: (pcm, rateHz, signal) => (threadPool ??= newPool(config)).pcmToMulawFrames(pcm, rateHz, signal),
  };
}

function newPool(config: AgentConfig): DspPool {
  const threads = Math.max(1, Math.floor(config.dspThreads / Math.max(1, config.edgeThreads)));
  return new DspPool({ threads, ...config.dspPool });
}

/** Releases this thread's DSP pool (tests, shutdown). */
export async function destroyAgentResources(): Promise<void> {
  const pool = threadPool;
  threadPool = undefined;
  await pool?.destroy();
}

export function createSynthesizer(config: AgentConfig, openai: OpenAI | undefined): Synthesizer {
  if (config.tts.provider === 'openai') {
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
  });
}

/**
 * The AI pipeline's AgentFactory for `config`. Throws (with a message naming the setting) when the providers cannot
 * be built, e.g. unreadable Google credentials.
 */
export function createAiAgentFactory(config: AgentConfig, deps: AgentFactoryDeps = {}): AgentFactory {
  const needsOpenAI = deps.transcriber === undefined || deps.responder === undefined
    || (deps.synthesizer === undefined && config.tts.provider === 'openai');
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
  const newTranscriber = (): Transcriber => deps.transcriber
    ?? new OpenAITranscriber({ client: openai as OpenAI, model: config.openai.asrModel, timeoutMs: config.timeouts.asrMs });
  const responder = deps.responder
    ?? new OpenAIResponder({ client: openai as OpenAI, model: config.openai.chatModel, timeoutMs: config.timeouts.llmMs });
  const synthesizer = deps.synthesizer ?? createSynthesizer(config, openai);
  const audio = deps.audio ?? poolFor(config);
  // the VAD's effective hangover (the DSP's default where config leaves it out): the latency origin
  const hangoverMs = Math.ceil(new Vad(config.vad).options.hangoverMs / 20) * 20;
  if (!isMetricsWired) {
    isMetricsWired = true;
    addTurnLatencyObserver(observeTurnLatency);
  }
  const options: Omit<PipelineOptions, 'transcriber'> = {
    responder,
    synthesizer,
    audio,
    systemPrompt: config.agent.systemPrompt,
    greeting: config.agent.greeting,
    asrLanguage: config.language.whisper,
    fallbackLine: defaultFallbackLine(config.language.code),
    fallbackVariant: `${config.language.google}/${config.tts.provider === 'google' ? `${config.google.voice ?? ''}/${config.google.audioEncoding}` : config.openai.ttsVoice}`,
    fallbackTimeoutMs: config.timeouts.ttsMs,
    hangoverMs,
    turnDeadlineMs: config.timeouts.turnMs,
    onProviderError: countProviderError,
    ...deps.pipeline,
  };
  return () => new PipelineAgent({ ...options, transcriber: newTranscriber() });
}
