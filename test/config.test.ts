// Configuration: sane defaults with an empty environment (insecure dev mode), every variable read, each bad value
// named with what it should be, several bad values reported together in one ConfigError, and .env loading in which
// the real environment wins.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir, availableParallelism } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES, ConfigError, isGoogleStreamingVoice, loadConfig, loadDotEnv } from '../src/config.js';
import { deriveStreamTokenSecret } from '../src/twilio/signature.js';

const AUTH = 'f'.repeat(32);
const SECURE = { TWILIO_AUTH_TOKEN: AUTH, PUBLIC_BASE_URL: 'https://voice.example.com' };
/** The opt-in a token-less configuration needs (else it refuses to start): unchecked, loopback only. */
const DEV = { INSECURE_DEV_MODE: '1' };
const GOOGLE_JSON = JSON.stringify({ type: 'service_account', project_id: 'p', client_email: 'a@p.iam.gserviceaccount.com', private_key: 'k' });

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('defaults', () => {
  it('INSECURE_DEV_MODE=1 alone gives insecure dev mode on loopback with the echo agent and documented defaults', () => {
    const c = loadConfig(DEV);
    expect(c).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      insecureDevMode: 'loopback',
      publicBaseUrl: 'http://localhost:8080',
      streamUrl: 'ws://localhost:8080/ws/twilio-media',
      twilioAuthToken: undefined,
      isSignatureCheckOn: false,
      streamTokenSecretSource: 'random',
      streamTokenTtlMs: 60_000,
      edgeThreads: availableParallelism(),
      dspThreads: Math.max(1, availableParallelism() - 1),
      drainTimeoutS: 30,
      logLevel: 'info',
      ws: { maxPayloadLength: 65536, idleTimeoutS: 60, maxBackpressureBytes: 65536, slowClientOverflowMs: 2000, startTimeoutS: 10, maxSocketsAwaitingStart: 256 },
      playout: { leadFrames: 3 },
      vad: {},
      turns: { minTurnMs: 250, maxTurnMs: 30000 },
      bargeIn: { enabled: true, minSpeechMs: 350, resume: true, wordsAfterMs: 200, wordsWaitMs: 400 },
      agent: { kind: 'echo' },
      language: { code: 'he', whisper: 'he', google: 'he-IL' },
      openai: { apiKey: undefined, asrModel: 'whisper-1' },
      google: { voice: 'he-IL-Wavenet-A', audioEncoding: 'LINEAR16' },
    });
    expect(c.streamTokenSecret.length).toBeGreaterThanOrEqual(32);
  });

  it('with an auth token, signature checks are on and the stream secret is derived from it', () => {
    const c = loadConfig(SECURE);
    expect(c.isSignatureCheckOn).toBe(true);
    expect(c.insecureDevMode).toBe('off');
    expect(c.host).toBe('0.0.0.0');
    expect(c.publicBaseUrl).toBe('https://voice.example.com');
    expect(c.streamUrl).toBe('wss://voice.example.com/ws/twilio-media');
    expect(c.streamTokenSecretSource).toBe('auth-token');
    expect(c.streamTokenSecret).toBe(deriveStreamTokenSecret(AUTH));
    expect(loadConfig(SECURE).streamTokenSecret).toBe(c.streamTokenSecret); // same in every thread
  });

  it('blank values count as unset', () => {
    expect(loadConfig({ ...DEV, PORT: '', TWILIO_AUTH_TOKEN: '  ', OPENAI_API_KEY: '' }).port).toBe(8080);
    expect(loadConfig({ ...DEV, TWILIO_AUTH_TOKEN: '' }).isSignatureCheckOn).toBe(false);
  });

  it('OPENAI_API_KEY makes the AI agent the default; AGENT=echo keeps echo', () => {
    expect(loadConfig({ ...DEV, OPENAI_API_KEY: 'sk-x', GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: GOOGLE_JSON }).agent.kind).toBe('openai');
    expect(loadConfig({ ...DEV, OPENAI_API_KEY: 'sk-x' }).tts.provider).toBe('openai');
    expect(loadConfig({ ...DEV, OPENAI_API_KEY: 'sk-x', AGENT: 'echo' }).agent.kind).toBe('echo');
    expect(loadConfig({ ...DEV, OPENAI_API_KEY: 'sk-x', AGENT: 'AI', TTS_PROVIDER: 'openai' }).agent.kind).toBe('openai');
  });
});

