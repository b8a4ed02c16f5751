// Provider failures in a full call through the real server: the first turn's transcription answers 500 (twice: the
// one retry fails too), the second turn's streamed reply hangs. Each time the caller hears the fallback line
// (synthesized at call start and cached) within 2 s of the turn reaching the agent, the failure is logged with its
// kind and latency, the hung request's socket is closed by the time limit, and the call goes on: the third turn is
// answered normally. Utterances are the Hebrew reference call's second one (conv-he), three times.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultFallbackLine } from '../../src/agent/fallback-audio.js';
import type { CallerResult } from '../../src/cli/caller.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_ASR, ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

const he = loadReferenceCall('conv-he');
const [, utt = [348, 441]] = he.utteranceFrames;
const utterance = framesOf(he.audio, utt[0], utt[1]);
const HANGOVER_MS = 700; // the VAD's default: a turn reaches the agent this long after the speech ended
const audio = splice(silenceFrames(80), utterance, silenceFrames(120), utterance, silenceFrames(120), utterance, silenceFrames(20));

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let server: RunningServer;
let result: CallerResult;

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({ transcript: () => 'תודה רבה, להתראות.', reply: () => 'להתראות!' });
  openaiFake.nextBehaviours.set(ROUTE_ASR, ['error500', 'error500']);
  openaiFake.nextBehaviours.set(ROUTE_CHAT, ['hang']);
  googleFake = await startFakeGoogleTts({ account, msPerChar: 25 });
  server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
      GREETING: 'שלום!', ASR_TIMEOUT_MS: '1000', LLM_TIMEOUT_MS: '1000', TTS_TIMEOUT_MS: '1000',
    }),
  });
  result = await runCall(server, audio, { tailMs: 2500 });
  await waitUntilNoCalls(server, 5000);
}, 40_000);

afterAll(async () => {
  await server?.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

const logs = (event: string) => server.logs().filter((l) => l['event'] === event);
const describeCall = () => JSON.stringify({ marks: result.marksReceived, clears: result.clears, events: result.events,
  logs: server.logs().filter((l) => /ASR|TTS|LLM|BARGE|FALLBACK|ERROR|TURN/.test(String(l['event']))) });

/** ms from the turn reaching the agent (end of speech + hangover) to the first frame of the playback ending in `mark`. */
function fallbackDelayMs(turnId: number, mark: string): number {
  const turn = logs('CALL_TURN').find((l) => l['turnId'] === turnId);
  const startSentMs = result.events.find((e) => e.type === 'start-sent')?.tMs ?? NaN;
  const index = result.marksReceived.indexOf(mark);
  const firstFrameMs = result.playbacks[index]?.[0] ?? NaN;
  return firstFrameMs - (startSentMs + Number(turn?.['endMs']) + HANGOVER_MS);
}

describe('provider failures during a call', () => {
  it('plays the cached fallback line within 2 s when transcription fails, and when the reply hangs', () => {
    expect(result.marksReceived, describeCall()).toEqual(['greeting', 'fallback-1-1', 'fallback-2-2', 'reply-3']);
    expect(result.clears).toBe(0);
    expect(fallbackDelayMs(1, 'fallback-1-1'), describeCall()).toBeLessThan(2000);
    expect(fallbackDelayMs(2, 'fallback-2-2'), describeCall()).toBeLessThan(2000);
    expect(logs('AGENT_FALLBACK').map((l) => l['kind'])).toEqual(['line', 'line']);
    // the line was synthesized once, at call start, and played from the cache both times
    expect(googleFake.texts().filter((t) => t === defaultFallbackLine('he'))).toHaveLength(1);
    // each fallback is the whole line, as long as its synthesized audio (25 ms a character, in 20 ms frames)
    const lineFrames = Math.ceil((Array.from(defaultFallbackLine('he')).length * 25) / 20);
    expect(Math.abs((result.playbacks[1]?.length ?? 0) - lineFrames)).toBeLessThanOrEqual(1);
  });

  it('logs each failure with its kind and latency, and closes the hung request', () => {
    const errors = logs('PROVIDER_ERROR');
    expect(errors.map((l) => [l['provider'], l['errKind']]), describeCall()).toEqual([['openai-asr', 'provider-http'], ['openai-llm', 'timeout']]);
    for (const line of errors) expect(line['latencyMs']).toBeTypeOf('number');
    expect(openaiFake.of(ROUTE_ASR).slice(0, 2).every((r) => r.isComplete)).toBe(true); // two attempts for turn 1
    expect(openaiFake.of(ROUTE_CHAT)[0]?.wasAbortedByClient).toBe(true);
  });

  it('goes on after the failures: the third turn is transcribed, answered and played', () => {
    expect(logs('ASR_TEXT').map((l) => l['turnId'])).toEqual([2, 3]);
    expect(openaiFake.of(ROUTE_CHAT)).toHaveLength(2);
    expect(result.marksEchoed).toContain('reply-3');
    expect(result.closeCode).toBe(1000);
  });
});
