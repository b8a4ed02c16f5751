// Two instances behind one number, on one records database (SQLite in a shared folder, and PostgreSQL): a call placed
// through instance A's control API is answered by instance B (Twilio's answer webhook and the media stream reach B,
// as a load balancer may send them). B does not hold the brief in memory; it reads it from the records, and its agent
// opens with the call's own greeting and knows its context. A brief never written (an unknown launch id) still lets
// the call go on with the usual greeting.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { Caller } from '../../src/cli/caller.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { TwilioRestFake } from '../fakes/twilio-rest-server.js';
import { answerPlacedCall } from '../helpers/placed-call.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, mediaUrl, silenceFrames, splice } from '../integration/reference-calls.js';
import { backendsToRun, type BackendInstance } from './backends.js';

const ACCOUNT_SID = 'AC' + 'e'.repeat(32);
const AUTH_TOKEN = 'two-instances-auth-token-77c1';
const PUBLIC_BASE_URL = 'https://clinic.example.test';
const API_KEY = 'two-instances-api-key-0123456789abcdef';
const USUAL_GREETING = 'Hello, front desk, how can I help?';
const BRIEF_GREETING = 'Hi Noa, this is the clinic calling to confirm your visit on Thursday.';
const CONTEXT = { patient: 'Noa Peretz', visit: '2026-12-10T09:30' };

const en = loadReferenceCall('conv-en');
const [utterance = [25, 248]] = en.utteranceFrames;
const audio = splice(silenceFrames(130), framesOf(en.audio, utterance[0], utterance[1]), silenceFrames(100));

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`two instances on ${backend.name}`, () => {
    let instance: BackendInstance;
    let twilio: TwilioRestFake;
    let openaiFake: FakeOpenAI;
    let googleFake: FakeGoogleTts;
    let placing: RunningServer;
    let answering: RunningServer;
    beforeAll(async () => {
      instance = await backend.create();
      const { dataDir, databaseUrl } = instance.settings;
      const account = fakeServiceAccount();
      twilio = await new TwilioRestFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }).listen();
      openaiFake = await startFakeOpenAI({ transcript: () => 'Yes, Thursday is fine.', reply: () => 'Wonderful, see you then.' });
      googleFake = await startFakeGoogleTts({ account, msPerChar: 30 });
      const env = (): Record<string, string> => aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
        LANGUAGE: 'en', GREETING: USUAL_GREETING, SYSTEM_PROMPT: 'You are the clinic\'s assistant.', CALL_SUMMARIES: 'off',
        TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_BASE_URL: twilio.baseUrl, PUBLIC_BASE_URL,
        TWILIO_CALLER_ID: '+15550008888', CONTROL_API_KEY: API_KEY,
        // one database, each process with its own files folder beside it (SQLite: the same file in DATA_DIR)
        DATA_DIR: dataDir, ...(databaseUrl !== undefined ? { DATABASE_URL: databaseUrl } : {}),
      });
      [placing, answering] = await Promise.all([startServer({ env: env() }), startServer({ env: env() })]);
    }, 60_000);
    afterAll(async () => {
      await Promise.all([placing?.stop(), answering?.stop()]);
      await Promise.all([twilio?.close(), openaiFake?.close(), googleFake?.close()]);
      await instance?.dispose();
    });

    const answerAt = async (server: RunningServer, answerUrl: URL, callSid: string): Promise<Record<string, string>> =>
      (await answerPlacedCall(server, answerUrl, { callSid, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, publicBaseUrl: PUBLIC_BASE_URL, from: '+15550008888', to: '+972523334455' })).streamParameters;

    async function streamTo(server: RunningServer, callSid: string, customParameters: Record<string, string>): Promise<void> {
      const caller = new Caller({
        url: mediaUrl(server), audio, callSid, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, tailMs: 1200,
        signature: getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL.replace('https', 'wss')}/ws/twilio-media`, {}),
        customParameters,
      });
      expect((await caller.run()).closeCode).toBe(1000);
    }

    it('the instance that did not place the call reads the brief from the records and opens with it', async () => {
      const placed = await fetch(`${placing.baseUrl}/api/calls`, {
        method: 'POST', headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', connection: 'close' },
        body: JSON.stringify({ to: '+972523334455', greeting: BRIEF_GREETING, context: CONTEXT }),
      });
      expect(placed.status).toBe(201);
      const { callSid } = (await placed.json()) as { callSid: string };
      const create = twilio.requests.filter((r) => r.path.endsWith('/Calls.json')).at(-1)!;
      const answerUrl = new URL(create.form['Url']!);
      const parameters = await answerAt(answering, answerUrl, callSid);
      expect(parameters['launch']).toMatch(/^[0-9a-f]{32}$/);
      const spokenBefore = googleFake.texts().length;
      await streamTo(answering, callSid, parameters);
      const spoken = googleFake.texts().slice(spokenBefore);
      expect(spoken).toContain(BRIEF_GREETING);
      expect(spoken).not.toContain(USUAL_GREETING);
      const system = openaiFake.chatBodies().at(-1)!.messages[0]!;
      expect(system.content).toContain(JSON.stringify(CONTEXT));
    }, 60_000);

    it('a launch id no instance wrote leaves the call with the usual greeting', async () => {
      const callSid = 'CA' + '7'.repeat(32);
      const answerUrl = new URL(`${PUBLIC_BASE_URL}/webhook/outbound_answer?launch=${'0'.repeat(32)}`);
      const parameters = await answerAt(answering, answerUrl, callSid);
      const spokenBefore = googleFake.texts().length;
      await streamTo(answering, callSid, parameters);
      expect(googleFake.texts().slice(spokenBefore)).toContain(USUAL_GREETING);
    }, 60_000);
  });
}
