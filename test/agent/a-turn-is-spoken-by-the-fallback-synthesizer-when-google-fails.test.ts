// TTS fail-over inside one turn, through the real server: Google's TTS answers 500 to everything, OpenAI speech (the
// default fallback when both are configured) speaks the greeting and the reply instead, the caller hears them played
// to their marks, each reply's record names the synthesizer that served it, and /metrics counts the fail-overs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallerResult } from '../../src/cli/caller.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, ROUTE_SYNTHESIZE, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { ROUTE_SPEECH, startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';

const API_KEY = 'failover-e2e-api-key-0123456789abcdef';
const GREETING = 'Hello, how can I help?';
const REPLY = 'Your order ships tomorrow.';
const en = loadReferenceCall('conv-en');
const [utterance = [25, 248]] = en.utteranceFrames;
const audio = splice(silenceFrames(150), framesOf(en.audio, utterance[0], utterance[1]), silenceFrames(150));
const callSid = 'CA' + 'f'.repeat(32);

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let server: RunningServer;
let result: CallerResult;

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({ transcript: () => 'Where is my order?', reply: () => REPLY, speechMsPerChar: 30 });
  googleFake = await startFakeGoogleTts({ account });
  googleFake.behaviour.set(ROUTE_SYNTHESIZE, 'error500');
  server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
      LANGUAGE: 'en', GREETING, CONTROL_API_KEY: API_KEY, TURN_DEADLINE_MS: '4000',
    }),
  });
  result = await runCall(server, audio, { callSid, tailMs: 1500 });
  await waitUntilNoCalls(server, 5000);
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

describe('a turn spoken by the fallback synthesizer', () => {
  it('speaks the greeting and the reply through OpenAI while Google fails, played to their marks', () => {
    expect(googleFake.of(ROUTE_SYNTHESIZE).length).toBeGreaterThan(0);
    const spoken = openaiFake.of(ROUTE_SPEECH).map((r) => (JSON.parse(r.body.toString('utf8')) as { input: string }).input);
    expect(spoken).toEqual(expect.arrayContaining(['Hello, how can I help?', REPLY]));
    expect(result.marksEchoed).toEqual(expect.arrayContaining(['greeting', 'reply-1']));
  });

  it('names the synthesizer that served each reply in the record, and counts the fail-overs', async () => {
    let events: Array<{ kind: string; data: Record<string, unknown> }> = [];
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const answer = await fetch(`${server.baseUrl}/api/calls/${callSid}`, { headers: { Authorization: `Bearer ${API_KEY}`, connection: 'close' } });
      if (answer.status === 200) events = ((await answer.json()) as { events: typeof events }).events;
      if (events.filter((e) => e.kind === 'providers').length >= 2) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    const served = events.filter((e) => e.kind === 'providers').map((e) => e.data);
    expect(served).toEqual(expect.arrayContaining([
      { utteranceId: 'greeting', tts: ['openai-tts'] },
      { utteranceId: 'reply-1', tts: ['openai-tts'], llm: 'openai-llm' },
    ]));
    const metrics = await (await fetch(`${server.baseUrl}/metrics`, { headers: { connection: 'close' } })).text();
    const failovers = /^aicrmd_provider_failovers_total\{stage="tts",from="google-tts",to="openai-tts"\} (\d+)/m.exec(metrics);
    expect(Number(failovers?.[1] ?? 0)).toBeGreaterThanOrEqual(2);
  });
});
