// The first sentence of an early reply is synthesized while the reply is held (sentence-prefetch.ts), through the
// real server (streaming ASR against the fake realtime socket, the openai SDK against the fake chat route, Google
// TTS against its fake):
//  - the pause becomes the turn's end: the sentence's TTS request went out before the turn ended, and that audio is
//    what the caller hears first (no second request for it);
//  - the caller goes on after the pause: the sentence was synthesized, yet not a frame of it reaches the caller (the
//    frames the caller received are exactly those of the lines the server says it played).
// EARLY_REPLY_AUDIO=off asks for the first sentence's audio only once the reply is used.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulawEncode, tonePcm } from '../fakes/audio.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';

const HELD_FIRST = 'Held and thrown away.';
const USED_FIRST = 'Ready before you finished.';

function toneFrames(ms: number): Uint8Array {
  return new Uint8Array(mulawEncode(tonePcm(8000, ms, 440, 8000)));
}

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
const account = fakeServiceAccount();
const servers: RunningServer[] = [];

async function serverWith(extra: Record<string, string>): Promise<RunningServer> {
  const server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
      LANGUAGE: 'en', GREETING: 'Hi.', OPENAI_ASR_MODEL: 'gpt-4o-mini-transcribe', EARLY_REPLY_PAUSE_MS: '240', ...extra,
    }),
  });
  servers.push(server);
  return server;
}

/** When a sentence's TTS request reached the fake, as wall-clock ms (the server logs wall-clock time). */
const ttsRequestedAtMs = (text: string): number[] => googleFake.requests
  .filter((r) => JSON.stringify(r.parsed ?? '').includes(text))
  .map((r) => performance.timeOrigin + r.receivedAtMs);

beforeAll(async () => {
  let replies = 0;
  openaiFake = await startFakeOpenAI({
    realtime: { transcript: () => 'some words', delayMs: 20 },
    // each request's reply: a first sentence that names it, then a second one
    reply: () => `${[HELD_FIRST, 'The final answer.', USED_FIRST, 'Asked late.'][replies++] ?? 'More.'} And a second sentence here.`,
    chunkDelayMs: 5,
  });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 10 });
}, 30_000);

afterAll(async () => {
  for (const server of servers) await server.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

describe("an early reply's first sentence", () => {
  it('is synthesized while held and never reaches the caller when the caller goes on', async () => {
    const server = await serverWith({});
    // 0.6 s of "speech", 0.5 s quiet (a pause, not an end), 0.6 s more, then silence for the reply
    const audio = splice(silenceFrames(60), toneFrames(600), silenceFrames(25), toneFrames(600), silenceFrames(150));
    const result = await runCall(server, audio, { tailMs: 1500 });
    await waitUntilNoCalls(server, 5000);
    // the held reply's first sentence was asked for while it was held
    expect(ttsRequestedAtMs(HELD_FIRST).length).toBe(1);
    const logs = server.logs();
    const early = logs.filter((l) => l['event'] === 'EARLY_REPLY' && l['outcome'] !== undefined);
    expect(early.map((l) => l['outcome'])).toEqual(['discarded', 'used']);
    // what the caller received is exactly what the server played: the greeting and the turn's reply, not the held line
    const played = logs.filter((l) => l['event'] === 'TTS_SUCCESS');
    expect(played.some((l) => String(l['utteranceId']).startsWith('reply'))).toBe(true);
    const playedFrames = played.reduce((sum, l) => sum + Number(l['frames']), 0);
    expect(result.framesReceived).toBe(playedFrames);
    expect(logs.filter((l) => l['event'] === 'LLM_TEXT').map((l) => l['text'])).not.toContain(`${HELD_FIRST} And a second sentence here.`);
  }, 30_000);

  it('is asked for before the turn ends and is what the caller hears when the pause ends the turn', async () => {
    const server = await serverWith({});
    const audio = splice(silenceFrames(60), toneFrames(600), silenceFrames(150));
    const result = await runCall(server, audio, { tailMs: 1500 });
    await waitUntilNoCalls(server, 5000);
    const logs = server.logs();
    const turnEndedAtMs = Date.parse(String(logs.find((l) => l['event'] === 'CALL_TURN')!['time']));
    const requested = ttsRequestedAtMs(USED_FIRST);
    expect(requested).toHaveLength(1); // asked for once, while held: not again when the reply was used
    expect(requested[0]!).toBeLessThan(turnEndedAtMs);
    const first = logs.find((l) => l['event'] === 'TTS_SUCCESS' && l['utteranceId'] === 'reply-1' && l['sentence'] === 1);
    expect(first).toMatchObject({ wasPrefetched: true });
    expect(result.marksReceived).toContain('reply-1');
  }, 30_000);

  it('with EARLY_REPLY_AUDIO=off is asked for only once the reply is used', async () => {
    const server = await serverWith({ EARLY_REPLY_AUDIO: 'off' });
    const audio = splice(silenceFrames(60), toneFrames(600), silenceFrames(150));
    await runCall(server, audio, { tailMs: 1500 });
    await waitUntilNoCalls(server, 5000);
    const logs = server.logs();
    const turnEndedAtMs = Date.parse(String(logs.find((l) => l['event'] === 'CALL_TURN')!['time']));
    const requested = ttsRequestedAtMs('Asked late.');
    expect(requested).toHaveLength(1);
    expect(requested[0]!).toBeGreaterThanOrEqual(turnEndedAtMs - 5);
    expect(logs.find((l) => l['event'] === 'TTS_SUCCESS' && l['utteranceId'] === 'reply-1' && l['sentence'] === 1)).not.toHaveProperty('wasPrefetched');
  }, 30_000);
});
