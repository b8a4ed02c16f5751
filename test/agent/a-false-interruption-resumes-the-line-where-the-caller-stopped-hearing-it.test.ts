// A barge-in that turns out to be nothing resumes the agent's line (src/agent/barge-in-hold.ts): the AI pipeline, with
// the real SDKs against the local fakes, is cut by a barge-in, then told what the interrupting turn was. Too short
// for the turn detector (onBargeInDropped), too short for ASR, an empty transcript or only a backchannel ("כן, כן"):
// the line plays again from RESUME_BACKUP_FRAMES before the caller's last heard frame, byte for byte the original
// audio from there, then the rest of the reply (synthesized while it was held), and the history keeps the whole
// line; a backchannel is in the record but not answered. A real turn cuts it as before, also after a false one, and a
// hold whose verdict never comes is cut after its bound.
import { Writable } from 'node:stream';
import { readFileSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgent } from '../../src/agent/factory.js';
import { heardText } from '../../src/agent/heard-text.js';
import { RESUME_BACKUP_FRAMES } from '../../src/agent/barge-in-hold.js';
import type { PipelineAgent } from '../../src/agent/pipeline.js';
import type { AgentContext, AgentReport, CallerTurn, HeardInfo } from '../../src/call/agent-contract.js';
import type { CommandResult } from '../../src/call/events.js';
import { mulawDecode } from '../../src/audio/dsp.js';
import { DspPool } from '../../src/audio/pool.js';
import { loadConfig, type Config } from '../../src/config.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

process.env['METADATA_SERVER_DETECTION'] = 'none';
const FRAME_BYTES = 160;
const SENTENCES = ['בשמחה, יש לנו תור פנוי מחר בבוקר.', 'הרופא מקבל בין תשע לאחת עשרה.', 'זה מתאים לך?'];
const REPLY = SENTENCES.join(' ');

type Played = { type: 'enqueue' | 'end' | 'play'; id: string; bytes: Uint8Array };

/** The engine's side, recorded: what was enqueued under which playout id; `isPlaying` as the test sets it. */
class RecordingContext implements AgentContext {
  readonly call = { callSid: 'CAresume', streamSid: 'MZresume', accountSid: 'ACtest', customParameters: {} };
  readonly played: Played[] = [];
  readonly reports: AgentReport[] = [];
  readonly log: Logger = pino({ level: 'silent' }, new Writable({ write: (_c, _e, done) => done() }));
  private readonly controller = new AbortController();
  readonly signal = this.controller.signal;
  isPlaying = false;
  play(mulaw: Uint8Array, id: string): void { this.played.push({ type: 'play', id, bytes: mulaw.slice() }); }
  enqueue(mulaw: Uint8Array, id: string): void { this.played.push({ type: 'enqueue', id, bytes: mulaw.slice() }); }
  endUtterance(id: string): void { this.played.push({ type: 'end', id, bytes: new Uint8Array(0) }); }
  /** What a stop (the engine's clear) reports; each call counted. */
  heardAtStop: HeardInfo = { atMs: 0, utterances: [], framesHeard: 0 };
  stops = 0;
  stopPlayback(): HeardInfo {
    this.stops++;
    this.isPlaying = false;
    return this.heardAtStop;
  }
  hangUp(): void { this.controller.abort(new Error('hang-up')); }
  command(): CommandResult { return { ok: false, code: 'not-supported', message: 'no commands here' }; }
  report(report: AgentReport): void { this.reports.push(report); }
  end(): void { this.controller.abort(new Error('call ended')); }

