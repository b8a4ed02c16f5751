// A full call through the real server (`node dist/src/main.js`, the AI agent with the real SDKs against local fakes)
// and the Twilio-like Caller: while the long greeting plays, the caller says something short (600 ms of the Hebrew
// reference speech: enough speech to barge in) that the ASR hears as "כן" - a backchannel. The playback is cleared,
// then the greeting resumes (as greeting~r1) from RESUME_BACKUP_FRAMES before the frame the caller last heard, plays
// to its mark, and no reply is asked for. Frame counts are the server's and the caller's, not wall-clock times.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerResult } from '../../src/cli/caller.js';
import { RESUME_BACKUP_FRAMES } from '../../src/agent/barge-in-hold.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

const he = loadReferenceCall('conv-he');
const [utt1 = [25, 248]] = he.utteranceFrames;
// 150 characters: the fake synthesizes 40 ms per character, capped at 6 s of audio
const GREETING = 'שלום וברוכים הבאים למרפאה שלנו, אני העוזרת הדיגיטלית ואני כאן כדי לעזור לכם לקבוע תור, לשנות תור או לבטל תור, ולענות על כל שאלה שיש לכם היום.';

// 3 s of silence (the greeting is playing by then), 600 ms of speech over it, then quiet while it resumes and ends
const audio = splice(silenceFrames(150), framesOf(he.audio, utt1[0] + 5, utt1[0] + 35), silenceFrames(400));

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let server: RunningServer;
let result: CallerResult;

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({ transcript: () => 'כן.', reply: () => 'זה לא אמור להישמע.' });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 40 });
  server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
      GREETING, SYSTEM_PROMPT: 'You are a test receptionist.', ASR_TIMEOUT_MS: '3000', LLM_TIMEOUT_MS: '3000', TTS_TIMEOUT_MS: '3000',
    }),
  });
  result = await runCall(server, audio, { tailMs: 1000 });
  await waitUntilNoCalls(server, 5000);
}, 40_000);

afterAll(async () => {
  await server?.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

const logs = (event: string) => server.logs().filter((l) => l['event'] === event);
const describeCall = () => JSON.stringify({ marks: result.marksReceived, clears: result.clears, events: result.events,
  logs: server.logs().filter((l) => /ASR|TTS|LLM|BARGE|FALLBACK|ERROR|TURN|GREETING/.test(String(l['event']))) });

describe('a backchannel over the greeting', () => {
  it('barges in (the line is cleared), is transcribed, and is not answered', () => {
    expect(result.clears, describeCall()).toBe(1);
    expect(openaiFake.uploads()).toHaveLength(1);
    expect(openaiFake.of(ROUTE_CHAT)).toHaveLength(0);
    expect(logs('ASR_SKIP').some((l) => l['reason'] === 'backchannel')).toBe(true);
  });

  it('resumes the greeting from a little before where the caller stopped hearing it, and plays it to its mark', () => {
    const cut = logs('BARGE_IN').find((l) => Array.isArray(l['utterances']) && l['framesHeard'] !== undefined && l['atMs'] !== undefined);
    const [progress] = (cut?.['utterances'] ?? []) as Array<{ utteranceId: string; framesQueued: number; framesSent: number; framesHeard: number }>;
    expect(progress?.utteranceId, describeCall()).toBe('greeting');
    expect(progress!.framesHeard).toBeGreaterThan(RESUME_BACKUP_FRAMES);
    expect(progress!.framesHeard).toBeLessThan(progress!.framesQueued);
    expect(logs('BARGE_IN').some((l) => l['isResumed'] === true)).toBe(true);
    expect(result.marksReceived).toEqual(['greeting~r1']);
    // what the caller received: the frames sent before the clear, then the greeting again from (heard - 12) to its end
    const resumedFrames = progress!.framesQueued - (progress!.framesHeard - RESUME_BACKUP_FRAMES);
    expect(result.framesReceived).toBe(progress!.framesSent + resumedFrames);
  });
});
