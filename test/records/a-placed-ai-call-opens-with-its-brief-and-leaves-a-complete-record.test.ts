// An AI call placed through the control API, end to end through the real server (two edge threads, the AI agent's
// real SDKs pointed at local fakes, the twilio SDK at a local Twilio REST server): POST /api/calls with a greeting
// and a context; Twilio (the test) answers our answer URL, which carries only the brief's launch id; the stream
// starts on whichever thread it reaches; the agent opens with the call's own greeting (not the usual one) and its
// chat requests carry the context in the instructions. The call then leaves a complete record, in SQLite and in
// PostgreSQL alike: outbound, the AI agent, the caller's turn as transcribed with its latency, the agent's lines with
// what was heard, and the brief among the events. Once it is over, it is summarized (the agent file's fields, by
// structured output) into the record and the summary reaches the agent file's webhook, signed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaderValue } from '../../src/agent/tools/signature.js';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { Caller } from '../../src/cli/caller.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { TwilioRestFake } from '../fakes/twilio-rest-server.js';
import { answerPlacedCall } from '../helpers/placed-call.js';
import { REPO_ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, mediaUrl, silenceFrames, splice } from '../integration/reference-calls.js';
import { backendsToRun, until, type BackendInstance } from './backends.js';

const ACCOUNT_SID = 'AC' + 'd'.repeat(32);
const AUTH_TOKEN = 'placed-ai-auth-token-3e9f';
const PUBLIC_BASE_URL = 'https://placed.example.test';
const API_KEY = 'placed-ai-api-key-0123456789abcdef';
const USUAL_GREETING = 'Hello, front desk, how can I help?';
const BRIEF_GREETING = 'Hi Dana, this is the clinic calling about your appointment tomorrow.';
const CONTEXT = { patient: 'Dana Levi', appointment: '2026-12-04T10:00', doctor: 'Dr. Cohen' };
const TRANSCRIPT = 'Yes, I will be there, thank you.';
const REPLY = 'Great, see you tomorrow.';
const SIGNING_SECRET = 'placed-ai-webhook-signing-secret-0123456789';
const SUMMARY = { summary: 'Dana confirmed her appointment for tomorrow at 10.', disposition: 'resolved', fields: { confirmed: true } };

/** The agent file: the summary's fields and the webhook that receives it. */
function writeAgentFile(webhookUrl: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'aicrmd-placed-agent-')), 'agent.json');
  writeFileSync(file, JSON.stringify({ name: 'Clinic', summary: { fields: { type: 'object', properties: { confirmed: { type: 'boolean' } } }, webhook: webhookUrl } }));
  return file;
}

const en = loadReferenceCall('conv-en');
const [utterance = [25, 248]] = en.utteranceFrames;
// the greeting (about 2 s of audio) plays out over the first 6 s, then one utterance, then silence for the reply
const audio = splice(silenceFrames(300), framesOf(en.audio, utterance[0], utterance[1]), silenceFrames(150));

