// The two agents in examples/ as people would run them, each through a whole call on the real server (the AI agent's
// real SDKs against the local fakes): the file is used as shipped, only its HTTP endpoints pointed at servers on
// 127.0.0.1. The Hebrew front desk greets with its own line, instructs the model with its own text and offers its
// transfer target; the English appointment line calls its check_availability tool (signed, with the call's sid and
// the model's arguments), hands the answer back to the model, speaks the reply, and once the call is over delivers
// its summary, with the fields the file asks for, to its CRM webhook.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeaderValue } from '../../src/agent/tools/signature.js';
import { aiServerEnv } from '../fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts, type FakeGoogleTts } from '../fakes/google-tts-server.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from '../fakes/openai-server.js';
import { REPO_ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { framesOf, loadReferenceCall, runCall, silenceFrames, splice, waitUntilNoCalls } from '../integration/reference-calls.js';

const SECRET = 'examples-webhook-signing-secret-0123456789';
const en = loadReferenceCall('conv-en');
const [utterance = [25, 248]] = en.utteranceFrames;
const audio = splice(silenceFrames(250), framesOf(en.audio, utterance[0], utterance[1]), silenceFrames(200));

/** A copy of examples/<name> (and its instructions file) with every https:// endpoint host replaced by `baseUrl`. */
function exampleAt(name: string, baseUrl: string, extraFiles: string[] = []): string {
  const folder = mkdtempSync(join(tmpdir(), 'aicrmd-example-'));
  for (const file of extraFiles) copyFileSync(join(REPO_ROOT, 'examples', file), join(folder, file));
  const text = readFileSync(join(REPO_ROOT, 'examples', name), 'utf8').replace(/https:\/\/[a-z0-9.-]+/g, baseUrl);
  writeFileSync(join(folder, name), text);
  return join(folder, name);
}

interface Received { path: string; body: string; signature: string }
async function startReceiver(answer: (path: string, body: string) => unknown): Promise<{ server: Server; baseUrl: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      received.push({ path: req.url ?? '', body, signature: String(req.headers['x-aicrmd-signature'] ?? '') });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer(req.url ?? '', body)));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, received };
}
/** The fakes and a server running the agent file `env` names, after one whole call through it. */
interface ExampleRun { openaiFake: FakeOpenAI; googleFake: FakeGoogleTts; server: RunningServer; close(): Promise<void> }
async function runExampleCall(openaiOptions: FakeOpenAIOptions, env: Record<string, string>): Promise<ExampleRun> {
  const account = fakeServiceAccount();
  const openaiFake = await startFakeOpenAI(openaiOptions);
  const googleFake = await startFakeGoogleTts({ account, msPerChar: 20 });
  const server = await startServer({
    env: aiServerEnv({ openaiBaseUrl: openaiFake.baseUrl, googleEndpointUrl: googleFake.endpointUrl, account }, { LANGUAGE: '', TURN_DEADLINE_MS: '4000', ...env }),
  });
  await runCall(server, audio, { tailMs: 1000 });
  await waitUntilNoCalls(server, 5000);
  return {
    openaiFake, googleFake, server,
    async close() {
      await server.stop();
      await openaiFake.close();
      await googleFake.close();
    },
  };
}

const isSigned = (r: Received): boolean => r.signature === signatureHeaderValue(SECRET, r.body, Number(/^t=(\d+),/.exec(r.signature)?.[1] ?? 0));

