// Agent selection: without OPENAI_API_KEY (or with AGENT=echo) calls get the keyless echo agent; with a key they get
// the AI pipeline, with the synthesizer TTS_PROVIDER names.
import { describe, expect, it } from 'vitest';
import { createEchoAgent } from '../../src/agent/echo.js';
import { createAgentFactory } from '../../src/agent/factory.js';
import { PipelineAgent } from '../../src/agent/pipeline.js';
import { loadConfig } from '../../src/config.js';
import { fakeServiceAccount } from '../fakes/google-tts-server.js';

const call = { callSid: 'CA1', streamSid: 'MZ1', accountSid: 'AC1', customParameters: {} };
const noPool = { utteranceToWav16k: async () => new Uint8Array(0), pcmToMulawFrames: async () => new Uint8Array(0) };

describe('createAgentFactory', () => {
  it('gives the echo agent when no OpenAI key is set, or AGENT=echo', () => {
    expect(createAgentFactory(loadConfig({}))).toBe(createEchoAgent);
    expect(createAgentFactory(loadConfig({ OPENAI_API_KEY: 'sk-x', AGENT: 'echo' }))).toBe(createEchoAgent);
  });

  it('gives the AI pipeline with a key: OpenAI speech with TTS_PROVIDER=openai, Google with credentials', () => {
    process.env['METADATA_SERVER_DETECTION'] = 'none';
    const openaiTts = createAgentFactory(loadConfig({ OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', TTS_PROVIDER: 'openai' }), { audio: noPool });
    const agent = openaiTts(call);
    expect(agent).toBeInstanceOf(PipelineAgent);
    expect((agent as PipelineAgent).providers).toEqual({ transcriber: 'openai-asr', responder: 'openai-llm', synthesizer: 'openai-tts' });
    const google = createAgentFactory(loadConfig({
      OPENAI_API_KEY: 'sk-x', OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: fakeServiceAccount().json, GOOGLE_TTS_API_ENDPOINT: 'http://127.0.0.1:9',
    }), { audio: noPool });
    expect((google(call) as PipelineAgent).providers.synthesizer).toBe('google-tts');
    expect(google(call)).not.toBe(google(call));
  });
});
