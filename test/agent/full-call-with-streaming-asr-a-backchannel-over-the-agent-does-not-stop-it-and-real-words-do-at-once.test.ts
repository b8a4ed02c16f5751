// Full calls through the real server (`node dist/src/main.js`, the AI agent with the real SDKs against local fakes)
// and the Twilio-like Caller, the caller speaking over the long greeting. With streaming ASR (gpt-4o-mini-transcribe,
// the fake realtime session): 600 ms of speech that the ASR hears as "אהה" (a backchannel; more than the 350 ms of
// speech a barge-in needs, as the batch call shows) leaves the greeting playing to its mark: the barge-in's early
// commit said "backchannel". A real sentence clears the line within 600 ms of its first sound, decided by its words
// (aicrmd_call_barge_ins_by_words_total), and the turn's transcript is whole: the words of the turn's own commit of
// all its audio, not the early commit's. With batch ASR the same backchannel barges in by speech time, as before (and
// the greeting resumes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { firstSoundFrame, framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_ASR, ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { parsePrometheusText, sampleValue } from '../ops/prometheus-text.js';

const FRAME_MS = 20;
const he = loadReferenceCall('conv-he');
const [utt1 = [25, 248], utt2 = [348, 441]] = he.utteranceFrames;
// 150 characters: the fake synthesizes 40 ms per character, capped at 6 s of audio
const GREETING = 'שלום וברוכים הבאים למרפאה שלנו, אני העוזרת הדיגיטלית ואני כאן כדי לעזור לכם לקבוע תור, לשנות תור או לבטל תור, ולענות על כל שאלה שיש לכם היום.';
const SPEECH_AT_FRAME = 150; // 3 s in: the greeting is playing
// 600 ms of speech over the greeting, then quiet while it plays on (or resumes) and ends
const backchannelAudio = splice(silenceFrames(SPEECH_AT_FRAME), framesOf(he.audio, utt1[0] + 5, utt1[0] + 35), silenceFrames(400));
// a whole utterance (about 1.9 s) over the greeting
const sentenceAudio = splice(silenceFrames(SPEECH_AT_FRAME), framesOf(he.audio, utt2[0], utt2[1]), silenceFrames(200));
const BACKCHANNEL = 'אהה';
const EARLY_WORDS = 'רגע';
const SENTENCE = 'רגע, יש לי שאלה על התור שלי';
/** The early commit has the speech's first ~300 ms; the turn's own commit all of it (about 2 s). */
const EARLY_COMMIT_MAX_SAMPLES = 1000 * 24;

interface Stack { openai: FakeOpenAI; google: FakeGoogleTts; server: RunningServer }
let streaming: Stack;
let batch: Stack;
const results: Record<string, CallerResult> = {};
/** What the backchannel call (the first on the streaming server) asked of the fake: realtime commits, chats, uploads. */
let backchannelCommits = 0;
let backchannelChats = 0;
let backchannelUploads = 0;
const sid = (n: number): string => `CA${'0'.repeat(31)}${n}`;

async function startStack(env: Record<string, string>, transcript: () => string): Promise<Stack> {
  const account = fakeServiceAccount();
  const openai = await startFakeOpenAI({ transcript, reply: () => 'בסדר.', realtime: { transcript: () => BACKCHANNEL } });
  const google = await startFakeGoogleTts({ account, msPerChar: 40 });
  const server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openai.baseUrl, googleEndpointUrl: google.endpointUrl, account }, {
      GREETING, SYSTEM_PROMPT: 'You are a test receptionist.', ASR_TIMEOUT_MS: '3000', LLM_TIMEOUT_MS: '3000', TTS_TIMEOUT_MS: '3000', ...env,
    }),
  });
  return { openai, google, server };
}

beforeAll(async () => {
  // one commit per turn besides the barge-in's: early replies (a commit at each pause) have their own tests
  streaming = await startStack({ OPENAI_ASR_MODEL: 'gpt-4o-mini-transcribe', EARLY_REPLY_PAUSE_MS: '0' }, () => 'מהעלאה');
  results['streamed-backchannel'] = await runCall(streaming.server, backchannelAudio, { tailMs: 1000, callSid: sid(1) });
  await waitUntilNoCalls(streaming.server, 5000);
  backchannelCommits = streaming.openai.realtime.commits().length;
  backchannelChats = streaming.openai.of(ROUTE_CHAT).length;
  backchannelUploads = streaming.openai.of(ROUTE_ASR).length;
  streaming.openai.realtime.options.transcript = (_index, pcm24k) => (pcm24k.length <= EARLY_COMMIT_MAX_SAMPLES ? EARLY_WORDS : SENTENCE);
  results['streamed-sentence'] = await runCall(streaming.server, sentenceAudio, { tailMs: 2500, callSid: sid(2) });
  await waitUntilNoCalls(streaming.server, 5000);
  batch = await startStack({}, () => `${BACKCHANNEL}.`);
  results['batch-backchannel'] = await runCall(batch.server, backchannelAudio, { tailMs: 1000, callSid: sid(3) });
  await waitUntilNoCalls(batch.server, 5000);
}, 90_000);

afterAll(async () => {
  for (const stack of [streaming, batch]) {
    await stack?.server.stop();
    await stack?.openai.close();
    await stack?.google.close();
  }
});

