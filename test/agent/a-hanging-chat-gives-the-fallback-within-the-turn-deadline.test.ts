// A turn's provider budget is the turn's, not a stage's: in a full call through the real server (real openai and
// Google SDKs against the local fakes, every timeout at its default), the caller's turn is transcribed at once and
// then the streamed reply hangs. The shared turn deadline (TURN_DEADLINE_MS, 1700 ms from the end of speech) gives up
// on the chat, and the fallback line's first frame reaches the caller within 2 s of the end of speech, measured on
// the caller's side: from the instant the turn's last speech frame was sent (its stream time, which the server logs
// in CALL_TURN) to the arrival of the fallback's first frame. With the chat's own 1800 ms deadline starting only after
// transcription, that was about 2.5 s (the 700 ms VAD hangover passes before the agent hears of the turn).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_ASR, ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

const REQUIRED_MS = 2000; // the requirement: the reply or the fallback within 2 s of the end of speech
const TURN_DEADLINE_MS = 1700; // the default (src/config.ts DEFAULT_TURN_DEADLINE_MS)

const he = loadReferenceCall('conv-he');
const [, utt = [348, 441]] = he.utteranceFrames;
const audio = splice(silenceFrames(80), framesOf(he.audio, utt[0], utt[1]), silenceFrames(150));

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let server: RunningServer;
let result: CallerResult;

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({ transcript: () => 'אני רוצה לקבוע תור למחר', reply: () => 'בשמחה.' });
  openaiFake.behaviour.set(ROUTE_CHAT, 'hang');
  googleFake = await startFakeGoogleTts({ account, msPerChar: 25 });
  server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, { GREETING: 'שלום!' }),
  });
  result = await runCall(server, audio, { tailMs: 1500 });
  await waitUntilNoCalls(server, 5000);
}, 40_000);

afterAll(async () => {
  await server?.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

const logs = (event: string) => server.logs().filter((l) => l['event'] === event);
const describeCall = () => JSON.stringify({ marks: result.marksReceived, events: result.events,
  logs: server.logs().filter((l) => /ASR|TTS|LLM|FALLBACK|ERROR|TURN/.test(String(l['event']))) });

describe('a hanging chat request', () => {
  it('gives the fallback line within 2 s of the end of speech (the shared turn deadline, not the chat deadline)', () => {
    expect(result.marksReceived, describeCall()).toEqual(['greeting', 'fallback-1-1']);
    const turn = logs('CALL_TURN').find((l) => l['turnId'] === 1);
    const startSentMs = result.events.find((e) => e.type === 'start-sent')?.tMs ?? NaN;
    const endOfSpeechMs = startSentMs + Number(turn?.['endMs']);
    const firstFrameMs = result.playbacks[result.marksReceived.indexOf('fallback-1-1')]?.[0] ?? NaN;
    const delayMs = firstFrameMs - endOfSpeechMs;
    expect(delayMs, describeCall()).toBeLessThan(REQUIRED_MS);
    // it was the turn's deadline that fired (not an early failure of something else)
    expect(delayMs, describeCall()).toBeGreaterThan(TURN_DEADLINE_MS - 200);
    expect(logs('AGENT_FALLBACK').map((l) => [l['kind'], l['errKind']])).toEqual([['line', 'timeout']]);
  });

  it('logs the chat as timed out by the turn deadline and closes the hung request', () => {
    expect(openaiFake.of(ROUTE_ASR)).toHaveLength(1);
    const errors = logs('PROVIDER_ERROR');
    expect(errors.map((l) => [l['provider'], l['errKind']]), describeCall()).toEqual([['openai-llm', 'timeout']]);
    expect(errors[0]?.['msg']).toMatch(/turn's deadline of 1700 ms/);
    expect(openaiFake.of(ROUTE_CHAT)[0]?.wasAbortedByClient).toBe(true);
    expect(result.closeCode).toBe(1000);
  });
});