interface ApiCall {
  callSid: string; direction: string; to: string | null; agent: string | null; endReason: string | null; endedAt: string | null;
  turns: Array<{ role: string; text: string | null; heardText: string | null; latencyMs: number | null }>;
  events: Array<{ kind: string; data: Record<string, unknown> }>;
}

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`a placed AI call, recorded in ${backend.name}`, () => {
    let instance: BackendInstance;
    let twilio: TwilioRestFake;
    let openaiFake: FakeOpenAI;
    let googleFake: FakeGoogleTts;
    let server: RunningServer;
    const received: Array<{ body: string; signature: string }> = [];
    const webhook = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
        received.push({ body, signature: String(req.headers['x-aicrmd-signature'] ?? '') });
        res.writeHead(204).end();
      });
    });
    beforeAll(async () => {
      await new Promise<void>((done) => webhook.listen(0, '127.0.0.1', done));
      instance = await backend.create();
      const { dataDir, databaseUrl } = instance.settings;
      const account = fakeServiceAccount();
      twilio = await new TwilioRestFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }).listen();
      // the end-of-call summary asks with a JSON schema: it gets the summary; the conversation gets the reply
      openaiFake = await startFakeOpenAI({
        transcript: () => TRANSCRIPT,
        reply: (_index, body) => ('response_format' in body ? JSON.stringify(SUMMARY) : REPLY),
      });
      googleFake = await startFakeGoogleTts({ account, msPerChar: 30 });
      server = await startServer({
        env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, {
          EDGE_THREADS: '2', LANGUAGE: 'en', GREETING: USUAL_GREETING, SYSTEM_PROMPT: 'You are the clinic\'s assistant.',
          TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_BASE_URL: twilio.baseUrl, PUBLIC_BASE_URL,
          TWILIO_CALLER_ID: '+15550009999', CONTROL_API_KEY: API_KEY, CALL_SUMMARIES: 'on', WEBHOOK_SIGNING_SECRET: SIGNING_SECRET,
          AGENT_FILE: writeAgentFile(`http://127.0.0.1:${(webhook.address() as AddressInfo).port}/calls`),
          DATA_DIR: dataDir, ...(databaseUrl !== undefined ? { DATABASE_URL: databaseUrl } : {}),
        }),
      });
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
      await Promise.all([twilio?.close(), openaiFake?.close(), googleFake?.close(), new Promise((done) => webhook.close(done))]);
      await instance?.dispose();
    });

    const api = async (method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${server.baseUrl}${path}`, {
        method, headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', connection: 'close' },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      return { status: response.status, body: await response.json() };
    };

    it('opens with its own greeting, knows its context, and leaves a complete record', async () => {
      const placed = await api('POST', '/api/calls', { to: '+972521112233', greeting: BRIEF_GREETING, context: CONTEXT });
      expect(placed.status).toBe(201);
      const { callSid } = placed.body as { callSid: string };
      // the answer URL carries the launch id only: the greeting and context stay in the server
      const create = twilio.requests.filter((r) => r.path.endsWith('/Calls.json')).at(-1)!;
      const answerUrl = new URL(create.form['Url']!);
      expect(`${answerUrl.origin}${answerUrl.pathname}`).toBe(`${PUBLIC_BASE_URL}/webhook/outbound_answer`);
      const launchId = answerUrl.searchParams.get('launch') ?? '';
      expect(launchId).toMatch(/^[0-9a-f]{32}$/);
      expect(create.form['Url']).not.toContain('Dana');

      // Twilio fetches the answer URL, signed over the whole URL, query included
      const { twiml, streamParameters } = await answerPlacedCall(server, answerUrl, {
        callSid, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, publicBaseUrl: PUBLIC_BASE_URL, from: '+15550009999', to: '+972521112233',
      });
      expect(twiml).toContain(`<Parameter name="launch" value="${launchId}"/>`);

      const caller = new Caller({
        url: mediaUrl(server), audio, callSid, accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, tailMs: 1500,
        signature: getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL.replace('https', 'wss')}/ws/twilio-media`, {}),
        // the stream's parameters as our TwiML gave them (Twilio hands them back in start.customParameters)
        customParameters: streamParameters,
      });
      const result = await caller.run();
      expect(result.closeCode).toBe(1000);

      // the call's own greeting was spoken, the usual one was not; the context reached the model's instructions
      expect(googleFake.texts()).toContain(BRIEF_GREETING);
      expect(googleFake.texts()).not.toContain(USUAL_GREETING);
      const chat = openaiFake.chatBodies();
      expect(chat.length).toBeGreaterThanOrEqual(1);
      const system = chat[0]!.messages[0]!;
      expect(system.role).toBe('system');
      expect(system.content).toContain('You are the clinic\'s assistant.');
      expect(system.content).toContain(JSON.stringify(CONTEXT));

      let record: ApiCall | undefined;
      await until('the call\'s record, ended, with the reply heard', async () => {
        const read = await api('GET', `/api/calls/${callSid}`);
        record = read.status === 200 ? (read.body as ApiCall) : undefined;
        return record?.endedAt != null && record.turns.some((t) => t.role === 'agent' && t.text === REPLY && t.heardText !== null);
      }, 15_000);
      expect(record).toMatchObject({ callSid, direction: 'outbound', to: '+972521112233', agent: 'openai', endReason: 'stop' });
      const callerTurns = record!.turns.filter((t) => t.role === 'caller');
      expect(callerTurns.map((t) => t.text)).toEqual([TRANSCRIPT]);
      expect(callerTurns[0]!.latencyMs).toBeGreaterThan(0);
      const agentLines = record!.turns.filter((t) => t.role === 'agent');
      expect(agentLines.map((t) => t.text)).toEqual([BRIEF_GREETING, REPLY]);
      // the reply played out before the caller hung up: heard whole (the greeting too, unless a slow machine let the
      // caller's words reach it first: then what was heard is where the barge-in cut it)
      expect(agentLines[1]!.heardText).toBe(REPLY);
      expect(BRIEF_GREETING.startsWith((agentLines[0]!.heardText ?? '').replace(/…$/, ''))).toBe(true);
      expect(record!.events.find((e) => e.kind === 'brief')?.data).toEqual({ greeting: BRIEF_GREETING, context: CONTEXT });

      // over: summarized into the record, and delivered to the webhook, signed over the exact body
      await until('the summary at the webhook', () => received.some((r) => r.body.includes(callSid)), 20_000);
      const delivery = received.find((r) => r.body.includes(callSid))!;
      const t = /^t=(\d+),/.exec(delivery.signature)?.[1] ?? '';
      expect(delivery.signature).toBe(signatureHeaderValue(SIGNING_SECRET, delivery.body, Number(t)));
      expect(JSON.parse(delivery.body)).toMatchObject({ callSid, to: '+972521112233', direction: 'outbound', ...SUMMARY });
      const summarized = (await api('GET', `/api/calls/${callSid}`)).body as { summary: Record<string, unknown> };
      expect(summarized.summary).toMatchObject({ text: SUMMARY.summary, disposition: 'resolved', fields: { confirmed: true } });
      await until('the delivery recorded', async () => ((await api('GET', `/api/calls/${callSid}`)).body as { summary: { delivery: { deliveredAt: string | null } } }).summary.delivery.deliveredAt !== null, 5_000);
      // and as a person reads it
      const shown = execFileSync(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'calls.js'), 'show', callSid], {
        env: { PATH: process.env['PATH'] ?? '', AICRMD_URL: server.baseUrl, CONTROL_API_KEY: API_KEY }, encoding: 'utf8',
      });
      expect(shown).toContain(`summary (resolved): ${SUMMARY.summary}`);
      expect(shown).toContain('fields: {"confirmed":true}');
      expect(shown).toMatch(/delivered \S+ \(attempt 1\)/);
    }, 60_000);

    it('refuses a brief that is too large, naming the field', async () => {
      const tooLong = await api('POST', '/api/calls', { to: '+972521112233', greeting: 'x'.repeat(1001) });
      expect(tooLong).toMatchObject({ status: 400, body: { error: { code: 'bad-request', field: 'greeting' } } });
      const tooBig = await api('POST', '/api/calls', { to: '+972521112233', context: { notes: 'y'.repeat(5000) } });
      expect(tooBig).toMatchObject({ status: 400, body: { error: { code: 'bad-request', field: 'context' } } });
      const notAnObject = await api('POST', '/api/calls', { to: '+972521112233', context: ['a'] });
      expect(notAnObject).toMatchObject({ status: 400, body: { error: { code: 'bad-request', field: 'context' } } });
    });
  });
}
