// Agent selection: without OPENAI_API_KEY (or with AGENT=echo) calls get the keyless echo agent, and the AI pipeline's
// modules (with the provider SDKs) are not even loaded; with a key they get the AI pipeline, with the synthesizer
// TTS_PROVIDER names. (The call registry does not pick: it is handed its agent factory by the thread's composition
// root, src/thread-root.ts, which asks buildAgent.)
import { describe, expect, it } from 'vitest';
import { createEchoAgent } from '../../src/agent/echo.js';
import { buildAgent, isAiAgentLoaded } from '../../src/agent/factory.js';
import { PipelineAgent } from '../../src/agent/pipeline.js';
import { loadConfig } from '../../src/config.js';
import { fakeServiceAccount } from '../fakes/google-tts-server.js';

const call = { callSid: 'CA1', streamSid: 'MZ1', accountSid: 'AC1', customParameters: {} };
const noPool = { utteranceToWav16k: async () => new Uint8Array(0), pcmToMulawFrames: async () => new Uint8Array(0) };

const NO_METRICS = { observeTurnLatency: () => {}, countProviderError: () => {} };
/** The agent factory buildAgent gives for `config` (what the thread's composition root hands the registry). */
const loadAgentFactory = async (config: Parameters<typeof buildAgent>[0], deps: Omit<Parameters<typeof buildAgent>[1], 'metrics'> = {}) =>
  (await buildAgent(config, { ...deps, metrics: NO_METRICS })).agentFactory;

describe('buildAgent', () => {
  it('gives the echo agent when no OpenAI key is set, or AGENT=echo, without loading the AI modules', async () => {
    expect(await loadAgentFactory(loadConfig({ INSECURE_DEV_MODE: '1' }))).toBe(createEchoAgent);
    expect(await loadAgentFactory(loadConfig({ INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'sk-x', AGENT: 'echo' }))).toBe(createEchoAgent);
    expect(isAiAgentLoaded()).toBe(false);
  });

  it('gives the AI pipeline with a key: OpenAI speech with TTS_PROVIDER=openai, Google with credentials', async () => {
    process.env['METADATA_SERVER_DETECTION'] = 'none';
    const openaiTts = await loadAgentFactory(loadConfig({ INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', TTS_PROVIDER: 'openai' }), { audio: noPool });
    expect(isAiAgentLoaded()).toBe(true);
    const agent = openaiTts(call);
    expect(agent).toBeInstanceOf(PipelineAgent);
    expect((agent as PipelineAgent).providers).toEqual({ transcriber: 'openai-asr', responder: 'openai-llm', synthesizer: 'openai-tts' });
    const google = await loadAgentFactory(loadConfig({
      INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: fakeServiceAccount().json, GOOGLE_TTS_API_ENDPOINT: 'http://127.0.0.1:9',
    }), { audio: noPool });
    // with an OpenAI key too, OpenAI speech is Google's fallback (TTS_FALLBACK's default)
    expect((google(call) as PipelineAgent).providers.synthesizer).toBe('google-tts>openai-tts');
    expect(google(call)).not.toBe(google(call));
    const googleOnly = await loadAgentFactory(loadConfig({
      INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', TTS_FALLBACK: 'none',
      GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: fakeServiceAccount().json, GOOGLE_TTS_API_ENDPOINT: 'http://127.0.0.1:9',
    }), { audio: noPool });
    expect((googleOnly(call) as PipelineAgent).providers.synthesizer).toBe('google-tts');
  });
});
