// The environment that points a spawned server's AI agent at the local fakes: one place for what every full-call
// test needs (real SDKs, loopback endpoints, no metadata-server probe), with each test's own settings on top.
import type { FakeServiceAccount } from './google-tts-server.js';

export function aiServerEnv(
  fakes: { openaiBaseUrl: string; googleEndpointUrl: string; account: FakeServiceAccount },
  overrides: Record<string, string>,
): Record<string, string> {
  return {
    EDGE_THREADS: '1', DSP_THREADS: '1', LOG_LEVEL: 'info', METADATA_SERVER_DETECTION: 'none',
    AGENT: 'ai', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: fakes.openaiBaseUrl,
    GOOGLE_TTS_API_ENDPOINT: fakes.googleEndpointUrl, GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: fakes.account.json,
    LANGUAGE: 'he',
    ...overrides,
  };
}
