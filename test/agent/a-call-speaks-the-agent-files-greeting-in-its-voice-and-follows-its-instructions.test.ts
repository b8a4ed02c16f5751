// The agent file reaches the calls: the real server (an edge worker thread, the AI agent, the real SDKs pointed at
// local fakes) started with AGENT_FILE=examples/front-desk-he.yaml and no GREETING, SYSTEM_PROMPT or voice variables
// greets a call with the file's greeting in the file's Google voice, and the model gets the file's instructions as
// its system prompt.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { REPO_ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';

const AGENT_FILE = `${REPO_ROOT}/examples/front-desk-he.yaml`;
const example = parse(readFileSync(AGENT_FILE, 'utf8')) as { greeting: string; instructions: string; voices: { google: string } };
const he = loadReferenceCall('conv-he');
const [utt1 = [25, 248]] = he.utteranceFrames;

let openaiFake: FakeOpenAI;
let googleFake: FakeGoogleTts;
let server: RunningServer;

beforeAll(async () => {
  const account = fakeServiceAccount();
  openaiFake = await startFakeOpenAI({ transcript: () => 'מה שעות הפעילות?', reply: () => 'אנחנו פתוחים עד חמש.' });
  googleFake = await startFakeGoogleTts({ account, msPerChar: 20 });
  const env = aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, { AGENT_FILE });
  delete env['LANGUAGE']; // the file's language, as a deployment without the variable has it
  server = await startServer({ env });
  // silence while the greeting plays, one question, then silence while the answer plays
  await runCall(server, splice(silenceFrames(150), framesOf(he.audio, utt1[0], utt1[1]), silenceFrames(150)), { tailMs: 1500 });
  await waitUntilNoCalls(server, 5000);
}, 40_000);

afterAll(async () => {
  await server?.stop();
  await openaiFake?.close();
  await googleFake?.close();
});

describe('a call with the agent file\'s agent', () => {
  it('is greeted with the file\'s greeting, in the file\'s Google voice and language', () => {
    // spoken sentence by sentence (and the fallback line is synthesized too, ahead of need): found by its text
    const greeting = googleFake.bodies().filter((body) => body.input.text !== undefined && example.greeting.includes(body.input.text));
    expect(greeting.map((body) => body.input.text).join(' '), JSON.stringify(googleFake.texts())).toBe(example.greeting);
    for (const body of greeting) expect(body.voice).toMatchObject({ name: example.voices.google, languageCode: 'he-IL' });
    expect(server.logs().find((l) => l['event'] === 'AGENT_GREETING')?.['text']).toBe(example.greeting);
  });

  it('the start log names the agent and its file', () => {
    expect(server.logs().find((l) => l['event'] === 'SERVER_START' && l['agentFile'] !== undefined)).toMatchObject({ agentFile: AGENT_FILE, agentName: 'Front desk (Hebrew)', tools: [], transfers: ['reception'] });
  });

  it('gives the model the file\'s instructions as its system prompt', () => {
    const chat = openaiFake.chatBodies()[0];
    expect(chat?.messages[0]).toEqual({ role: 'system', content: example.instructions.trim() });
  });
});
