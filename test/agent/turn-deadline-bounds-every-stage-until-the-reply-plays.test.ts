// The turn's shared budget, stage by stage, with the AI agent driven like the call engine drives it (a recording
// AgentContext, the real DSP pool, the real SDKs against the local fakes): each stage's limit is the lesser of its own
// and what is left of the turn's, so a hung transcription or a hung first synthesis gives the fallback at the turn
// deadline although its own limit is longer; a stuck DSP pool gives the fallback at the pool's deadline, logged and
// counted once as provider "dsp-pool"; and once the reply's first sentence is playing, a later sentence that comes
// after the turn deadline is still spoken (the budget is for the first audio only). The end of speech is the agent's
// latency origin (the turn's arrival less the hangover, 0 here), so the deadline is counted from the onTurn call.
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildAgent } from '../../src/agent/factory.js';
import type { PipelineAgent, PipelineAudio } from '../../src/agent/pipeline.js';
import type { AgentContext, CallerTurn, HeardInfo, AgentReport } from '../../src/call/agent-contract.js';
import type { CommandResult } from '../../src/call/events.js';
import { DspPool } from '../../src/audio/pool.js';
import { loadConfig, type Config } from '../../src/config.js';
import { tonePcm } from '../fakes/audio.js';
import { fakeServiceAccount, ROUTE_SYNTHESIZE, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { ROUTE_ASR, ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const TURN_DEADLINE_MS = 1000;
const STAGE_TIMEOUT_MS = 1800; // each stage's own limit, longer than the turn's budget
const STALLED_WORKER = fileURLToPath(new URL('../fakes/stalled-dsp-worker.mjs', import.meta.url));

type Played = { type: 'enqueue' | 'end' | 'play'; id: string; atMs: number };

class RecordingContext implements AgentContext {
  readonly call = { callSid: 'CAdeadline', streamSid: 'MZdeadline', accountSid: 'ACtest', customParameters: {} };
  readonly played: Played[] = [];
  readonly lines: Array<Record<string, unknown>> = [];
  readonly log: Logger;
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;

  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    this.log = pino({ level: 'debug' }, sink);
  }

  play(_mulaw: Uint8Array, id: string): void { this.played.push({ type: 'play', id, atMs: performance.now() }); }
  enqueue(_mulaw: Uint8Array, id: string): void { this.played.push({ type: 'enqueue', id, atMs: performance.now() }); }
  endUtterance(id: string): void { this.played.push({ type: 'end', id, atMs: performance.now() }); }
  stopPlayback(): HeardInfo { return { atMs: 0, utterances: [], framesHeard: 0 }; }
  get isPlaying(): boolean { return false; }
  hangUp(): void { this.controller.abort(new Error('hang-up')); }
  command(): CommandResult { return { ok: false, code: 'not-supported', message: 'this test context takes no commands' }; }
  readonly reports: AgentReport[] = [];
  report(report: AgentReport): void { this.reports.push(report); }
}

/** A loud enough 2 s turn (the transcript comes from the fake, so the audio only has to pass the energy gates). */
function turn(turnId: number): CallerTurn {
  const pcm8k = tonePcm(8000, 2000, 300, 8000);
  return { turnId, pcm8k, startMs: 0, endMs: 2000, durationMs: 2000, endReason: 'silence', peakDbfs: -12, meanDbfs: -15, wasBargeIn: false };
}

let guard: LoopbackGuard;
let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let pool: DspPool;
let config: Config;
const account = fakeServiceAccount();

beforeAll(async () => {
  guard = guardLoopbackOnly();
  openaiFake = await startFakeOpenAI({ transcript: () => 'hello there', reply: () => 'Sure thing. I can book that.', chunkChars: 4, chunkDelayMs: 2 });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 20 });
  pool = new DspPool({ threads: 1 });
  config = loadConfig({
    OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openaiFake.baseUrl, GOOGLE_TTS_API_ENDPOINT: googleFake.endpointUrl,
    GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: account.json, LANGUAGE: 'en', SYSTEM_PROMPT: 'You are a test agent.',
    ASR_TIMEOUT_MS: String(STAGE_TIMEOUT_MS), LLM_TIMEOUT_MS: String(STAGE_TIMEOUT_MS), TTS_TIMEOUT_MS: String(STAGE_TIMEOUT_MS),
    TURN_DEADLINE_MS: String(TURN_DEADLINE_MS), EDGE_THREADS: '1', DSP_THREADS: '1', INSECURE_DEV_MODE: '1',
  });
});

afterAll(async () => {
  await openaiFake?.close();
  await googleFake?.close();
  await pool?.destroy();
  guard?.restore();
  expect(guard.escapes).toEqual([]);
});

beforeEach(() => {
  for (const fake of [openaiFake, googleFake]) {
    fake.behaviour.clear();
    fake.nextBehaviours.clear();
  }
  openaiFake.options.chunkDelayMs = 2;
  openaiFake.options.reply = () => 'Sure thing. I can book that.';
});

