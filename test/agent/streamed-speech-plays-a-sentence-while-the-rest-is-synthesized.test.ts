// Streamed TTS through the whole AI pipeline (buildAgent -> PipelineAgent, the real DSP pool, the real openai SDK
// against the local fake, which sends each sentence's PCM in odd-sized pieces): a sentence's first frames are
// enqueued while the fake still holds the rest of its audio back (and the turn's first_audio is marked then); all
// that is enqueued equals the whole-sentence pool conversion of the audio the fake sent, byte for byte; a barge-in
// mid-sentence closes the speech request and nothing more of it is enqueued; a stream that fails before its first
// piece fails over to Google inside the turn; one that breaks mid-sentence keeps what was enqueued, is logged, and
// the reply goes on with the next sentence; the turn's budget still bounds the wait for the first piece. With Google
// (synthesized a sentence at a time: its voice here is not a Chirp 3: HD one, the only kind that streams), a long
// first sentence reaches it as its first clause alone, so that its whole-sentence synthesis of the first audio is
// shorter.
// No connection leaves 127.0.0.1.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearFallbackCache } from '../../src/agent/fallback-audio.js';
import { buildAgent } from '../../src/agent/factory.js';
import type { TurnStage } from '../../src/agent/latency.js';
import type { PipelineAgent } from '../../src/agent/pipeline.js';
import type { AgentContext, AgentReport, CallerTurn, HeardInfo } from '../../src/call/agent-contract.js';
import type { CommandResult } from '../../src/call/events.js';
import { mulawDecode } from '../../src/audio/dsp.js';
import { DspPool } from '../../src/audio/pool.js';
import { loadConfig, type Config } from '../../src/config.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { ROUTE_SPEECH, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const FRAME_BYTES = 160;

type Played = { type: 'enqueue' | 'end' | 'play'; id: string; bytes: Uint8Array };

class RecordingContext implements AgentContext {
  readonly call = { callSid: 'CAstream', streamSid: 'MZstream', accountSid: 'ACstream', customParameters: {} };
  readonly played: Played[] = [];
  readonly lines: Array<Record<string, unknown>> = [];
  readonly reports: AgentReport[] = [];
  readonly log: Logger;
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  private waiters: Array<() => void> = [];