const logsOf = (stack: Stack, callSid: string, event: string) => stack.server.logs().filter((l) => l['event'] === event && l['callSid'] === callSid);
const describeCall = (stack: Stack, callSid: string, result: CallerResult | undefined) => JSON.stringify({
  marks: result?.marksReceived, clears: result?.clears,
  logs: stack.server.logs().filter((l) => l['callSid'] === callSid && /ASR|BARGE|LLM|FALLBACK|ERROR|TURN|GREETING/.test(String(l['event']))),
  commits: stack.openai.realtime.commits().map((c) => ({ samples: c.pcm24k.length, text: c.text })),
});

describe('with streaming ASR, over the greeting', () => {
  it('a backchannel of more than the barge-in speech time does not clear the line: the greeting plays to its mark', () => {
    const callSid = sid(1);
    const result = results['streamed-backchannel']!;
    const why = describeCall(streaming, callSid, result);
    expect(result.clears, why).toBe(0);
    expect(result.marksReceived, why).toEqual(['greeting']);
    // held off by its words: the early commit was asked for and heard as a backchannel
    expect(logsOf(streaming, callSid, 'BARGE_IN').filter((l) => l['words'] !== undefined).map((l) => [l['text'], l['words']]), why).toEqual([[BACKCHANNEL, 'backchannel']]);
    expect(backchannelCommits).toBe(2); // the early commit and the turn's own
    // the turn: transcribed from the stream, a backchannel, not answered
    expect(logsOf(streaming, callSid, 'ASR_SKIP').map((l) => l['reason'])).toEqual(['backchannel']);
    expect(backchannelChats).toBe(0);
    expect(backchannelUploads).toBe(0);
  });

  it("a real sentence clears the line within 600 ms of its first sound, decided by its words", () => {
    const callSid = sid(2);
    const result = results['streamed-sentence']!;
    const why = describeCall(streaming, callSid, result);
    expect(result.clears, why).toBe(1);
    const startMs = result.events.find((e) => e.type === 'start-sent')!.tMs;
    const clearMs = result.events.find((e) => e.type === 'clear-in')!.tMs;
    const soundMs = startMs + firstSoundFrame(sentenceAudio, SPEECH_AT_FRAME) * FRAME_MS;
    expect(clearMs - soundMs, why).toBeGreaterThan(0);
    expect(clearMs - soundMs, why).toBeLessThanOrEqual(600);
    const cleared = logsOf(streaming, callSid, 'BARGE_IN').filter((l) => l['decidedBy'] !== undefined);
    expect(cleared.map((l) => l['decidedBy']), why).toEqual(['words']);
    expect(logsOf(streaming, callSid, 'BARGE_IN').filter((l) => l['words'] !== undefined).map((l) => [l['text'], l['words']])).toEqual([[EARLY_WORDS, 'words']]);
  });

  it("the sentence's transcript is whole: its own commit of all of the turn's audio, not joined with the early words", () => {
    const callSid = sid(2);
    const why = describeCall(streaming, callSid, results['streamed-sentence']);
    expect(logsOf(streaming, callSid, 'ASR_TEXT').map((l) => [l['text'], l['via']]), why).toEqual([[SENTENCE, 'stream']]);
    expect(streaming.openai.chatBodies().at(-1)?.messages.at(-1), why).toEqual({ role: 'user', content: SENTENCE });
    const [early, own] = streaming.openai.realtime.commits().slice(2);
    const turn = logsOf(streaming, callSid, 'CALL_TURN')[0]!;
    expect(early!.pcm24k.length).toBeLessThanOrEqual(EARLY_COMMIT_MAX_SAMPLES);
    expect(Math.abs(own!.pcm24k.length / 24 - Number(turn['durationMs'])), why).toBeLessThanOrEqual(20);
    // the reply followed the cut greeting
    expect(results['streamed-sentence']!.marksReceived, why).toEqual(['reply-1']);
  });

  it('counts the barge-in the words made in /metrics', async () => {
    const deadline = Date.now() + 5000;
    let byWords = Number.NaN;
    let all = Number.NaN;
    while (Date.now() < deadline) {
      const response = await fetch(`${streaming.server.baseUrl}/metrics`, { headers: { connection: 'close' } });
      const families = parsePrometheusText(await response.text());
      byWords = sampleValue(families, 'aicrmd_call_barge_ins_by_words_total') ?? Number.NaN;
      all = sampleValue(families, 'aicrmd_call_barge_ins_total') ?? Number.NaN;
      if (byWords === 1) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    expect(byWords).toBe(1);
    expect(all).toBe(1);
  });
});

describe('with batch ASR, over the greeting', () => {
  it('the same backchannel barges in by speech time, as before, and the greeting resumes', () => {
    const callSid = sid(3);
    const result = results['batch-backchannel']!;
    const why = describeCall(batch, callSid, result);
    expect(result.clears, why).toBe(1);
    expect(logsOf(batch, callSid, 'BARGE_IN').filter((l) => l['decidedBy'] !== undefined).map((l) => l['decidedBy']), why).toEqual(['speech']);
    expect(logsOf(batch, callSid, 'BARGE_IN').some((l) => l['words'] !== undefined)).toBe(false);
    expect(result.marksReceived, why).toEqual(['greeting~r1']);
    expect(batch.openai.realtime.commits()).toHaveLength(0);
    expect(batch.openai.of(ROUTE_CHAT)).toHaveLength(0);
  });
});