const NO_METRICS = { observeTurnLatency: () => {}, countProviderError: () => {} };

/** A call with no greeting and the hangover at 0 (the end of speech is the onTurn call); errors are collected. */
async function newCall(audio: PipelineAudio = pool): Promise<{ agent: PipelineAgent; ctx: RecordingContext; errors: string[][] }> {
  const errors: string[][] = [];
  const { agentFactory: factory } = await buildAgent(config, {
    audio, metrics: NO_METRICS, pipeline: { greeting: '', hangoverMs: 0, onProviderError: (provider, kind) => errors.push([provider, kind]) },
  });
  const ctx = new RecordingContext();
  const agent = factory(ctx.call) as PipelineAgent;
  await agent.onCallStart(ctx);
  return { agent, ctx, errors };
}

const providerErrors = (ctx: RecordingContext) => ctx.lines.filter((l) => l['event'] === 'PROVIDER_ERROR').map((l) => [l['provider'], l['errKind']]);

describe("a turn's shared deadline", () => {
  it.each([
    ['transcription hangs', 'openai-asr', () => openaiFake.behaviour.set(ROUTE_ASR, 'hang')],
    ["the first sentence's synthesis hangs", 'google-tts', () => googleFake.nextBehaviours.set(ROUTE_SYNTHESIZE, ['hang'])],
  ])('%s: the fallback plays at the turn deadline, before the stage\'s own limit', async (_name, provider, breakIt) => {
    const { agent, ctx, errors } = await newCall();
    // the fallback line is ready (synthesized at call start) before the failure is set up
    await googleFake.waitFor(() => googleFake.of(ROUTE_SYNTHESIZE).some((r) => r.isComplete), 3000);
    breakIt();
    const endOfSpeechMs = performance.now();
    await agent.onTurn(turn(1), new AbortController().signal);
    const fallback = ctx.played.find((p) => p.id.startsWith('fallback-1'));
    expect(fallback?.type).toBe('play');
    const afterMs = (fallback?.atMs ?? Infinity) - endOfSpeechMs;
    expect(afterMs).toBeGreaterThanOrEqual(TURN_DEADLINE_MS - 5);
    // well before the stage's own 1800 ms (what the fallback waited for before the budget was shared)
    expect(afterMs).toBeLessThan(STAGE_TIMEOUT_MS - 300);
    expect(providerErrors(ctx)).toEqual([[provider, 'timeout']]);
    expect(errors).toEqual([[provider, 'timeout']]);
    agent.onCallEnd('stop');
  });

  it('does not bind the sentences after the first: a reply that is already playing is spoken to its end', async () => {
    // the second sentence's last chunk comes about 1.4 s after the end of speech, past the 1 s turn deadline
    openaiFake.options.chunkDelayMs = 200;
    openaiFake.options.reply = () => 'Sure thing. I can book that for you.';
    const { agent, ctx } = await newCall();
    const endOfSpeechMs = performance.now();
    await agent.onTurn(turn(2), new AbortController().signal);
    const reply = ctx.played.filter((p) => p.id === 'reply-2');
    expect(reply.map((p) => p.type), JSON.stringify(ctx.lines.filter((l) => l['level'] !== 30))).toEqual(['enqueue', 'enqueue', 'end']);
    expect((reply[0]?.atMs ?? Infinity) - endOfSpeechMs).toBeLessThan(TURN_DEADLINE_MS);
    expect((reply[1]?.atMs ?? 0) - endOfSpeechMs).toBeGreaterThan(TURN_DEADLINE_MS);
    expect(ctx.played.filter((p) => p.id.startsWith('fallback'))).toEqual([]);
    expect(providerErrors(ctx)).toEqual([]);
    agent.onCallEnd('stop');
  });

  it('a stuck DSP pool gives the fallback at the pool deadline, logged and counted once as dsp-pool', async () => {
    const stalled = new DspPool({ threads: 1, workerFilename: STALLED_WORKER, jobTimeoutMs: 300 });
    try {
      const { agent, ctx, errors } = await newCall(stalled);
      const asrBefore = openaiFake.of(ROUTE_ASR).length;
      const endOfSpeechMs = performance.now();
      await agent.onTurn(turn(3), new AbortController().signal);
      const fallback = ctx.played.find((p) => p.id.startsWith('fallback-3'));
      expect(fallback?.type).toBe('play');
      expect((fallback?.atMs ?? Infinity) - endOfSpeechMs).toBeLessThan(TURN_DEADLINE_MS);
      expect(openaiFake.of(ROUTE_ASR).length).toBe(asrBefore); // the WAV never came out of the pool
      expect(providerErrors(ctx)).toEqual([['dsp-pool', 'timeout']]);
      expect(errors).toEqual([['dsp-pool', 'timeout']]);
      expect(ctx.lines.find((l) => l['event'] === 'PROVIDER_ERROR')?.['msg']).toMatch(/dsp job utteranceToWav16k: no result within 300 ms/);
      agent.onCallEnd('stop');
    } finally {
      await stalled.destroy();
    }
  });
});