  constructor() {
    const sink = new Writable({
      write: (chunk: Buffer, _enc, done) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) this.lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    this.log = pino({ level: 'debug' }, sink);
  }

  private push(entry: Played): void {
    this.played.push(entry);
    for (const wake of this.waiters.splice(0)) wake();
  }
  play(mulaw: Uint8Array, id: string): void { this.push({ type: 'play', id, bytes: mulaw.slice() }); }
  enqueue(mulaw: Uint8Array, id: string): void { this.push({ type: 'enqueue', id, bytes: mulaw.slice() }); }
  endUtterance(id: string): void { this.push({ type: 'end', id, bytes: new Uint8Array(0) }); }
  stopPlayback(): HeardInfo { return { atMs: 0, utterances: [], framesHeard: 0 }; }
  get isPlaying(): boolean { return false; }
  hangUp(): void { this.controller.abort(new Error('hang-up')); }
  command(): CommandResult { return { ok: false, code: 'not-supported', message: 'no commands here' }; }
  report(report: AgentReport): void { this.reports.push(report); }
  endCall(): void { this.controller.abort(new Error('call ended')); }

  of(id: string): Played[] {
    return this.played.filter((p) => p.id === id);
  }

  async until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate()) {
      if (performance.now() > deadline) throw new Error(`timed out; played: ${JSON.stringify(this.played.map((p) => [p.type, p.id, p.bytes.length]))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
  }
}

const conv = new Uint8Array(readFileSync(new URL('../fixtures/conv-he.8k.ul', import.meta.url)));
function turn(turnId: number): CallerTurn {
  const pcm8k = mulawDecode(conv.subarray(0.5 * 8000, 4.96 * 8000));
  return { turnId, pcm8k, startMs: 500, endMs: 4960, durationMs: Math.round(pcm8k.length / 8), endReason: 'silence', peakDbfs: -6, meanDbfs: -24, wasBargeIn: false };
}

/** A promise the test resolves itself: the fake holds a speech body back until then. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const REPLY = 'Sure, one moment. I can help you with that today.';
const FIRST = 'Sure, one moment.';
const SECOND = 'I can help you with that today.';
let guard: LoopbackGuard;
let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let pool: DspPool;
let config: Config;
const stages: Array<{ stage: TurnStage; speechPiecesSent: number }> = [];
const NO_METRICS = { observeTurnLatency: () => {}, countProviderError: () => {} };

beforeAll(async () => {
  guard = guardLoopbackOnly();
  // 4801 bytes: every piece ends in the middle of a sample, and a piece is ~100 ms of 24 kHz audio
  openaiFake = await startFakeOpenAI({ transcript: () => 'can you help me', reply: () => REPLY, chunkChars: 4, chunkDelayMs: 1, speechChunkBytes: 4801, speechMsPerChar: 40 });
  const account = fakeServiceAccount();
  googleFake = await startFakeGoogleTts({ account, msPerChar: 30 });
  pool = new DspPool({ threads: 1 });
  config = loadConfig({
    INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openaiFake.baseUrl, TTS_PROVIDER: 'openai', TTS_FALLBACK: 'google',
    GOOGLE_TTS_API_ENDPOINT: googleFake.endpointUrl, GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: account.json, LANGUAGE: 'en', GREETING: '',
    SYSTEM_PROMPT: 'You are a test agent.', TTS_TIMEOUT_MS: '3000', TURN_DEADLINE_MS: '2500', EDGE_THREADS: '1', DSP_THREADS: '1',
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
  clearFallbackCache();
  openaiFake.nextBehaviours.clear();
  openaiFake.behaviour.clear();
  googleFake.behaviour.clear();
  delete openaiFake.options.speechHold;
  delete openaiFake.options.speechCutAfterPieces;
  delete openaiFake.options.speechFirstChunkDelayMs;
  stages.length = 0;
});

async function newCall(): Promise<{ agent: PipelineAgent; ctx: RecordingContext }> {
  const onTurnLatency = (stage: TurnStage): void => {
    stages.push({ stage, speechPiecesSent: openaiFake.speechAnswers().at(-1)?.piecesSent ?? 0 });
  };
  const { agentFactory } = await buildAgent(config, { audio: pool, metrics: NO_METRICS, pipeline: { onTurnLatency } });
  const ctx = new RecordingContext();
  const agent = agentFactory(ctx.call) as PipelineAgent;
  await agent.onCallStart(ctx);
  return { agent, ctx };
}

const speechOf = (input: string) => openaiFake.of(ROUTE_SPEECH).filter((r) => (r.parsed as { input?: string } | undefined)?.input === input);
const bytesOf = (played: Played[]): number => played.reduce((n, p) => n + p.bytes.length, 0);
const concat = (parts: Uint8Array[]): Buffer => Buffer.concat(parts.map((p) => Buffer.from(p)));

describe('streamed TTS in the pipeline', () => {
  it("enqueues a sentence's first frames while the rest of its audio is still held back by the provider", async () => {
    const hold = gate();
    openaiFake.options.speechHold = (_index, input) => (input === FIRST ? hold.promise : undefined);
    const { agent, ctx } = await newCall();
    const done = agent.onTurn(turn(1), new AbortController().signal);
    await ctx.until(() => ctx.of('reply-1').some((p) => p.type === 'enqueue'));
    // the provider has sent one piece and holds the rest: what is enqueued came from that piece alone
    const request = speechOf(FIRST).at(-1);
    expect(request?.isComplete).toBe(false);
    expect(openaiFake.speechAnswers().find((a) => a.input === FIRST)?.piecesSent).toBe(1);
    expect(bytesOf(ctx.of('reply-1'))).toBeGreaterThan(0);
    expect(bytesOf(ctx.of('reply-1')) % FRAME_BYTES).toBe(0);
    // the turn's first audio was marked on that first piece, before the rest of the sentence came
    expect(stages.find((s) => s.stage === 'first_audio')?.speechPiecesSent).toBe(1);
    hold.open();
    await done;
    expect(ctx.of('reply-1').at(-1)?.type).toBe('end');
    const said = ctx.lines.filter((l) => l['event'] === 'TTS_SUCCESS' && l['utteranceId'] === 'reply-1');
    expect(said.map((l) => [l['isStreamed'], l['provider']])).toEqual([[true, 'openai-tts'], [true, 'openai-tts']]);
    expect((said[0]?.['pieces'] as number)).toBeGreaterThan(1);
    agent.onCallEnd('stop');
  });

  it('enqueues exactly what the whole-sentence pool job makes of the same audio: nothing lost or doubled at the odd cuts', async () => {
    const { agent, ctx } = await newCall();
    await agent.onTurn(turn(2), new AbortController().signal);
    const answers = openaiFake.speechAnswers();
    const expected: Uint8Array[] = [];
    for (const text of [FIRST, SECOND]) {
      const pcm = answers.findLast((a) => a.input === text)!.pcm;
      const samples = new Int16Array(new Uint8Array(pcm).buffer.slice(pcm.byteOffset, pcm.byteOffset + pcm.length));
      expected.push(await pool.pcmToMulawFrames(samples, 24_000));
    }
    const enqueued = ctx.of('reply-2').filter((p) => p.type === 'enqueue');
    expect(enqueued.length).toBeGreaterThan(2); // in pieces, not one per sentence
    expect(concat(enqueued.map((p) => p.bytes)).equals(concat(expected))).toBe(true);
    agent.onCallEnd('stop');
  });

  it('a barge-in mid-sentence closes the speech request, and nothing more of that sentence is enqueued', async () => {
    const hold = gate();
    openaiFake.options.speechHold = (_index, input) => (input === FIRST ? hold.promise : undefined);
    const { agent, ctx } = await newCall();
    const secondBefore = speechOf(SECOND).length;
    const done = agent.onTurn(turn(3), new AbortController().signal);
    await ctx.until(() => ctx.of('reply-3').some((p) => p.type === 'enqueue'));
    const before = ctx.played.length;
    agent.onBargeIn({ atMs: 0, framesHeard: 0, utterances: [{ utteranceId: 'reply-3', framesQueued: 1, framesSent: 0, framesHeard: 0, wasEnded: false }] });
    // the reply is held until the interrupting turn is known (barge-in-hold.ts): it is real, so the reply is cut
    const next = agent.onTurn({ ...turn(30), wasBargeIn: true }, new AbortController().signal);
    const request = speechOf(FIRST).at(-1)!;
    await openaiFake.waitFor(() => request.wasAbortedByClient, 5000);
    hold.open();
    await done;
    await next;
    // (its end follows, as for any reply cut by a barge-in; the playout has cleared it already)
    expect(ctx.played.slice(before).filter((p) => p.id === 'reply-3' && p.type !== 'end')).toEqual([]);
    // the second sentence was synthesized once: for the interrupting turn's own reply, never for reply-3
    expect(speechOf(SECOND)).toHaveLength(secondBefore + 1);
    agent.onCallEnd('stop');
  });

  it('a stream that breaks before its first piece fails over to the next synthesizer inside the turn', async () => {
    // the answer's headers say 200, then its socket closes before any audio
    openaiFake.options.speechCutAfterPieces = (_index, input) => (input === FIRST ? 0 : undefined);
    const googleBefore = googleFake.texts().length;
    const { agent, ctx } = await newCall();
    await agent.onTurn(turn(4), new AbortController().signal);
    expect(googleFake.texts().slice(googleBefore)).toEqual([FIRST]);
    const said = ctx.lines.filter((l) => l['event'] === 'TTS_SUCCESS' && l['utteranceId'] === 'reply-4');
    // Google cannot stream: its sentence is one whole piece (converted in the pool); the next sentence streams again
    expect(said.map((l) => [l['provider'], l['pieces']])).toEqual([['google-tts', 1], ['openai-tts', expect.any(Number)]]);
    expect(ctx.reports).toContainEqual({ kind: 'note', note: 'providers', data: { utteranceId: 'reply-4', tts: ['google-tts', 'openai-tts'], llm: 'openai-llm' } });
    agent.onCallEnd('stop');
  });

  it('a stream that breaks mid-sentence keeps what was enqueued, is logged, and the reply goes on with the next sentence', async () => {
    openaiFake.options.speechCutAfterPieces = (_index, input) => (input === FIRST ? 1 : undefined);
    const googleBefore = googleFake.texts().length;
    const { agent, ctx } = await newCall();
    await agent.onTurn(turn(5), new AbortController().signal);
    const said = ctx.lines.filter((l) => l['event'] === 'TTS_SUCCESS' && l['utteranceId'] === 'reply-5');
    const whole = Math.ceil((FIRST.length * 40 * 8) / FRAME_BYTES);
    expect(said).toHaveLength(2);
    expect(said[0]?.['frames']).toBeGreaterThan(0);
    expect(said[0]?.['frames']).toBeLessThan(whole);
    // not started again in another voice: the caller heard its start in this one
    expect(googleFake.texts().slice(googleBefore)).toEqual([]);
    const failure = ctx.lines.find((l) => l['event'] === 'PROVIDER_ERROR' && String(l['where']).includes('mid-stream'));
    expect(failure?.['provider']).toBe('openai-tts');
    expect(speechOf(SECOND).at(-1)?.isComplete).toBe(true);
    expect(ctx.of('reply-5').at(-1)?.type).toBe('end');
    agent.onCallEnd('stop');
  });

  it("the turn's budget still bounds the wait for the first piece: the request is closed and the fallback plays", async () => {
    const { agent, ctx } = await newCall();
    openaiFake.options.speechFirstChunkDelayMs = 10_000;
    googleFake.behaviour.set('POST /v1/text:synthesize', 'hang');
    await agent.onTurn(turn(6), new AbortController().signal);
    expect(ctx.played.some((p) => p.type === 'play' && p.id.startsWith('fallback-6'))).toBe(true);
    expect(ctx.of('reply-6')).toEqual([]);
    const request = speechOf(FIRST).at(-1)!;
    await openaiFake.waitFor(() => request.wasAbortedByClient, 3000);
    agent.onCallEnd('stop');
  }, 10_000);

  it('with Google (whole sentences), a long first sentence is synthesized as its first clause first', async () => {
    const googleConfig = loadConfig({
      INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openaiFake.baseUrl, TTS_PROVIDER: 'google', TTS_FALLBACK: 'none',
      GOOGLE_TTS_API_ENDPOINT: googleFake.endpointUrl, GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: config.google.credentialsJson, LANGUAGE: 'he', GREETING: '',
      SYSTEM_PROMPT: 'You are a test agent.', TTS_TIMEOUT_MS: '3000', TURN_DEADLINE_MS: '4000', EDGE_THREADS: '1', DSP_THREADS: '1',
    });
    const long = 'בדקתי את היומן של המרפאה למחר בבוקר, ויש תור פנוי בשעה עשר בדיוק. זה מתאים לך?';
    const reply = openaiFake.options.reply;
    openaiFake.options.reply = () => long;
    try {
      const { agentFactory } = await buildAgent(googleConfig, { audio: pool, metrics: NO_METRICS });
      const ctx = new RecordingContext();
      const agent = agentFactory(ctx.call) as PipelineAgent;
      await agent.onCallStart(ctx);
      const before = googleFake.texts().length;
      await agent.onTurn(turn(7), new AbortController().signal);
      expect(googleFake.texts().slice(before)).toEqual(['בדקתי את היומן של המרפאה למחר בבוקר,', 'ויש תור פנוי בשעה עשר בדיוק.', 'זה מתאים לך?']);
      const said = ctx.lines.filter((l) => l['event'] === 'TTS_SUCCESS' && l['utteranceId'] === 'reply-7');
      expect(said.map((l) => [l['provider'], l['isStreamed'], l['pieces']])).toEqual([['google-tts', false, 1], ['google-tts', false, 1], ['google-tts', false, 1]]);
      agent.onCallEnd('stop');
    } finally {
      openaiFake.options.reply = reply;
    }
  });
});
