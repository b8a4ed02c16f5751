// Full calls through the real server (`node dist/src/main.js`, the AI agent with OPENAI_ASR_MODEL=
// gpt-4o-mini-transcribe) and the Twilio-like Caller, the providers inside the server pointed at the local fakes: each
// caller turn streams to the fake realtime transcription session while it is spoken and is answered from its commit,
// with no batch upload; the audio the fake received is the turn's (its length at 24 kHz is the turn's length). When
// the realtime socket closes at the commit, the batch upload of the same turn answers; when the realtime server and
// the batch route both hang, the turn's budget still gives the caller the fallback line within 2 s of the end of speech.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_ASR, ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

const REQUIRED_MS = 2000; // the reply or the fallback within 2 s of the end of speech (TURN_DEADLINE_MS 1700 by default)
const he = loadReferenceCall('conv-he');
const [utt1 = [25, 248], utt2 = [348, 441]] = he.utteranceFrames;
const STREAMED = ['שלום, אני רוצה לקבוע תור.', 'תודה רבה.'];

const sid = (n: number): string => `CA${'0'.repeat(31)}${n}`;

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let server: RunningServer;
const results: Record<string, CallerResult> = {};

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({
    transcript: () => 'מהעלאה',
    reply: () => 'בסדר.',
    realtime: { transcript: (index) => STREAMED[index] ?? 'עוד משהו', delayMs: 150 },
  });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 25 });
  server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
      GREETING: 'שלום!', OPENAI_ASR_MODEL: 'gpt-4o-mini-transcribe',
      // one commit per turn: early replies (a commit at each pause) have their own test
      EARLY_REPLY_PAUSE_MS: '0',
    }),
  });
  // 1. two turns, both streamed
  results['streamed'] = await runCall(server, splice(
    silenceFrames(100), framesOf(he.audio, utt1[0], utt1[1]), silenceFrames(120), framesOf(he.audio, utt2[0], utt2[1]), silenceFrames(20),
  ), { tailMs: 2500, callSid: sid(1) });
  await waitUntilNoCalls(server, 5000);
  // 2. the realtime socket closes at the commit: the batch upload answers
  openaiFake.realtime.nextCommits.push('close');
  results['socket-closed'] = await runCall(server, splice(silenceFrames(60), framesOf(he.audio, utt2[0], utt2[1]), silenceFrames(20)), { tailMs: 2500, callSid: sid(2) });
  await waitUntilNoCalls(server, 5000);
  // 3. the realtime server hangs, and so does the batch route
  openaiFake.realtime.behaviour = 'hang';
  openaiFake.behaviour.set(ROUTE_ASR, 'hang');
  results['hung'] = await runCall(server, splice(silenceFrames(60), framesOf(he.audio, utt2[0], utt2[1]), silenceFrames(20)), { tailMs: 2500, callSid: sid(3) });
  await waitUntilNoCalls(server, 5000);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

const logsOf = (callSid: string, event: string) => server.logs().filter((l) => l['event'] === event && l['callSid'] === callSid);
const describeCall = (callSid: string) => JSON.stringify({
  logs: server.logs().filter((l) => l['callSid'] === callSid && /ASR|TTS|LLM|FALLBACK|ERROR|TURN/.test(String(l['event']))),
  sessions: openaiFake.realtime.sessions.map((s) => ({ url: s.url, configErrors: s.configErrors, commits: s.commits.length, appends: s.appends })),
  uploads: openaiFake.of(ROUTE_ASR).length,
});