  /** Every byte enqueued under `id`, in order. */
  bytesOf(id: string): Uint8Array {
    return Buffer.concat(this.played.filter((p) => p.id === id && p.type !== 'end').map((p) => p.bytes));
  }
  isEnded(id: string): boolean {
    return this.played.some((p) => p.id === id && p.type === 'end');
  }
  async until(predicate: () => boolean, timeoutMs = 8000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!predicate()) {
      if (performance.now() > deadline) throw new Error(`timed out; played: ${JSON.stringify(this.played.map((p) => [p.type, p.id, p.bytes.length]))}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

const conv = new Uint8Array(readFileSync(new URL('../fixtures/conv-he.8k.ul', import.meta.url)));
function turn(turnId: number, overrides: Partial<CallerTurn> = {}): CallerTurn {
  const pcm8k = mulawDecode(conv.subarray(0.5 * 8000, 2.5 * 8000));
  return { turnId, pcm8k, startMs: 0, endMs: 2000, durationMs: 2000, endReason: 'silence', peakDbfs: -6, meanDbfs: -24, wasBargeIn: false, ...overrides };
}
/** What the playout would report after a clear: `heard` frames of utterance `id` (all of it sent). */
function heardInfo(id: string, framesQueued: number, heard: number, wasEnded = true): HeardInfo {
  return { atMs: 0, framesHeard: heard, utterances: [{ utteranceId: id, framesQueued, framesSent: framesQueued, framesHeard: heard, wasEnded }] };
}

let guard: LoopbackGuard;
let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let pool: DspPool;
let config: Config;
let transcripts: string[] = [];
/** What the pipeline counted (aicrmd_interruptions_total), per call. */
let verdicts: string[] = [];

beforeAll(async () => {
  guard = guardLoopbackOnly();
  openaiFake = await startFakeOpenAI({ transcript: (index) => transcripts[index] ?? 'אני רוצה לקבוע תור', reply: () => REPLY, chunkChars: 4, chunkDelayMs: 2 });
  const account = fakeServiceAccount();
  googleFake = await startFakeGoogleTts({ account, msPerChar: 40 });
  pool = new DspPool({ threads: 1 });
  config = loadConfig({
    INSECURE_DEV_MODE: '1', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: openaiFake.baseUrl, GOOGLE_TTS_API_ENDPOINT: googleFake.endpointUrl,
    GOOGLE_CLOUD_SERVICE_ACCOUNT_JSON: account.json, LANGUAGE: 'he', GREETING: 'שלום', SYSTEM_PROMPT: 'You are a test agent.',
    ASR_TIMEOUT_MS: '5000', LLM_TIMEOUT_MS: '5000', TTS_TIMEOUT_MS: '5000', TURN_DEADLINE_MS: '20000', EDGE_THREADS: '1', DSP_THREADS: '1', TTS_FALLBACK: 'none',
  });
}, 20_000);

afterAll(async () => {
  await openaiFake?.close();
  await googleFake?.close();
  await pool?.destroy();
  guard?.restore();
  expect(guard.escapes).toEqual([]);
});

/** A call whose first turn's reply (three sentences, reply-1) has been enqueued whole and is playing. */
async function callPlayingReply(pipeline: Record<string, unknown> = {}): Promise<{ agent: PipelineAgent; ctx: RecordingContext; original: Uint8Array; frames: number }> {
  transcripts = [];
  verdicts = [];
  openaiFake.options.chunkDelayMs = 2;
  const { agentFactory } = await buildAgent(config, {
    audio: pool, metrics: { observeTurnLatency: () => {}, countProviderError: () => {}, countInterruption: (verdict) => verdicts.push(verdict) }, pipeline,
  });
  const ctx = new RecordingContext();
  const agent = agentFactory(ctx.call) as PipelineAgent;
  await agent.onCallStart(ctx);
  const uploadsBefore = openaiFake.uploads().length;
  transcripts[uploadsBefore] = 'אני רוצה לקבוע תור';
  await agent.onTurn(turn(1), new AbortController().signal);
  expect(ctx.isEnded('reply-1')).toBe(true);
  const original = ctx.bytesOf('reply-1');
  ctx.isPlaying = true;
  return { agent, ctx, original, frames: original.length / FRAME_BYTES };
}

/** The engine clears the line: not playing any more, the agent told how much was heard. */
function bargeIn(agent: PipelineAgent, ctx: RecordingContext, id: string, frames: number, heard: number): void {
  ctx.isPlaying = false;
  agent.onBargeIn(heardInfo(id, frames, heard));
}

function expectResumedFrom(ctx: RecordingContext, original: Uint8Array, heard: number, id = 'reply-1~r1'): void {
  const resumed = ctx.bytesOf(id);
  const fromFrame = heard - RESUME_BACKUP_FRAMES;
  expect(resumed.length).toBe(original.length - fromFrame * FRAME_BYTES);
  expect(Buffer.from(resumed).equals(Buffer.from(original.subarray(fromFrame * FRAME_BYTES)))).toBe(true);
  expect(ctx.isEnded(id)).toBe(true);
}

describe('a false interruption', () => {
  it('too short for the turn detector: the line resumes 240 ms before the last heard frame, and the history keeps it whole', async () => {
    const { agent, ctx, original, frames } = await callPlayingReply();
    expect(frames).toBeGreaterThan(60);
    bargeIn(agent, ctx, 'reply-1', frames, 50);
    expect(ctx.bytesOf('reply-1~r1').length).toBe(0); // held, not played, until the verdict
    agent.onBargeInDropped();
    expectResumedFrom(ctx, original, 50);
    expect(agent.history.at(-1)).toEqual({ role: 'assistant', content: REPLY });
    expect(ctx.reports).toContainEqual(expect.objectContaining({ kind: 'note', note: 'barge-in-resumed' }));
    // heard to its end this time: the record has the whole line, not cut
    agent.onUtterancePlayed({ utteranceId: 'reply-1~r1', frames: frames - 38 });
    expect(ctx.reports).toContainEqual({ kind: 'agent-said', utteranceId: 'reply-1', text: REPLY, heardText: REPLY, isCut: false });
    expect(verdicts).toEqual(['resumed']);
    agent.onCallEnd('stop');
  });

  it('too short for ASR: resumed without an upload', async () => {
    const { agent, ctx, original, frames } = await callPlayingReply();
    bargeIn(agent, ctx, 'reply-1', frames, 30);
    const uploads = openaiFake.uploads().length;
    await agent.onTurn(turn(2, { wasBargeIn: true, durationMs: 200, endMs: 200 }), new AbortController().signal);
    expect(openaiFake.uploads().length).toBe(uploads);
    expectResumedFrom(ctx, original, 30);
    agent.onCallEnd('stop');
  });

  it('an empty transcript: resumed, and no reply is asked for', async () => {
    const { agent, ctx, original, frames } = await callPlayingReply();
    bargeIn(agent, ctx, 'reply-1', frames, 40);
    transcripts[openaiFake.uploads().length] = ' ';
    const chats = openaiFake.of(ROUTE_CHAT).length;
    await agent.onTurn(turn(2, { wasBargeIn: true }), new AbortController().signal);
    expect(openaiFake.of(ROUTE_CHAT).length).toBe(chats);
    expectResumedFrom(ctx, original, 40);
    agent.onCallEnd('stop');
  });

  it('only a backchannel: resumed, the words in the record, not answered and not in the history', async () => {
    const { agent, ctx, original, frames } = await callPlayingReply();
    bargeIn(agent, ctx, 'reply-1', frames, 45);
    transcripts[openaiFake.uploads().length] = 'כן, כן.';
    const chats = openaiFake.of(ROUTE_CHAT).length;
    await agent.onTurn(turn(2, { wasBargeIn: true }), new AbortController().signal);
    expect(openaiFake.of(ROUTE_CHAT).length).toBe(chats);
    expectResumedFrom(ctx, original, 45);
    expect(ctx.reports).toContainEqual({ kind: 'caller-text', turnId: 2, text: 'כן, כן.' });
    expect(agent.history.some((m) => m.content === 'כן, כן.')).toBe(false);
    expect(agent.history.at(-1)).toEqual({ role: 'assistant', content: REPLY });
    agent.onCallEnd('stop');
  });

  it('a backchannel over a line still playing (no barge-in) leaves the line alone and is not answered', async () => {
    const { agent, ctx } = await callPlayingReply();
    transcripts[openaiFake.uploads().length] = 'אהה';
    const chats = openaiFake.of(ROUTE_CHAT).length;
    const playedBefore = ctx.played.length;
    await agent.onTurn(turn(2), new AbortController().signal);
    expect(openaiFake.of(ROUTE_CHAT).length).toBe(chats);
    expect(ctx.played.length).toBe(playedBefore);
    agent.onCallEnd('stop');
  });

  it('mid-reply: what was synthesized while held follows the resumed audio, and the reply ends', async () => {
    const { agentFactory } = await buildAgent(config, { audio: pool, metrics: { observeTurnLatency: () => {}, countProviderError: () => {} } });
    const ctx = new RecordingContext();
    const agent = agentFactory(ctx.call) as PipelineAgent;
    await agent.onCallStart(ctx);
    openaiFake.options.chunkDelayMs = 25; // the later sentences are still streaming at the barge-in
    const textsBefore = googleFake.texts().length;
    const done = agent.onTurn(turn(1), new AbortController().signal);
    await ctx.until(() => ctx.bytesOf('reply-1').length > 0);
    const first = ctx.bytesOf('reply-1');
    expect(ctx.isEnded('reply-1')).toBe(false);
    bargeIn(agent, ctx, 'reply-1', first.length / FRAME_BYTES, 20);
    await done; // the generation went on while held
    expect(googleFake.texts().slice(textsBefore)).toEqual(SENTENCES);
    expect(ctx.bytesOf('reply-1')).toEqual(first); // nothing more was played while held
    agent.onBargeInDropped();
    const resumed = ctx.bytesOf('reply-1~r1');
    const from = (20 - RESUME_BACKUP_FRAMES) * FRAME_BYTES;
    expect(Buffer.from(resumed.subarray(0, first.length - from)).equals(Buffer.from(first.subarray(from)))).toBe(true);
    expect(resumed.length).toBeGreaterThan(first.length - from); // the sentences synthesized while held
    expect(ctx.isEnded('reply-1~r1')).toBe(true);
    expect(agent.history.at(-1)).toEqual({ role: 'assistant', content: REPLY });
    agent.onCallEnd('stop');
  });
});

describe('a real interruption', () => {
  it('after a false one, still cuts the line: the history keeps what was heard over both plays', async () => {
    const { agent, ctx, frames } = await callPlayingReply();
    bargeIn(agent, ctx, 'reply-1', frames, 50);
    agent.onBargeInDropped();
    ctx.isPlaying = true;
    // cut again 10 frames into the resumed play, which began 12 frames before frame 50
    bargeIn(agent, ctx, 'reply-1~r1', frames - 38, 10);
    transcripts[openaiFake.uploads().length] = 'רגע, יש לי שאלה';
    const chats = openaiFake.of(ROUTE_CHAT).length;
    await agent.onTurn(turn(2, { wasBargeIn: true }), new AbortController().signal);
    expect(openaiFake.of(ROUTE_CHAT).length).toBe(chats + 1);
    expect(ctx.bytesOf('reply-1~r2').length).toBe(0); // not resumed
    const messages = openaiFake.chatBodies().at(-1)?.messages ?? [];
    // 38 + 10 = 48 frames of it heard (the second play began at frame 38): not the 10 frames of the second play alone
    const sentences = ctx.played.filter((p) => p.id === 'reply-1' && p.type === 'enqueue').map((p, i) => ({ text: SENTENCES[i]!, frames: Math.ceil(p.bytes.length / FRAME_BYTES) }));
    expect(sentences).toHaveLength(3);
    const expected = heardText(sentences, 50 - RESUME_BACKUP_FRAMES + 10);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected).not.toBe(heardText(sentences, 10));
    expect(messages.at(-2)).toEqual({ role: 'assistant', content: expected });
    expect(ctx.reports).toContainEqual({ kind: 'agent-said', utteranceId: 'reply-1', text: REPLY, heardText: expected, isCut: true });
    expect(verdicts).toEqual(['resumed', 'cut']);
    expect(messages.at(-1)).toEqual({ role: 'user', content: 'רגע, יש לי שאלה' });
    agent.onCallEnd('stop');
  });

  it('with no verdict in time, the held line is cut after the bound', async () => {
    const { agent, ctx, frames } = await callPlayingReply({ maxHoldMs: 100 });
    bargeIn(agent, ctx, 'reply-1', frames, 50);
    await ctx.until(() => ctx.reports.some((r) => r.kind === 'agent-said' && r.isCut));
    expect(String(agent.history.at(-1)?.content).endsWith('…')).toBe(true);
    agent.onBargeInDropped(); // too late: nothing resumes
    expect(ctx.bytesOf('reply-1~r1').length).toBe(0);
    expect(verdicts).toEqual(['expired']);
    agent.onCallEnd('stop');
  });

  it('real words too short to barge in stop the line once transcribed, and the history keeps what was heard', async () => {
    const { agent, ctx, frames } = await callPlayingReply();
    ctx.heardAtStop = heardInfo('reply-1', frames, 70);
    transcripts[openaiFake.uploads().length] = 'לא, רגע';
    await agent.onTurn(turn(2), new AbortController().signal);
    expect(ctx.stops).toBe(1);
    expect(verdicts).toEqual(['stopped_by_words']);
    const sentences = ctx.played.filter((p) => p.id === 'reply-1' && p.type === 'enqueue').map((p, i) => ({ text: SENTENCES[i]!, frames: Math.ceil(p.bytes.length / FRAME_BYTES) }));
    const messages = openaiFake.chatBodies().at(-1)?.messages ?? [];
    expect(messages.slice(-2)).toEqual([{ role: 'assistant', content: heardText(sentences, 70) }, { role: 'user', content: 'לא, רגע' }]);
    agent.onCallEnd('stop');
  });

  it('with barge-in off, such words do not stop the line (the answer follows it)', async () => {
    const { agent, ctx } = await callPlayingReply({ stopLineOnWords: false });
    transcripts[openaiFake.uploads().length] = 'לא, רגע';
    await agent.onTurn(turn(2), new AbortController().signal);
    expect(ctx.stops).toBe(0);
    expect(agent.history.at(-3)).toEqual({ role: 'assistant', content: REPLY });
    agent.onCallEnd('stop');
  });

  it('with resuming off, a barge-in cuts at once as before', async () => {
    const { agent, ctx, frames } = await callPlayingReply({ resumeAfterFalseBargeIn: false });
    bargeIn(agent, ctx, 'reply-1', frames, 50);
    expect(ctx.reports.some((r) => r.kind === 'agent-said' && r.isCut)).toBe(true);
    agent.onBargeInDropped();
    expect(ctx.bytesOf('reply-1~r1').length).toBe(0);
    expect(verdicts).toEqual(['cut']);
    agent.onCallEnd('stop');
  });
});
