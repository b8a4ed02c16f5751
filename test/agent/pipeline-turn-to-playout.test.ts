// The AI agent (buildAgent -> PipelineAgent) driven like the call engine drives it, with a recording
// AgentContext, the real DSP pool, and the real SDKs against local fakes: the greeting is spoken at call start; a
// caller turn becomes a 16 kHz WAV upload, a streamed reply cut into sentences, each synthesized and enqueued in
// order, then the utterance ends; no sentence carries a WAV header; a barge-in aborts the reply in flight (the fake
// sees its socket close) and the history keeps only what was heard; failures (ASR 500, LLM hang, TTS down) give the
// fallback line (or the tone) within 2 s; quiet turns are not sent. No connection leaves 127.0.0.1.
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clearFallbackCache, defaultFallbackLine } from '../../src/agent/fallback-audio.js';
import { buildAgent } from '../../src/agent/factory.js';
import { CUT_MARK, heardText } from '../../src/agent/heard-text.js';
import type { TurnLatencyObserver } from '../../src/agent/latency.js';
import type { PipelineAgent } from '../../src/agent/pipeline.js';
import type { AgentContext, CallerTurn, HeardInfo, AgentReport } from '../../src/call/agent-contract.js';
import type { CommandResult } from '../../src/call/events.js';
import { mulawDecode } from '../../src/audio/dsp.js';
import { DspPool } from '../../src/audio/pool.js';
import { loadConfig, type Config } from '../../src/config.js';
import { fakeServiceAccount, ROUTE_SYNTHESIZE, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { ROUTE_ASR, ROUTE_CHAT, ROUTE_SPEECH, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const FRAME_BYTES = 160;

/** What the call engine would have done with the agent's audio. */
type Played = { type: 'enqueue' | 'end' | 'play'; id: string; bytes: Uint8Array; atMs: number };

class RecordingContext implements AgentContext {
  readonly call = { callSid: 'CAtest', streamSid: 'MZtest', accountSid: 'ACtest', customParameters: {} };
  readonly played: Played[] = [];
  readonly lines: Array<Record<string, unknown>> = [];
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

  private push(entry: Omit<Played, 'atMs'>): void {
    this.played.push({ ...entry, atMs: performance.now() });
    for (const wake of this.waiters.splice(0)) wake();
  }
  play(mulaw: Uint8Array, id: string): void { this.push({ type: 'play', id, bytes: mulaw.slice() }); }
  enqueue(mulaw: Uint8Array, id: string): void { this.push({ type: 'enqueue', id, bytes: mulaw.slice() }); }
  endUtterance(id: string): void { this.push({ type: 'end', id, bytes: new Uint8Array(0) }); }
  stopPlayback(): HeardInfo { return { atMs: 0, utterances: [], framesHeard: 0 }; }
  get isPlaying(): boolean { return false; }
  hangUp(): void { this.controller.abort(new Error('hang-up')); }
  command(): CommandResult { return { ok: false, code: 'not-supported', message: 'this test context takes no commands' }; }
  readonly reports: AgentReport[] = [];
  report(report: AgentReport): void { this.reports.push(report); }
  endCall(): void { this.controller.abort(new Error('call ended')); }

  /** Resolves when `predicate` holds over what was played so far. */
  async until(predicate: (played: Played[]) => boolean, timeoutMs = 5000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate(this.played)) {
      if (performance.now() > deadline) throw new Error(`timed out; played: ${JSON.stringify(this.played.map((p) => [p.type, p.id, p.bytes.length]))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
}

// The Hebrew reference call's first utterance (0.5 s to 4.957 s), as the engine hands a turn over.
const conv = new Uint8Array(readFileSync(new URL('../fixtures/conv-he.8k.ul', import.meta.url)));
function hebrewTurn(turnId: number, overrides: Partial<CallerTurn> = {}): CallerTurn {
  const pcm8k = mulawDecode(conv.subarray(0.5 * 8000, 4.96 * 8000));
  return {
    turnId, pcm8k, startMs: 500, endMs: 4960, durationMs: Math.round(pcm8k.length / 8), endReason: 'silence',
    peakDbfs: -6, meanDbfs: -24, wasBargeIn: false, ...overrides,
  };
}

let guard: LoopbackGuard;
let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let pool: DspPool;
let config: Config;
const account = fakeServiceAccount();
const GREETING = 'שלום, במה אפשר לעזור?';
const REPLY = 'בשמחה. יש תור פנוי מחר בעשר! זה מתאים לך?';
const latencies: string[] = [];
/** Every stage of every turn of these calls, as the thread's metrics would see them. */
const onTurnLatency: TurnLatencyObserver = (stage) => latencies.push(stage);

beforeAll(async () => {
  guard = guardLoopbackOnly();
  openaiFake = await startFakeOpenAI({ transcript: () => 'אני רוצה לקבוע תור למחר', reply: () => REPLY, chunkChars: 3, chunkDelayMs: 2 });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 30 });
  pool = new DspPool({ threads: 1 });
  config = loadConfig({
    INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openaiFake.baseUrl, GOOGLE_TTS_API_ENDPOINT: googleFake.endpointUrl,
    GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: account.json, LANGUAGE: 'he', GREETING, SYSTEM_PROMPT: 'You are a test agent.',
    ASR_TIMEOUT_MS: '600', LLM_TIMEOUT_MS: '600', TTS_TIMEOUT_MS: '600', EDGE_THREADS: '1', DSP_THREADS: '1', TTS_FALLBACK: 'none',
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
  openaiFake.nextBehaviours.clear();
  openaiFake.behaviour.clear();
  googleFake.nextBehaviours.clear();
  googleFake.behaviour.clear();
});

const NO_METRICS = { observeTurnLatency: () => {}, countProviderError: () => {} };

async function newCall(): Promise<{ agent: PipelineAgent; ctx: RecordingContext }> {
  const { agentFactory: factory } = await buildAgent(config, { audio: pool, metrics: NO_METRICS, pipeline: { onTurnLatency } });
  const ctx = new RecordingContext();
  return { agent: factory(ctx.call) as PipelineAgent, ctx };
}

const maxAbsOfFirstFrame = (mulaw: Uint8Array): number => Math.max(...Array.from(mulawDecode(mulaw.subarray(0, FRAME_BYTES)), Math.abs));
const line = (ctx: RecordingContext, event: string) => ctx.lines.find((l) => l['event'] === event);

describe('the AI pipeline', () => {
  it('greets, then turns a caller turn into a WAV upload, a streamed reply and sentences played in order', async () => {
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx);
    expect(ctx.played.map((p) => [p.type, p.id])).toEqual([['enqueue', 'greeting'], ['end', 'greeting']]);
    expect(agent.history).toEqual([{ role: 'assistant', content: GREETING }]);

    const turn = hebrewTurn(1);
    const samples8k = turn.pcm8k.length;
    await agent.onTurn(turn, new AbortController().signal);

    // the upload: a valid 16 kHz WAV of the turn, Hebrew set
    const upload = openaiFake.uploads().at(-1);
    expect(upload?.wavError).toBeUndefined();
    expect(upload?.wav?.sampleRateHz).toBe(16_000);
    expect(Math.abs((upload?.wav?.samples.length ?? 0) - 2 * samples8k)).toBeLessThanOrEqual(16);
    expect(upload?.fields['language']).toBe('he');
    expect(upload?.fields['model']).toBe('whisper-1');
    // the chat request: system prompt, the greeting, what the caller said
    expect(openaiFake.chatBodies().at(-1)?.messages).toEqual([
      { role: 'system', content: 'You are a test agent.' },
      { role: 'assistant', content: GREETING },
      { role: 'user', content: 'אני רוצה לקבוע תור למחר' },
    ]);
    // three sentences, synthesized in order (the fallback line was synthesized at call start too)
    const replyTexts = googleFake.texts().filter((t) => t !== GREETING && t !== defaultFallbackLine('he'));
    expect(replyTexts.slice(-3)).toEqual(['בשמחה.', 'יש תור פנוי מחר בעשר!', 'זה מתאים לך?']);
    expect(googleFake.texts()).toContain(defaultFallbackLine('he'));
    const reply = ctx.played.filter((p) => p.id === 'reply-1');
    expect(reply.map((p) => p.type)).toEqual(['enqueue', 'enqueue', 'enqueue', 'end']);
    for (const chunk of reply.filter((p) => p.type === 'enqueue')) {
      expect(chunk.bytes.length % FRAME_BYTES).toBe(0);
      expect(Buffer.from(chunk.bytes.subarray(0, 4)).toString('latin1')).not.toBe('RIFF');
      // no header click: the tone starts at zero phase with amplitude 2000 ("RI" as a sample would be 18770)
      expect(maxAbsOfFirstFrame(chunk.bytes)).toBeLessThan(2600);
    }
    expect(agent.history.at(-1)).toEqual({ role: 'assistant', content: 'בשמחה. יש תור פנוי מחר בעשר! זה מתאים לך?' });
    // latency in the log lines and to the observers
    expect(line(ctx, 'ASR_TEXT')).toMatchObject({ turnId: 1, text: 'אני רוצה לקבוע תור למחר', language: 'he' });
    expect(line(ctx, 'ASR_TEXT')?.['transcriptMs']).toBeTypeOf('number');
    const tts = ctx.lines.find((l) => l['event'] === 'TTS_SUCCESS' && l['utteranceId'] === 'reply-1');
    expect(Object.keys(tts ?? {})).toEqual(expect.arrayContaining(['transcriptMs', 'firstTokenMs', 'firstAudioMs']));
    expect(latencies).toEqual(expect.arrayContaining(['transcript', 'first_token', 'first_audio']));
    // first_frame waits for the playout to write the reply's first frame (here 250 ms after it was enqueued)
    expect(latencies).not.toContain('first_frame');
    expect(tts?.['firstFrameMs']).toBeUndefined();
    const enqueuedAtMs = reply[0]!.atMs;
    agent.onUtteranceStarted('reply-1', enqueuedAtMs + 250);
    agent.onUtteranceStarted('reply-1', enqueuedAtMs + 900); // once per turn
    expect(latencies.filter((stage) => stage === 'first_frame')).toHaveLength(1);
    const sent = ctx.lines.filter((l) => l['event'] === 'REPLY_FIRST_FRAME' && l['stage'] === 'first_frame');
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ utteranceId: 'reply-1' });
    expect(Object.keys(sent[0] ?? {})).toEqual(expect.arrayContaining(['transcriptMs', 'firstTokenMs', 'firstAudioMs', 'firstFrameMs']));
    const waitedMs = Number(sent[0]?.['firstFrameMs']) - Number(sent[0]?.['firstAudioMs']);
    // 250 ms after the first audio, plus however long the enqueue took after its mark (a busy machine: a few ms);
    // far from 0 (marked at enqueue) and from 900 (marked at the second report)
    expect(waitedMs).toBeGreaterThanOrEqual(248);
    expect(waitedMs).toBeLessThanOrEqual(300);
    // the greeting has no turn latency: its start is not a stage
    agent.onUtteranceStarted('greeting', performance.now());
    expect(latencies.filter((stage) => stage === 'first_frame')).toHaveLength(1);
    agent.onCallEnd('stop');
  });

  it('reports what the caller said and, once its mark is back, what the agent said (for the call\'s record)', async () => {
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx);
    agent.onUtterancePlayed({ utteranceId: 'greeting', frames: 1 });
    await agent.onTurn(hebrewTurn(1), new AbortController().signal);
    agent.onUtterancePlayed({ utteranceId: 'reply-1', frames: 1 });
    const isProviders = (r: { kind: string; note?: string }): boolean => r.kind === 'note' && r.note === 'providers';
    const said = ctx.reports.filter((r) => !isProviders(r));
    expect(said).toEqual([
      { kind: 'agent-said', utteranceId: 'greeting', text: GREETING, heardText: GREETING, isCut: false },
      expect.objectContaining({ kind: 'caller-text', turnId: 1, text: 'אני רוצה לקבוע תור למחר' }),
      { kind: 'agent-said', utteranceId: 'reply-1', text: REPLY, heardText: REPLY, isCut: false },
    ]);
    expect((said[1] as { latencyMs: number }).latencyMs).toBeGreaterThanOrEqual(0);
    // and which providers served each line: the greeting spoken by Google, the reply written by the chat model too
    expect(ctx.reports.filter(isProviders).map((r) => (r as { data: unknown }).data)).toEqual([
      { utteranceId: 'greeting', tts: ['google-tts'] },
      { utteranceId: 'reply-1', tts: ['google-tts'], llm: 'openai-llm' },
    ]);
  });

  it('digits pressed are a caller turn: collected until #, told to the model as keypad input, and answered', async () => {
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx);
    const chatsBefore = openaiFake.chatBodies().length;
    for (const digit of ['4', '2', '#']) agent.onDtmf(digit);
    await ctx.until((played) => played.some((p) => p.type === 'end' && p.id === 'reply-keypad-1'));
    const body = openaiFake.chatBodies().at(-1);
    expect(openaiFake.chatBodies().length).toBe(chatsBefore + 1);
    expect(body?.messages.at(-1)).toEqual({ role: 'user', content: '(pressed on the keypad: 4 2)' });
    expect(ctx.reports).toContainEqual(expect.objectContaining({ kind: 'caller-text', text: '(pressed on the keypad: 4 2)' }));
    expect(agent.history.at(-1)).toEqual({ role: 'assistant', content: REPLY });
  });

  it('says a line when a command asks (a goodbye, the API\'s say), as its own utterance', async () => {
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx);
    expect(await agent.say('להתראות!', 'goodbye-1')).toBe(true);
    expect(ctx.played.filter((p) => p.id === 'goodbye-1').map((p) => p.type)).toEqual(['enqueue', 'end']);
    expect(googleFake.texts()).toContain('להתראות!');
  });

  it('with TTS_PROVIDER=openai, speaks through OpenAI speech (pcm at 24 kHz) instead', async () => {
    const openaiConfig = loadConfig({
      INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openaiFake.baseUrl, TTS_PROVIDER: 'openai', LANGUAGE: 'he', GREETING,
      EDGE_THREADS: '1', DSP_THREADS: '1',
    });
    const ctx = new RecordingContext();
    const agent = (await buildAgent(openaiConfig, { audio: pool, metrics: NO_METRICS, pipeline: { onTurnLatency } })).agentFactory(ctx.call) as PipelineAgent;
    const speechBefore = openaiFake.of(ROUTE_SPEECH).length;
    await agent.onCallStart(ctx);
    await agent.onTurn(hebrewTurn(11), new AbortController().signal);
    const inputs = openaiFake.of(ROUTE_SPEECH).slice(speechBefore).map((r) => (r.parsed as { input: string }).input);
    expect(inputs).toEqual(expect.arrayContaining([GREETING, 'בשמחה.', 'יש תור פנוי מחר בעשר!', 'זה מתאים לך?']));
    const reply = ctx.played.filter((p) => p.id === 'reply-11');
    // streamed: each sentence is enqueued in as many pieces as its body arrived in, whole frames each, then one end
    expect(reply.at(-1)?.type).toBe('end');
    expect(reply.slice(0, -1).every((p) => p.type === 'enqueue' && p.bytes.length > 0 && p.bytes.length % FRAME_BYTES === 0)).toBe(true);
    const said = ctx.lines.filter((l) => l['event'] === 'TTS_SUCCESS' && l['utteranceId'] === 'reply-11');
    expect(said.map((l) => l['isStreamed'])).toEqual([true, true, true]);
    // 'בשמחה.' is 6 characters x 40 ms = 240 ms at 24 kHz -> 12 frames at 8 kHz
    expect(said[0]?.['frames']).toBe(12);
    const frames = said.reduce((n, l) => n + (l['frames'] as number), 0);
    expect(reply.reduce((n, p) => n + p.bytes.length, 0)).toBe(frames * FRAME_BYTES);
    agent.onCallEnd('stop');
  });

  it('barge-in aborts the reply in flight and the history keeps only what was heard', async () => {
    const slow = 'זה המשפט הראשון. ' + 'ועכשיו משפט שני ארוך מאוד שלא ייגמר אף פעם כי המתקשר יפריע לו באמצע הדרך. ' + 'ועוד אחד.';
    openaiFake.options.reply = (index) => (index === openaiFake.of(ROUTE_CHAT).length - 1 && pendingSlow ? slow : REPLY);
    openaiFake.options.chunkDelayMs = 40;
    let pendingSlow = true;
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx);
    const turnAbort = new AbortController();
    const done = agent.onTurn(hebrewTurn(2), turnAbort.signal);
    await ctx.until((p) => p.some((x) => x.id === 'reply-2' && x.type === 'enqueue'));
    const chat = openaiFake.of(ROUTE_CHAT).at(-1);
    expect(chat?.isComplete).toBe(false); // still streaming the second sentence
    const firstFrames = (ctx.played.find((x) => x.id === 'reply-2')?.bytes.length ?? 0) / FRAME_BYTES;
    // the engine: clear, abort the turn's signal, tell the agent how much was heard (half the first sentence)
    turnAbort.abort(new Error('barge-in'));
    const heardFrames = Math.floor(firstFrames / 2);
    agent.onBargeIn({ atMs: 0, framesHeard: heardFrames, utterances: [{ utteranceId: 'reply-2', framesQueued: firstFrames, framesSent: firstFrames, framesHeard: heardFrames, wasEnded: false }] });
    // the reply is held until the interrupting turn is known (barge-in-hold.ts): here it is real, so the reply is cut
    pendingSlow = false;
    const next = agent.onTurn(hebrewTurn(3, { wasBargeIn: true }), new AbortController().signal);
    await done;
    await openaiFake.waitFor(() => chat?.wasAbortedByClient === true, 2000);
    openaiFake.options.chunkDelayMs = 2;
    const expected = heardText([{ text: 'זה המשפט הראשון.', frames: firstFrames }], heardFrames);
    expect(expected.endsWith(CUT_MARK)).toBe(true);
    expect(ctx.played.filter((x) => x.id === 'reply-2' && x.type === 'enqueue')).toHaveLength(1);
    // the next reply is asked with the truncated history
    await next;
    const messages = openaiFake.chatBodies().at(-1)?.messages ?? [];
    expect(messages.at(-2)).toEqual({ role: 'assistant', content: expected });
    expect(messages.at(-1)?.role).toBe('user');
    agent.onCallEnd('stop');
  });

  it('a barge-in during a synthesis request closes that request too', async () => {
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx);
    googleFake.behaviour.set(ROUTE_SYNTHESIZE, 'hang');
    const before = googleFake.of(ROUTE_SYNTHESIZE).length;
    const turnAbort = new AbortController();
    const done = agent.onTurn(hebrewTurn(4), turnAbort.signal);
    await googleFake.waitFor(() => googleFake.of(ROUTE_SYNTHESIZE).length > before, 3000);
    turnAbort.abort(new Error('barge-in'));
    agent.onBargeIn({ atMs: 0, framesHeard: 0, utterances: [] });
    await done;
    const request = googleFake.of(ROUTE_SYNTHESIZE).at(-1);
    await googleFake.waitFor(() => request?.wasAbortedByClient === true, 2000);
    expect(ctx.played.filter((p) => p.id.startsWith('fallback'))).toEqual([]);
    agent.onCallEnd('stop');
  });

  it.each([
    ['transcription returns 500 twice', () => openaiFake.nextBehaviours.set(ROUTE_ASR, ['error500', 'error500'])],
    ['transcription hangs', () => openaiFake.behaviour.set(ROUTE_ASR, 'hang')],
    ['the reply hangs', () => openaiFake.behaviour.set(ROUTE_CHAT, 'hang')],
    ['the reply returns 500', () => openaiFake.behaviour.set(ROUTE_CHAT, 'error500')],
  ])('%s: the caller hears the cached fallback line within 2 s and the call goes on', async (_name, breakIt) => {
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx);
    breakIt();
    const started = performance.now();
    await agent.onTurn(hebrewTurn(5), new AbortController().signal);
    const fallback = ctx.played.find((p) => p.id.startsWith('fallback-5'));
    expect(fallback?.type).toBe('play');
    expect((fallback?.atMs ?? Infinity) - started).toBeLessThan(2000);
    expect(line(ctx, 'AGENT_FALLBACK')).toMatchObject({ kind: 'line' });
    expect(line(ctx, 'PROVIDER_ERROR')?.['errKind']).toMatch(/timeout|provider-http/);
    expect(line(ctx, 'PROVIDER_ERROR')?.['latencyMs']).toBeTypeOf('number');
    // the call goes on: the next turn is answered normally
    openaiFake.behaviour.clear();
    openaiFake.nextBehaviours.clear();
    await agent.onTurn(hebrewTurn(6), new AbortController().signal);
    expect(ctx.played.filter((p) => p.id === 'reply-6').map((p) => p.type)).toEqual(['enqueue', 'enqueue', 'enqueue', 'end']);
    agent.onCallEnd('stop');
  });

  it('with speech synthesis down from the start, a failed turn plays the tone', async () => {
    clearFallbackCache();
    googleFake.behaviour.set(ROUTE_SYNTHESIZE, 'error500');
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx); // the greeting fails (logged), the fallback line cannot be made
    expect(ctx.played).toEqual([]);
    await agent.onTurn(hebrewTurn(7), new AbortController().signal);
    const fallback = ctx.played.find((p) => p.id.startsWith('fallback-7'));
    expect(fallback?.type).toBe('play');
    expect(line(ctx, 'AGENT_FALLBACK')).toMatchObject({ kind: 'tone' });
    expect((fallback?.bytes.length ?? 0) % FRAME_BYTES).toBe(0);
    agent.onCallEnd('stop');
    googleFake.behaviour.clear();
  });

  it('does not send a turn that is too quiet or too short', async () => {
    const { agent, ctx } = await newCall();
    await agent.onCallStart(ctx);
    const before = openaiFake.of(ROUTE_ASR).length;
    await agent.onTurn(hebrewTurn(8, { peakDbfs: -60, meanDbfs: -70 }), new AbortController().signal);
    await agent.onTurn(hebrewTurn(9, { pcm8k: new Int16Array(1600), durationMs: 200 }), new AbortController().signal);
    expect(openaiFake.of(ROUTE_ASR).length).toBe(before);
    expect(ctx.lines.filter((l) => l['event'] === 'ASR_SKIP').map((l) => l['reason'])).toEqual(['too-quiet', 'too-short']);
    agent.onCallEnd('stop');
  });

  it('drops a known hallucination on a low-energy turn', async () => {
    openaiFake.options.transcript = () => 'Thanks for watching!';
    try {
      const { agent, ctx } = await newCall();
      await agent.onCallStart(ctx);
      const chats = openaiFake.of(ROUTE_CHAT).length;
      await agent.onTurn(hebrewTurn(10, { meanDbfs: -48, peakDbfs: -33 }), new AbortController().signal);
      expect(openaiFake.of(ROUTE_CHAT).length).toBe(chats);
      expect(ctx.lines.find((l) => l['event'] === 'ASR_SKIP')).toMatchObject({ reason: 'hallucination' });
      agent.onCallEnd('stop');
    } finally {
      openaiFake.options.transcript = () => 'אני רוצה לקבוע תור למחר';
    }
  });
});