describe('a call with streaming transcription', () => {
  it("answers each turn from the realtime session's transcript and never uploads a turn", () => {
    const callSid = sid(1);
    const texts = logsOf(callSid, 'ASR_TEXT');
    expect(texts.map((l) => [l['text'], l['via'], l['provider']]), describeCall(callSid)).toEqual([
      [STREAMED[0], 'stream', 'openai-realtime-asr'], [STREAMED[1], 'stream', 'openai-realtime-asr'],
    ]);
    // the first call made no upload (the later calls' uploads are theirs)
    const firstUploadMs = openaiFake.of(ROUTE_ASR)[0]?.receivedAtMs ?? Infinity;
    expect(firstUploadMs).toBeGreaterThan(openaiFake.realtime.commits()[1]!.committedAtMs);
    // the reply was asked with the streamed words, and played
    expect(openaiFake.chatBodies()[0]?.messages.at(-1)).toEqual({ role: 'user', content: STREAMED[0] });
    expect(results['streamed']!.marksReceived, describeCall(callSid)).toEqual(['greeting', 'reply-1', 'reply-2']);
  });

  it('configured one transcription session for the call, as the batch route would transcribe (model, language)', () => {
    const first = openaiFake.realtime.sessions[0]!;
    expect(first.url).toBe('/v1/realtime?intent=transcription');
    expect(first.configErrors).toEqual([]);
    expect(first.sessionUpdates[0]).toMatchObject({ type: 'transcription', audio: { input: { transcription: { model: 'gpt-4o-mini-transcribe', language: 'he' }, turn_detection: null } } });
    expect(first.commits.map((c) => c.index)).toEqual([0, 1]);
    expect(first.isOpen).toBe(false); // closed at the call's end
  });

  it("received each turn's own audio: 24 kHz, as long as the turn", () => {
    const turns = logsOf(sid(1), 'CALL_TURN');
    expect(turns).toHaveLength(2);
    const commits = openaiFake.realtime.sessions[0]!.commits;
    turns.forEach((turn, i) => {
      const streamedMs = commits[i]!.pcm24k.length / 24;
      expect(Math.abs(streamedMs - Number(turn['durationMs'])), `turn ${i + 1}: ${streamedMs} ms streamed`).toBeLessThanOrEqual(20);
      // speech, not silence: the reference utterance is loud
      const pcm = commits[i]!.pcm24k;
      let peak = 0;
      for (const sample of pcm) peak = Math.max(peak, Math.abs(sample));
      expect(peak).toBeGreaterThan(3000);
    });
  });

  it('falls back to the batch upload of the turn when the realtime socket closes at the commit', () => {
    const callSid = sid(2);
    const texts = logsOf(callSid, 'ASR_TEXT');
    expect(texts.map((l) => [l['text'], l['via'], l['fallbackReason']]), describeCall(callSid)).toEqual([['מהעלאה', 'batch', 'stream-failed']]);
    expect(openaiFake.uploads()[0]?.fields).toMatchObject({ model: 'gpt-4o-mini-transcribe', language: 'he' });
    expect(results['socket-closed']!.marksReceived).toEqual(['greeting', 'reply-1']);
  });

  it('does not hold a turn past its budget when the realtime server hangs (and the batch route too)', () => {
    const callSid = sid(3);
    const result = results['hung']!;
    expect(result.marksReceived, describeCall(callSid)).toEqual(['greeting', 'fallback-1-1']);
    const turn = logsOf(callSid, 'CALL_TURN').find((l) => l['turnId'] === 1);
    const startSentMs = result.events.find((e) => e.type === 'start-sent')?.tMs ?? NaN;
    const endOfSpeechMs = startSentMs + Number(turn?.['endMs']);
    const firstFrameMs = result.playbacks[result.marksReceived.indexOf('fallback-1-1')]?.[0] ?? NaN;
    expect(firstFrameMs - endOfSpeechMs, describeCall(callSid)).toBeLessThan(REQUIRED_MS);
    expect(logsOf(callSid, 'AGENT_FALLBACK').map((l) => l['errKind'])).toEqual(['timeout']);
    // the batch upload was tried (the stream was late) and closed by the budget
    const upload = openaiFake.of(ROUTE_ASR).at(-1);
    expect(upload?.wasAbortedByClient).toBe(true);
    expect(openaiFake.of(ROUTE_CHAT).length).toBe(3); // no chat for the hung turn
  });
});