describe('every variable is read', () => {
  it('values given are the values used', () => {
    const c = loadConfig({
      ...SECURE,
      PORT: '0',
      HOST: '127.0.0.1',
      PUBLIC_BASE_URL: 'https://voice.example.com:8443/',
      TWILIO_ACCOUNT_SID: 'AC' + 'a'.repeat(32),
      STREAM_TOKEN_SECRET: 's'.repeat(20),
      STREAM_TOKEN_TTL_S: '30',
      EDGE_THREADS: '3',
      DSP_THREADS: '2',
      DRAIN_TIMEOUT_S: '5',
      LOG_LEVEL: 'DEBUG',
      WS_MAX_PAYLOAD_BYTES: '4096',
      WS_IDLE_TIMEOUT_S: '0',
      WS_MAX_BACKPRESSURE_BYTES: '32768',
      SLOW_CLIENT_OVERFLOW_MS: '500',
      WS_START_TIMEOUT_S: '4',
      WS_MAX_SOCKETS_AWAITING_START: '50',
      PLAYOUT_LEAD_FRAMES: '5',
      VAD_ONSET_MS: '100',
      VAD_HANGOVER_MS: '600',
      VAD_MARGIN_DB: '9.5',
      VAD_MIN_SPEECH_DBFS: '-50',
      TURN_MIN_MS: '300',
      TURN_MAX_MS: '20000',
      BARGE_IN: 'off',
      BARGE_IN_MIN_SPEECH_MS: '300',
      BARGE_IN_RESUME: 'off',
      AGENT: 'ai',
      GREETING: 'Hi!',
      SYSTEM_PROMPT: 'Be brief.',
      LANGUAGE: 'en',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://127.0.0.1:9999/v1/',
      OPENAI_ASR_MODEL: 'gpt-4o-transcribe',
      OPENAI_CHAT_MODEL: 'gpt-4.1-mini',
      OPENAI_TTS_MODEL: 'tts-1',
      OPENAI_TTS_VOICE: 'nova',
      TTS_PROVIDER: 'google',
      GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: GOOGLE_JSON,
      GOOGLE_TTS_API_ENDPOINT: 'http://127.0.0.1:9998',
      GOOGLE_TTS_VOICE: 'en-US-Standard-C',
      GOOGLE_TTS_ENCODING: 'mulaw',
      ASR_TIMEOUT_MS: '1500',
      LLM_TIMEOUT_MS: '1600',
      TTS_TIMEOUT_MS: '1700',
    });
    expect(c).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      publicBaseUrl: 'https://voice.example.com:8443',
      streamUrl: 'wss://voice.example.com:8443/ws/twilio-media',
      twilioAccountSid: 'AC' + 'a'.repeat(32),
      streamTokenSecret: 's'.repeat(20),
      streamTokenSecretSource: 'env',
      streamTokenTtlMs: 30_000,
      edgeThreads: 3,
      dspThreads: 2,
      drainTimeoutS: 5,
      logLevel: 'debug',
      ws: { maxPayloadLength: 4096, idleTimeoutS: 0, maxBackpressureBytes: 32768, slowClientOverflowMs: 500, startTimeoutS: 4, maxSocketsAwaitingStart: 50 },
      playout: { leadFrames: 5 },
      vad: { onsetMs: 100, hangoverMs: 600, marginDb: 9.5, minSpeechDbfs: -50 },
      turns: { minTurnMs: 300, maxTurnMs: 20000 },
      bargeIn: { enabled: false, minSpeechMs: 300, resume: false },
      agent: { kind: 'openai', greeting: 'Hi!', systemPrompt: 'Be brief.' },
      language: { code: 'en', whisper: 'en', google: 'en-US' },
      openai: {
        apiKey: 'sk-test',
        baseUrl: 'http://127.0.0.1:9999/v1',
        asrModel: 'gpt-4o-transcribe',
        chatModel: 'gpt-4.1-mini',
        ttsModel: 'tts-1',
        ttsVoice: 'nova',
      },
      tts: { provider: 'google' },
      google: {
        credentialsJson: GOOGLE_JSON,
        apiEndpoint: 'http://127.0.0.1:9998',
        voice: 'en-US-Standard-C',
        audioEncoding: 'MULAW',
      },
      timeouts: { asrMs: 1500, llmMs: 1600, ttsMs: 1700 },
    });
  });

  it('streams transcription for the gpt-4o transcribe models unless ASR_STREAMING=off, and never for whisper-1', () => {
    const openai = (env: Record<string, string>) => loadConfig({ ...DEV, ...env }).openai;
    expect(openai({})).toMatchObject({ asrModel: 'whisper-1', asrStreaming: false, asrStreamingWaitMs: 500 });
    expect(openai({ OPENAI_ASR_MODEL: 'gpt-4o-mini-transcribe' }).asrStreaming).toBe(true);
    expect(openai({ OPENAI_ASR_MODEL: 'gpt-4o-transcribe', ASR_STREAMING: 'auto', ASR_STREAMING_WAIT_MS: '300' })).toMatchObject({ asrStreaming: true, asrStreamingWaitMs: 300 });
    expect(openai({ OPENAI_ASR_MODEL: 'gpt-4o-transcribe', ASR_STREAMING: 'off' }).asrStreaming).toBe(false);
    expect(openai({ OPENAI_ASR_MODEL: 'whisper-1', ASR_STREAMING: 'auto' }).asrStreaming).toBe(false);
    expect(problemsOf({ ...DEV, ASR_STREAMING: 'on', ASR_STREAMING_WAIT_MS: 'soon' })).toEqual([
      expect.stringMatching(/^ASR_STREAMING must be one of auto, off/),
      expect.stringMatching(/^ASR_STREAMING_WAIT_MS must be a number of milliseconds/),
    ]);
  });

  it('streams Google synthesis for a Chirp 3: HD voice unless GOOGLE_TTS_STREAMING=off, and never for other voices', () => {
    const google = (env: Record<string, string>) => loadConfig({ ...DEV, ...env }).google;
    expect(google({})).toMatchObject({ voice: 'he-IL-Wavenet-A', streaming: false, grpcEndpoint: undefined });
    expect(google({ GOOGLE_TTS_VOICE: 'he-IL-Chirp3-HD-Kore' }).streaming).toBe(true);
    expect(google({ GOOGLE_TTS_VOICE: 'cmn-CN-Chirp3-HD-Zephyr', GOOGLE_TTS_STREAMING: 'auto' }).streaming).toBe(true);
    expect(google({ GOOGLE_TTS_VOICE: 'he-IL-Chirp3-HD-Kore', GOOGLE_TTS_STREAMING: 'off' }).streaming).toBe(false);
    expect(google({ GOOGLE_TTS_VOICE: 'en-US-Neural2-C' }).streaming).toBe(false);
    expect(google({ LANGUAGE: 'en' })).toMatchObject({ voice: undefined, streaming: false }); // Google's choice may be any voice
    expect(google({ GOOGLE_TTS_GRPC_ENDPOINT: 'https://eu-texttospeech.googleapis.com' }).grpcEndpoint).toBe('https://eu-texttospeech.googleapis.com');
    expect(isGoogleStreamingVoice('en-US-Chirp-HD-F')).toBe(false); // Chirp HD (not 3) voices do not stream
    expect(isGoogleStreamingVoice('Chirp3-HD-Kore')).toBe(false); // without its locale it names no voice
    expect(problemsOf({ ...DEV, GOOGLE_TTS_STREAMING: 'on', GOOGLE_TTS_GRPC_ENDPOINT: 'grpc://127.0.0.1:1' })).toEqual([
      expect.stringMatching(/^GOOGLE_TTS_STREAMING must be one of auto, off/),
      expect.stringMatching(/^GOOGLE_TTS_GRPC_ENDPOINT must be/),
    ]);
  });

  it('SYSTEM_PROMPT_FILE is read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'prompt.txt');
    writeFileSync(file, '  From a file.\n');
    expect(loadConfig({ ...DEV, SYSTEM_PROMPT: 'inline', SYSTEM_PROMPT_FILE: file }).agent.systemPrompt).toBe('From a file.');
  });

  it('.env.example documents every variable loadConfig reads, and nothing else', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const documented = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    expect([...documented].sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('.env.example as it stands is a valid configuration once it opts in to dev mode (as `npm run dev` does), and refuses without', () => {
    const example = readFileSync(new URL('../.env.example', import.meta.url), 'utf8');
    const env = Object.fromEntries([...example.matchAll(/^([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1], m[2]]));
    expect(loadConfig({ ...env, ...DEV }).isSignatureCheckOn).toBe(false);
    expect(problemsOf(env)).toEqual([expect.stringMatching(/^TWILIO_AUTH_TOKEN is required \(it is blank\)/)]);
  });
});

describe('each bad variable is named with what it should be', () => {
  it.each([
    ['PORT', 'http', /PORT must be an integer from 0 to 65535 \(got "http"\)/],
    ['PORT', '70000', /PORT must be an integer from 0 to 65535/],
    ['PORT', '80.5', /PORT must be an integer/],
    ['HOST', 'a b', /HOST must be a host name or IP address/],
    ['PUBLIC_BASE_URL', 'voice.example.com', /PUBLIC_BASE_URL must be a URL starting with https:\/\/ or http:\/\//],
    ['PUBLIC_BASE_URL', 'wss://voice.example.com', /PUBLIC_BASE_URL must be a URL starting with/],
    ['PUBLIC_BASE_URL', 'https://voice.example.com/webhook', /PUBLIC_BASE_URL must be just scheme and host/],
    ['PUBLIC_BASE_URL', 'https://voice.example.com?x=1', /PUBLIC_BASE_URL must be just scheme and host/],
    ['TWILIO_ACCOUNT_SID', 'AC123', /TWILIO_ACCOUNT_SID must be AC followed by 32 hex digits/],
    ['STREAM_TOKEN_SECRET', 'short', /STREAM_TOKEN_SECRET must be at least 16 characters/],
    ['STREAM_TOKEN_TTL_S', '1', /STREAM_TOKEN_TTL_S must be a number of seconds from 5 to 600/],
    ['EDGE_THREADS', '300', /EDGE_THREADS must be an integer from 0 to 256/],
    ['DSP_THREADS', 'many', /DSP_THREADS must be an integer/],
    ['DRAIN_TIMEOUT_S', '-1', /DRAIN_TIMEOUT_S must be a number of seconds from 0 to 3600/],
    ['LOG_LEVEL', 'verbose', /LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent/],
    ['WS_MAX_PAYLOAD_BYTES', '100', /WS_MAX_PAYLOAD_BYTES must be a number of bytes from 1024/],
    ['WS_IDLE_TIMEOUT_S', '5', /WS_IDLE_TIMEOUT_S must be 0 \(off\) or from 8 to 960 seconds \(got "5"\)/],
    ['WS_IDLE_TIMEOUT_S', '961', /WS_IDLE_TIMEOUT_S must be 0 \(off\) or from 8 to 960 seconds/],
    ['WS_MAX_BACKPRESSURE_BYTES', '1k', /WS_MAX_BACKPRESSURE_BYTES must be a number of bytes/],
    ['SLOW_CLIENT_OVERFLOW_MS', '0', /SLOW_CLIENT_OVERFLOW_MS must be a number of milliseconds/],
    ['PLAYOUT_LEAD_FRAMES', '100', /PLAYOUT_LEAD_FRAMES must be a number of 20 ms frames from 0 to 50/],
    ['VAD_ONSET_MS', '5', /VAD_ONSET_MS must be a number of milliseconds from 20 to 2000/],
    ['VAD_HANGOVER_MS', 'x', /VAD_HANGOVER_MS must be a number of milliseconds/],
    ['VAD_MARGIN_DB', 'loud', /VAD_MARGIN_DB must be a number from 0 to 60/],
    ['VAD_MIN_SPEECH_DBFS', '10', /VAD_MIN_SPEECH_DBFS must be a number from -120 to 0/],
    ['TURN_MIN_MS', '-5', /TURN_MIN_MS must be a number of milliseconds/],
    ['TURN_MAX_MS', '10', /TURN_MAX_MS must be a number of milliseconds from 1000/],
    ['BARGE_IN', 'maybe', /BARGE_IN must be on or off/],
    ['BARGE_IN_MIN_SPEECH_MS', '9999', /BARGE_IN_MIN_SPEECH_MS must be a number of milliseconds from 0 to 5000/],
    ['AGENT', 'gpt', /AGENT must be one of echo, openai, ai/],
    ['LANGUAGE', 'hebrew', /LANGUAGE must be a language code such as he, he-IL/],
    ['LANGUAGE', 'zz', /LANGUAGE must carry a region for zz/],
    ['OPENAI_BASE_URL', 'localhost:1234', /OPENAI_BASE_URL must be a URL/],
    ['TTS_PROVIDER', 'azure', /TTS_PROVIDER must be one of google, openai/],
    ['GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON', '{"not":"creds"}', /GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON must be the whole service-account JSON/],
    ['GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON', '{broken', /GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON must be/],
    ['GOOGLE_APPLICATION_CREDENTIALS', '/nonexistent/creds.json', /GOOGLE_APPLICATION_CREDENTIALS must be the path of a readable credentials file/],
    ['GOOGLE_TTS_API_ENDPOINT', 'eu-texttospeech', /GOOGLE_TTS_API_ENDPOINT must be a URL/],
    ['GOOGLE_TTS_ENCODING', 'mp3', /GOOGLE_TTS_ENCODING must be one of LINEAR16, MULAW/],
    ['ASR_TIMEOUT_MS', '10', /ASR_TIMEOUT_MS must be a number of milliseconds from 100/],
    ['LLM_TIMEOUT_MS', 'soon', /LLM_TIMEOUT_MS must be a number of milliseconds/],
    ['TTS_TIMEOUT_MS', '999999', /TTS_TIMEOUT_MS must be a number of milliseconds/],
    ['SYSTEM_PROMPT_FILE', '/nonexistent/prompt.txt', /SYSTEM_PROMPT_FILE must be the path of a readable text file/],
  ])('%s=%s', (name, value, message) => {
    const problems = problemsOf({ ...DEV, [name]: value });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it('cross-checks: auth token without PUBLIC_BASE_URL, AI agent without key or TTS credentials, min >= max turn', () => {
    expect(problemsOf({ TWILIO_AUTH_TOKEN: AUTH })).toEqual([expect.stringMatching(/^PUBLIC_BASE_URL is required when TWILIO_AUTH_TOKEN is set/)]);
    expect(problemsOf({ ...DEV, AGENT: 'ai', TTS_PROVIDER: 'openai' })).toEqual([expect.stringMatching(/^OPENAI_API_KEY is required when AGENT is ai/)]);
    expect(problemsOf({ ...DEV, OPENAI_API_KEY: 'sk', TTS_PROVIDER: 'google' })).toEqual([
      expect.stringMatching(/^GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON \(or GOOGLE_APPLICATION_CREDENTIALS\) is required/),
    ]);
    expect(problemsOf({ ...DEV, TURN_MIN_MS: '5000', TURN_MAX_MS: '4000' })).toEqual(['TURN_MIN_MS (5000) must be less than TURN_MAX_MS (4000)']);
  });

  it('secrets are never echoed in messages', () => {
    const problems = problemsOf({ STREAM_TOKEN_SECRET: 'tiny-secret', OPENAI_API_KEY: 'sk with spaces', TWILIO_AUTH_TOKEN: 'has space' });
    expect(problems.join('\n')).not.toMatch(/tiny-secret|sk with spaces|has space/);
  });
});

describe('several bad variables are listed together', () => {
  it('one ConfigError names all of them, in one message', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ PORT: 'abc', WS_IDLE_TIMEOUT_S: '3', LOG_LEVEL: 'loud', TWILIO_AUTH_TOKEN: AUTH, BARGE_IN: '2' });
    } catch (err) {
      error = err as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error?.name).toBe('ConfigError');
    expect(error?.problems).toHaveLength(5);
    for (const name of ['PORT', 'WS_IDLE_TIMEOUT_S', 'LOG_LEVEL', 'PUBLIC_BASE_URL', 'BARGE_IN']) {
      expect(error?.message).toContain(`  - ${name}`);
    }
    expect(error?.message).toMatch(/^Invalid configuration \(5 problems\):\n/);
  });
});

