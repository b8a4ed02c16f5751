// Early replies through the real server (AI agent, streaming ASR against the fake realtime transcription socket, the
// real openai SDK against the fake chat route): at a quiet stretch of EARLY_REPLY_PAUSE_MS inside a caller's turn
// the words so far are committed and the reply is asked for at once.
//  - The caller goes on after the pause: that request is closed, nothing of it is ever synthesized or played, and
//    the turn is answered on all of its words (the pause's segment and the rest, asked for at the next pause).
//  - The pause becomes the turn's end: the reply asked for at the pause is the turn's reply (one chat request for
//    the turn, no further commit, no batch upload).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mulawEncode, tonePcm } from '../fakes/audio.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_ASR, ROUTE_CHAT, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';

const SPECULATIVE_REPLY = 'This reply must never be heard.';
const FINAL_REPLY = 'Here is the answer to both parts.';
const EARLY_REPLY = 'Answered at the pause.';

/** A loud tone as whole 20 ms mu-law frames. */
function toneFrames(ms: number): Uint8Array {
  return new Uint8Array(mulawEncode(tonePcm(8000, ms, 440, 8000)));
}

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let server: RunningServer;

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({
    realtime: { transcript: (index) => ['part one', 'part two', 'whole words'][index] ?? 'more', delayMs: 20 },
    reply: (index) => [SPECULATIVE_REPLY, FINAL_REPLY, EARLY_REPLY][index] ?? 'Fine.',
    // the first (speculative) reply streams slowly, so that it is still streaming when the caller goes on
    chunkDelayMs: (index) => (index === 0 ? 150 : 5),
  });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 10 });
  server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
      LANGUAGE: 'en', GREETING: 'Hi.', OPENAI_ASR_MODEL: 'gpt-4o-mini-transcribe', EARLY_REPLY_PAUSE_MS: '240',
    }),
  });
}, 30_000);

afterAll(async () => {
  await server?.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

const logs = (event: string) => server.logs().filter((l) => l['event'] === event);
const spokenTexts = (): string[] => googleFake.requests.map((r) => JSON.stringify(r.parsed ?? r.body.toString('utf8')));

describe('a reply asked for at a pause', () => {
  it('is closed and never played when the caller goes on, and the turn is answered on all of its words', async () => {
    // 0.6 s of "speech", 0.5 s quiet (a pause: longer than 240 ms, shorter than the 700 ms hangover), 0.6 s more
    const audio = splice(silenceFrames(60), toneFrames(600), silenceFrames(25), toneFrames(600), silenceFrames(150));
    const result = await runCall(server, audio, { tailMs: 1500 });
    await waitUntilNoCalls(server, 5000);
    const chats = openaiFake.chatBodies();
    expect(chats.length).toBe(2);
    // the pause's request: the words so far; it was closed while it still streamed
    expect(chats[0]!.messages.at(-1)).toEqual({ role: 'user', content: 'part one' });
    const speculative = openaiFake.of(ROUTE_CHAT)[0]!;
    expect(speculative.wasAbortedByClient).toBe(true);
    // the turn's own request: all of its words
    expect(chats[1]!.messages.at(-1)).toEqual({ role: 'user', content: 'part one part two' });
    expect(openaiFake.realtime.commits().length).toBe(2);
    expect(openaiFake.of(ROUTE_ASR)).toHaveLength(0);
    // nothing of the speculative reply was synthesized (so nothing of it can have played); the final one was
    expect(spokenTexts().some((t) => t.includes('never be heard'))).toBe(false);
    expect(spokenTexts().some((t) => t.includes('answer to both parts'))).toBe(true);
    expect(result.marksReceived.length).toBeGreaterThanOrEqual(2);
    // the second pause (after "part two") became the turn's end: its request, on all the words, was the reply
    const early = logs('EARLY_REPLY').filter((l) => l['outcome'] !== undefined);
    expect(early.map((l) => [l['outcome'], l['reason']])).toEqual([['discarded', 'the caller went on'], ['used', undefined]]);
  }, 30_000);

  it('is the turn\'s reply when the pause becomes the turn\'s end: one chat request, no second commit, no upload', async () => {
    const chatsBefore = openaiFake.chatBodies().length;
    const earlyBefore = logs('EARLY_REPLY').length;
    const commitsBefore = openaiFake.realtime.commits().length;
    const audio = splice(silenceFrames(60), toneFrames(600), silenceFrames(150));
    const result = await runCall(server, audio, { tailMs: 1500 });
    await waitUntilNoCalls(server, 5000);
    const chats = openaiFake.chatBodies().slice(chatsBefore);
    expect(chats.map((c) => c.messages.at(-1))).toEqual([{ role: 'user', content: 'whole words' }]);
    expect(openaiFake.realtime.commits().length).toBe(commitsBefore + 1);
    expect(openaiFake.of(ROUTE_ASR)).toHaveLength(0);
    expect(spokenTexts().some((t) => t.includes('Answered at the pause'))).toBe(true);
    expect(result.marksReceived).toContain('reply-1');
    const used = logs('EARLY_REPLY').slice(earlyBefore).filter((l) => l['outcome'] === 'used');
    expect(used).toHaveLength(1);
    expect(used[0]!['aheadMs']).toBeGreaterThan(0);
    // the caller's words in the log are the pause's
    expect(logs('ASR_TEXT').at(-1)).toMatchObject({ text: 'whole words', via: 'stream' });
  }, 30_000);
});