describe('examples/front-desk-he.yaml', () => {
  let run: ExampleRun;
  const REPLY = 'המשרד פתוח היום עד חמש.';
  beforeAll(async () => {
    run = await runExampleCall({ transcript: () => 'עד מתי אתם פתוחים היום?', reply: () => REPLY }, {
      AGENT_FILE: exampleAt('front-desk-he.yaml', 'http://127.0.0.1:9'),
    });
  }, 60_000);
  afterAll(async () => {
    await run?.close();
  });

  it('greets with its line in its Hebrew voice, instructs the model with its text and offers its transfer target', () => {
    // the greeting is spoken a sentence at a time
    const greeting = run.googleFake.bodies().find((b) => b.input.text === 'שלום, הגעתם למשרדי כהן ושות\'.');
    expect(greeting?.voice).toMatchObject({ languageCode: 'he-IL', name: 'he-IL-Wavenet-A' });
    const chat = run.openaiFake.chatBodies()[0] as unknown as { messages: Array<{ role: string; content: string }>; tools: Array<{ function: { name: string; parameters: unknown } }> };
    expect(chat.messages[0]!.content).toContain('שעות הפעילות');
    const names = chat.tools.map((t) => t.function.name);
    expect(names).toEqual(expect.arrayContaining(['end_call', 'take_message', 'transfer_call']));
    expect(JSON.stringify(chat.tools.find((t) => t.function.name === 'transfer_call')!.function.parameters)).toContain('reception');
    expect(run.googleFake.texts()).toContain(REPLY);
  });
});

describe('examples/appointments-en.yaml', () => {
  let run: ExampleRun;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const SLOTS = { slots: [{ slotId: 'slot-0900', time: '09:00' }, { slotId: 'slot-1130', time: '11:30' }] };
  const ARGS = { date: '2026-12-07', service: 'cleaning' };
  const REPLY = 'I have nine or eleven thirty on Monday.';
  const SUMMARY = { summary: 'The caller asked for a cleaning on Monday and was offered two slots.', disposition: 'other', fields: { outcome: 'question_only', needsCallback: false } };
  beforeAll(async () => {
    receiver = await startReceiver((path) => (path.endsWith('/check_availability') ? SLOTS : { ok: true }));
    run = await runExampleCall({
      transcript: () => 'Can I come in for a cleaning on Monday?',
      reply: (index, body) => {
        if ('response_format' in body) return JSON.stringify(SUMMARY);
        return index === 0 ? { toolCalls: [{ id: 'call_avail', name: 'check_availability', arguments: JSON.stringify(ARGS) }] } : REPLY;
      },
      chunkChars: 5,
    }, {
      AGENT_FILE: exampleAt('appointments-en.yaml', receiver.baseUrl, ['appointments-en.md']), WEBHOOK_SIGNING_SECRET: SECRET, CALL_SUMMARIES: 'on',
    });
  }, 60_000);
  afterAll(async () => {
    await run?.close();
    await new Promise((done) => receiver?.server.close(done));
  });

  it('calls its HTTP tool, signed, and the model answers with what the tool said', () => {
    const toolCall = receiver.received.find((r) => r.path === '/tools/check_availability');
    expect(toolCall).toBeDefined();
    expect(isSigned(toolCall!)).toBe(true);
    expect(JSON.parse(toolCall!.body)).toMatchObject({ callSid: expect.stringMatching(/^CA/), tool: 'check_availability', arguments: ARGS });
    const second = run.openaiFake.chatBodies()[1]!.messages.at(-1) as unknown as { role: string; tool_call_id: string; content: string };
    expect(second).toMatchObject({ role: 'tool', tool_call_id: 'call_avail' });
    expect(JSON.parse(second.content)).toEqual({ ok: true, value: SLOTS });
    expect(run.googleFake.texts()).toContain(REPLY);
    expect(run.googleFake.bodies().find((b) => b.input.text === 'Hello, this is Bright Smile Dental.')?.voice)
      .toMatchObject({ languageCode: 'en-US', name: 'en-US-Neural2-F' });
  });

  it('delivers its summary with the file\'s fields to its CRM webhook once the call is over', async () => {
    const deadline = Date.now() + 20_000;
    while (!receiver.received.some((r) => r.path === '/calls') && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
    const delivery = receiver.received.find((r) => r.path === '/calls');
    expect(delivery).toBeDefined();
    expect(isSigned(delivery!)).toBe(true);
    expect(JSON.parse(delivery!.body)).toMatchObject(SUMMARY);
    const summaryRequest = run.openaiFake.chatBodies().find((b) => 'response_format' in b) as unknown as { response_format: { json_schema: { schema: { properties: { fields: { required: string[] } } } } } };
    expect(summaryRequest.response_format.json_schema.schema.properties.fields.required).toEqual(['outcome', 'needsCallback']);
  });
});