describe('.env and threads', () => {
  it('loadDotEnv reads a file when it exists, and the real environment wins', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, '.env');
    const a = `AI_CRMD_TEST_A_${process.pid}`;
    const b = `AI_CRMD_TEST_B_${process.pid}`;
    writeFileSync(file, `${a}=from-file\n${b}=from-file\n`);
    process.env[a] = 'from-env';
    try {
      expect(loadDotEnv(join(dir, 'missing.env'))).toBe(false);
      expect(loadDotEnv(file)).toBe(true);
      expect(process.env[a]).toBe('from-env');
      expect(process.env[b]).toBe('from-file');
    } finally {
      delete process.env[a];
      delete process.env[b];
    }
  });

});

describe('security is on unless switched off on purpose', () => {
  const REFUSAL = /^TWILIO_AUTH_TOKEN is required\b.*INSECURE_DEV_MODE=1.*INSECURE_DEV_MODE=public/;

  it('a blank, missing or whitespace TWILIO_AUTH_TOKEN refuses, in one problem naming it and the INSECURE_DEV_MODE opt-in', () => {
    expect(problemsOf({ TWILIO_AUTH_TOKEN: '' })).toEqual([expect.stringMatching(REFUSAL)]);
    expect(problemsOf({ TWILIO_AUTH_TOKEN: '' })[0]).toContain('(it is blank)');
    expect(problemsOf({ TWILIO_AUTH_TOKEN: '   ' })).toEqual([expect.stringMatching(REFUSAL)]);
    expect(problemsOf({})).toEqual([expect.stringMatching(REFUSAL)]);
    expect(problemsOf({ INSECURE_DEV_MODE: '' })).toEqual([expect.stringMatching(REFUSAL)]);
    expect(problemsOf({ INSECURE_DEV_MODE: '0' })).toEqual([expect.stringMatching(/^TWILIO_AUTH_TOKEN is required.*\(INSECURE_DEV_MODE is 0\)/)]);
  });

  it('names a misspelled token or opt-in found in the environment, never its value', () => {
    for (const typo of ['TWILLIO_AUTH_TOKEN', 'TWILIO_AUTHTOKEN', 'twilio_auth_token', 'TWILIO_TOKEN', 'TWILIO-AUTH-TOKEN']) {
      const problems = problemsOf({ [typo]: 'value-of-the-token', PATH: '/usr/bin', HOME: '/home/x', TWILIO_ACCOUNT_SID: 'AC' + 'a'.repeat(32) });
      expect(problems, typo).toEqual([expect.stringMatching(REFUSAL)]);
      expect(problems[0], typo).toContain(`${typo} is set: a misspelling of TWILIO_AUTH_TOKEN?`);
      expect(problems[0], typo).not.toMatch(/value-of-the-token|PATH|HOME|TWILIO_ACCOUNT_SID/);
    }
    expect(problemsOf({ INSECURE_DEVMODE: '1' })[0]).toContain('INSECURE_DEVMODE is set: a misspelling of INSECURE_DEV_MODE?');
    expect(problemsOf({ TWILLIO_AUTH_TOKEN: '' })[0]).not.toContain('TWILLIO'); // a blank typo is not the cause
  });

  it('a bad INSECURE_DEV_MODE is one clear error listing 1, public and 0', () => {
    for (const value of ['yes', 'true', 'on', '2', 'loopback']) {
      expect(problemsOf({ INSECURE_DEV_MODE: value }), value).toEqual([
        `INSECURE_DEV_MODE must be 1 (no signature checks, loopback HOST only), public (no checks, any HOST or https:// PUBLIC_BASE_URL: on purpose) or 0 (off) (got ${JSON.stringify(value)})`,
      ]);
    }
    expect(loadConfig({ INSECURE_DEV_MODE: 'PUBLIC' }).insecureDevMode).toBe('public');
  });

  it('INSECURE_DEV_MODE=1 listens on 127.0.0.1 by default and accepts only loopback hosts', () => {
    expect(loadConfig(DEV)).toMatchObject({ host: '127.0.0.1', insecureDevMode: 'loopback', isSignatureCheckOn: false });
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) {
      expect(loadConfig({ ...DEV, HOST: host }).host, host).toBe(host);
    }
    for (const host of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.5', '128.0.0.1', 'fe80::1', '::ffff:10.0.0.1', 'my-laptop.local', '[::1]']) {
      expect(problemsOf({ ...DEV, HOST: host }), host).toEqual([
        expect.stringMatching(new RegExp(`^HOST must be a loopback address .* with INSECURE_DEV_MODE=1.*\\(got ${JSON.stringify(host).replace(/[[\]]/g, '\\$&')}\\).*INSECURE_DEV_MODE=public`)),
      ]);
    }
  });

  it('INSECURE_DEV_MODE=1 refuses an https:// PUBLIC_BASE_URL (a tunnel or TLS front end reaches it from outside)', () => {
    expect(problemsOf({ ...DEV, PUBLIC_BASE_URL: 'https://abc.ngrok.app' })).toEqual([
      expect.stringMatching(/^PUBLIC_BASE_URL must not be https:\/\/ with INSECURE_DEV_MODE=1.*INSECURE_DEV_MODE=public/),
    ]);
    expect(problemsOf({ ...DEV, PUBLIC_BASE_URL: 'HTTPS://abc.ngrok.app' })).toHaveLength(1);
    expect(loadConfig({ ...DEV, PUBLIC_BASE_URL: 'http://localhost:9000' }).publicBaseUrl).toBe('http://localhost:9000');
  });

  it('INSECURE_DEV_MODE=public allows any HOST and an https:// PUBLIC_BASE_URL, and says so', () => {
    const c = loadConfig({ INSECURE_DEV_MODE: 'public', HOST: '0.0.0.0', PUBLIC_BASE_URL: 'https://abc.ngrok.app' });
    expect(c).toMatchObject({ host: '0.0.0.0', publicBaseUrl: 'https://abc.ngrok.app', insecureDevMode: 'public', isSignatureCheckOn: false });
    expect(loadConfig({ INSECURE_DEV_MODE: 'public' }).host).toBe('0.0.0.0');
  });

  it('a token-ful configuration has mode off, even with INSECURE_DEV_MODE left over, and listens on 0.0.0.0 by default', () => {
    for (const mode of ['', '0', '1', 'public']) {
      const c = loadConfig({ ...SECURE, INSECURE_DEV_MODE: mode });
      expect(c, mode).toMatchObject({ insecureDevMode: 'off', isSignatureCheckOn: true, host: '0.0.0.0' });
    }
    expect(loadConfig({ ...SECURE, INSECURE_DEV_MODE: '1', HOST: '::' }).host).toBe('::');
  });
});

