// The AI agent's answer to a pending barge-in (PipelineAgent.askBargeInWords / bargeInWords, built by buildAgent with
// streaming ASR, the real realtime client against the fake realtime transcription server on 127.0.0.1): asked, it
// commits the turn's audio so far and says 'pending' until the words come back; then backchannels ("אהה", "כן, כן")
// say 'backchannel', real words 'words', and nothing usable (an empty transcript, a known ASR hallucination such as
// "תודה" on a noise, a failed transcription) 'unknown', so that the speech time decides. An answer that comes after
// its turn ended counts for nothing. With batch ASR the agent has no such seam (the engine asks nobody).
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../src/agent/factory.js';
import type { PipelineAgent } from '../../src/agent/pipeline.js';
import type { AgentContext, BargeInWords, HeardInfo } from '../../src/call/agent-contract.js';
import type { CommandResult } from '../../src/call/events.js';
import { DspPool } from '../../src/audio/pool.js';
import { loadConfig, type Config } from '../../src/config.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { sleep } from '../fakes/http-fake.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';

let guard: LoopbackGuard;
let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let pool: DspPool;
const account = fakeServiceAccount();
/** The next commits' transcripts, in order. */
const texts: string[] = [];

beforeAll(async () => {
  guard = guardLoopbackOnly();
  openaiFake = await startFakeOpenAI({ realtime: { transcript: () => texts.shift() ?? 'hello', delayMs: 30 } });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 30 });
  pool = new DspPool({ threads: 1 });
});

afterAll(async () => {
  await openaiFake?.close();
  await googleFake?.close();
  await pool?.destroy();
  guard?.restore();
  expect(guard.escapes).toEqual([]);
});

function configFor(asrModel: string): Config {
  return loadConfig({
    INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openaiFake.baseUrl, GOOGLE_TTS_API_ENDPOINT: googleFake.endpointUrl,
    GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: account.json, LANGUAGE: 'he', SYSTEM_PROMPT: 'You are a test agent.', OPENAI_ASR_MODEL: asrModel,
    EDGE_THREADS: '1', DSP_THREADS: '1', TTS_FALLBACK: 'none', EARLY_REPLY_PAUSE_MS: '0',
  });
}

function newContext(): AgentContext & { end(): void } {
  const controller = new AbortController();
  return {
    call: { callSid: 'CAtest', streamSid: 'MZtest', accountSid: 'ACtest', customParameters: {} },
    log: pino({ level: 'silent' }),
    signal: controller.signal,
    play: () => undefined, enqueue: () => undefined, endUtterance: () => undefined,
    stopPlayback: (): HeardInfo => ({ atMs: 0, utterances: [], framesHeard: 0 }),
    isPlaying: true,
    hangUp: () => controller.abort(new Error('hang-up')),
    report: () => undefined,
    command: (): CommandResult => ({ ok: false, code: 'not-supported', message: 'no commands here' }),
    end: () => controller.abort(new Error('call ended')),
  };
}

/** 300 ms of a 440 Hz tone at 8 kHz: the speech so far when the engine asks. */
const SPEECH = Int16Array.from({ length: 2400 }, (_v, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)));

async function newCall(asrModel: string): Promise<{ agent: PipelineAgent; ctx: ReturnType<typeof newContext> }> {
  const { agentFactory } = await buildAgent(configFor(asrModel), { audio: pool, metrics: { observeTurnLatency: () => {}, countProviderError: () => {} } });
  const ctx = newContext();
  const agent = agentFactory(ctx.call) as PipelineAgent;
  void agent.onCallStart(ctx);
  return { agent, ctx };
}

let nextTurnId = 1;
/** A turn over the agent whose barge-in asks for its words (again with a new turn until the socket is up). */
async function askedTurn(agent: PipelineAgent): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const turnId = nextTurnId++;
    agent.onTurnStarted!(turnId, 0, true);
    for (let at = 0; at < SPEECH.length; at += 800) agent.onTurnAudio!(turnId, SPEECH.subarray(at, at + 800));
    if (agent.askBargeInWords!(turnId)) return turnId;
    agent.onTurnAbandoned!(turnId);
    await sleep(20);
  }
  throw new Error('the realtime socket never came up');
}

async function settled(agent: PipelineAgent): Promise<BargeInWords> {
  for (let i = 0; i < 200 && agent.bargeInWords!() === 'pending'; i++) await sleep(10);
  return agent.bargeInWords!();
}

describe('the words said over the agent', () => {
  it("are 'pending' once asked for, then say backchannel, words or nothing usable", async () => {
    const { agent, ctx } = await newCall('gpt-4o-mini-transcribe');
    try {
      expect(agent.bargeInWords!()).toBe('unknown');
      const cases: Array<[string | 'fail', BargeInWords]> = [
        ['אהה', 'backchannel'], ['כן, כן.', 'backchannel'], ['רגע', 'words'], ['רגע, יש לי שאלה', 'words'],
        ['', 'unknown'], ['תודה.', 'unknown'], ['fail', 'unknown'],
      ];
      for (const [text, verdict] of cases) {
        if (text === 'fail') openaiFake.realtime.nextCommits.push('fail');
        else texts.push(text);
        const turnId = await askedTurn(agent);
        expect(agent.bargeInWords!(), text).toBe('pending');
        expect(await settled(agent), text).toBe(verdict);
        // the turn ends: the next one starts over
        agent.onTurnAbandoned!(turnId);
        expect(agent.bargeInWords!()).toBe('unknown');
      }
    } finally {
      agent.onCallEnd('stop');
      ctx.end();
    }
  });

  it('an answer that comes after its turn ended counts for nothing', async () => {
    const { agent, ctx } = await newCall('gpt-4o-mini-transcribe');
    const realtime = openaiFake.realtime;
    try {
      realtime.options.delayMs = 200;
      texts.push('רגע');
      const before = realtime.commits().length;
      const turnId = await askedTurn(agent);
      agent.onTurnAbandoned!(turnId);
      // the probe's words did come back, after its turn
      await realtime.waitFor(() => realtime.commits()[before]?.completedAtMs !== undefined, 3000);
      expect(realtime.commits()[before]!.text).toBe('רגע');
      await sleep(50);
      expect(agent.bargeInWords!()).toBe('unknown');
    } finally {
      realtime.options.delayMs = 30;
      agent.onCallEnd('stop');
      ctx.end();
    }
  });

  it('are not asked of an agent with batch ASR', async () => {
    const { agent, ctx } = await newCall('whisper-1');
    try {
      expect(agent.askBargeInWords).toBeUndefined();
      expect(agent.bargeInWords).toBeUndefined();
    } finally {
      agent.onCallEnd('stop');
      ctx.end();
    }
  });
});