describe('TTS fail-over settings', () => {
  const BOTH = { ...DEV, OPENAI_API_KEY: 'sk-x', GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: GOOGLE_JSON };
  it('falls over to the other provider when both can be reached, and to none otherwise', () => {
    expect(loadConfig(BOTH).tts).toEqual({ provider: 'google', fallback: 'openai' });
    expect(loadConfig({ ...BOTH, TTS_PROVIDER: 'openai' }).tts).toEqual({ provider: 'openai', fallback: 'google' });
    expect(loadConfig({ ...DEV, OPENAI_API_KEY: 'sk-x', TTS_PROVIDER: 'openai' }).tts).toEqual({ provider: 'openai', fallback: undefined });
    expect(loadConfig({ ...BOTH, TTS_FALLBACK: 'none' }).tts).toEqual({ provider: 'google', fallback: undefined });
  });
  it('refuses a fallback that is the provider itself or cannot be reached', () => {
    expect(() => loadConfig({ ...BOTH, TTS_FALLBACK: 'google' })).toThrow(/TTS_FALLBACK must differ from TTS_PROVIDER/);
    expect(() => loadConfig({ ...DEV, OPENAI_API_KEY: 'sk-x', TTS_PROVIDER: 'openai', TTS_FALLBACK: 'google' })).toThrow(/TTS_FALLBACK=google needs GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON/);
  });
});
