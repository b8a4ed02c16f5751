// The end of a call, after it: its transcript (from the records, as the control plane's recorder wrote it) goes to
// the chat model (the real openai SDK against the local fake) with the summary's JSON schema and the agent file's
// fields; the summary lands in the record and goes to the business's webhook, signed, retried while the webhook is
// down, delivered once it is up, and never lost: a process that starts finds the calls the last one left without a
// summary. On SQLite and on PostgreSQL.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/call/events.js';
import { CallRecorder } from '../../src/control/call-recorder.js';
import { AfterCallWork } from '../../src/crm/after-call.js';
import { summarizeCall } from '../../src/crm/summarizer.js';
import { SIGNATURE_HEADER, SummaryOutbox, type SummaryPayload } from '../../src/crm/summary-outbox.js';
import { createLogger } from '../../src/observability/log.js';
import { startRecords, type Records } from '../../src/records/records.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai-server.js';
import { backendsToRun, until, type BackendInstance } from '../records/backends.js';

const SECRET = 'summary-test-signing-secret-0123456789abcdef';
const quiet = createLogger({ level: 'silent' });
const FIELDS = { type: 'object', properties: { orderId: { type: 'string' }, needsCallback: { type: 'boolean' } } };
const SUMMARY = { summary: 'Dana asked about order A-17 and wants a call back tomorrow.', disposition: 'callback-needed', fields: { orderId: 'A-17', needsCallback: true } };

/** The signature as the README tells a receiver to check it: t=<unix s>,v1=<hex HMAC-SHA256(secret, t.body)>. */
function sign(body: string, nowMs: number): string {
  const t = Math.floor(nowMs / 1000);
  return `t=${t},v1=${createHmac('sha256', SECRET).update(`${t}.${body}`).digest('hex')}`;
}
function verifies(header: string, body: string): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (match === null || Math.abs(Date.now() / 1000 - Number(match[1])) > 300) return false;
  const expected = createHmac('sha256', SECRET).update(`${match[1]}.${body}`).digest();
  return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
}

/** A webhook that answers 503 to its first `downFor` requests, then 200; it keeps what it got. */
async function startWebhook(downFor: number): Promise<{ url: string; received: Array<{ body: string; signature: string; status: number }>; close(): Promise<void> }> {
  const received: Array<{ body: string; signature: string; status: number }> = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      const status = received.length < downFor ? 503 : 200;
      received.push({ body, signature: String(req.headers[SIGNATURE_HEADER.toLowerCase()] ?? ''), status });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'down for maintenance');
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/calls`, received, close: () => new Promise((done) => server.close(() => done())) };
}

const T0 = Date.now() - 60_000;
function callEvents(callSid: string): CallEvent[] {
  return [
    { kind: 'call-started', callSid, streamSid: `MZ${callSid.slice(2)}`, accountSid: 'AC1', atMs: T0, customParameters: { from: '+15550001111', to: '+15550002222' }, agent: 'openai' },
    { kind: 'agent-said', callSid, utteranceId: 'greeting', atMs: T0 + 2000, startedAtMs: T0 + 500, text: 'Hello, how can I help?', heardText: 'Hello, how can I help?', isCut: false },
    { kind: 'caller-turn', callSid, turnId: 1, atMs: T0 + 6000, startedAtMs: T0 + 3000, endedAtMs: T0 + 5500, durationMs: 2500, endReason: 'transcribed', wasBargeIn: false, text: 'Where is my order A-17? Call me back tomorrow.' },
    { kind: 'agent-said', callSid, utteranceId: 'reply-1', atMs: T0 + 9000, startedAtMs: T0 + 6500, text: 'I will ask the team to call you tomorrow.', heardText: 'I will ask the team to call you tomorrow.', isCut: false },
    { kind: 'call-ended', callSid, atMs: T0 + 12_000, reason: 'stop', durationMs: 12_000, turns: 1, bargeIns: 0 },
  ];
}

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`call summaries on ${backend.name}`, () => {
    let instance: BackendInstance | undefined;
    let records: Records | undefined;
    let openaiFake: FakeOpenAI | undefined;
    let webhook: Awaited<ReturnType<typeof startWebhook>> | undefined;
    const works: AfterCallWork[] = [];
    afterEach(async () => {
      for (const work of works.splice(0)) work.close();
      await records?.close(2000);
      await instance?.dispose();
      await openaiFake?.close();
      await webhook?.close();
    });

    const setUp = async (downFor: number, reply: () => string) => {
      instance = await backend.create();
      records = startRecords(instance.settings, { log: quiet, writer: { flushIntervalMs: 20 } });
      await records.ready;
      openaiFake = await startFakeOpenAI({ reply });
      webhook = await startWebhook(downFor);
      const client = new OpenAI({ apiKey: 'test', baseURL: openaiFake.baseUrl, maxRetries: 0 });
      const r = records;
      const outbox = new SummaryOutbox(r.database, { sign, retryInitialMs: 100, retryMaxMs: 400, log: quiet });
      const newWork = (): AfterCallWork => {
        const work = new AfterCallWork({
          database: r.database, readCall: (callSid) => r.reader.getCall(callSid), outbox, webhookUrl: webhook!.url,
          summarize: (call, signal) => summarizeCall(call, { client, model: 'gpt-test', timeoutMs: 2000, fieldsSchema: FIELDS, language: 'en' }, signal),
          settleMs: 50, pollMs: 50, retryInitialMs: 100, log: quiet,
        });
        works.push(work);
        return work;
      };
      return { r, outbox, newWork };
    };

    it('writes the summary into the record and delivers it, signed, once the webhook is up', async () => {
      const { r, newWork } = await setUp(2, () => JSON.stringify(SUMMARY));
      const work = newWork();
      await work.start();
      const recorder = new CallRecorder(r.writer);
      const callSid = 'CA' + '1'.repeat(32);
      for (const event of callEvents(callSid)) {
        recorder.record(event);
        work.onCallEvent(event);
      }
      await until('the webhook accepted the summary', () => webhook!.received.some((x) => x.status === 200), 10_000);
      expect(webhook!.received.map((x) => x.status)).toEqual([503, 503, 200]);
      // every attempt carried the same body, signed (a fresh timestamp each time)
      for (const attempt of webhook!.received) expect(verifies(attempt.signature, attempt.body)).toBe(true);
      const payload = JSON.parse(webhook!.received[2]!.body) as SummaryPayload;
      expect(payload).toMatchObject({ callSid, from: '+15550001111', to: '+15550002222', ...SUMMARY });
      expect(payload.transcript.map((t) => t.role)).toEqual(['agent', 'caller', 'agent']);

      // the model was asked with the transcript and the schema, fields included
      const body = openaiFake!.chatBodies()[0] as unknown as { messages: Array<{ content: string }>; response_format: { type: string; json_schema: { schema: { properties: Record<string, unknown> } } } };
      expect(body.messages[1]!.content).toContain('Caller: Where is my order A-17? Call me back tomorrow.');
      expect(body.response_format.type).toBe('json_schema');
      expect(body.response_format.json_schema.schema.properties['fields']).toEqual(FIELDS);

      await until('the delivery is recorded', async () => (await r.reader.getCall(callSid))?.summary?.delivery?.deliveredAt != null, 5000);
      const record = await r.reader.getCall(callSid);
      expect(record!.summary).toMatchObject({ text: SUMMARY.summary, disposition: 'callback-needed', fields: SUMMARY.fields, delivery: { attempts: 3, lastError: null } });
    });

    it('summarizes at start the calls a previous process ended without a summary', async () => {
      const { r, newWork } = await setUp(0, () => JSON.stringify(SUMMARY));
      const recorder = new CallRecorder(r.writer);
      const callSid = 'CA' + '2'.repeat(32);
      for (const event of callEvents(callSid)) recorder.record(event); // no AfterCallWork heard it end
      await until('the call is written', async () => (await r.reader.getCall(callSid))?.endedAt != null, 5000);
      const work = newWork();
      await work.start();
      await until('the webhook got it', () => webhook!.received.length === 1, 10_000);
      expect((JSON.parse(webhook!.received[0]!.body) as SummaryPayload).callSid).toBe(callSid);
    });

    it('waits for the call\'s end to reach its record when the records are behind', async () => {
      const { newWork, r } = await setUp(0, () => JSON.stringify(SUMMARY));
      const work = newWork();
      await work.start();
      const callSid = 'CA' + '5'.repeat(32);
      const events = callEvents(callSid);
      // the plane tells the after-call work of the end at once; the records get the call only later
      work.onCallEvent(events.at(-1)!);
      await new Promise((done) => setTimeout(done, 400));
      expect(webhook!.received).toHaveLength(0);
      const recorder = new CallRecorder(r.writer);
      for (const event of events) recorder.record(event);
      await until('the webhook got it', () => webhook!.received.length === 1, 10_000);
      expect(JSON.parse(webhook!.received[0]!.body)).toMatchObject({ callSid, ...SUMMARY });
      expect((JSON.parse(webhook!.received[0]!.body) as SummaryPayload).transcript).toHaveLength(3);
    });

    it('summarizes a call in which nobody spoke without asking the model', async () => {
      const { newWork, r } = await setUp(0, () => JSON.stringify(SUMMARY));
      const work = newWork();
      await work.start();
      const recorder = new CallRecorder(r.writer);
      const callSid = 'CA' + '4'.repeat(32);
      for (const event of callEvents(callSid).filter((e) => e.kind === 'call-started' || e.kind === 'call-ended')) {
        recorder.record(event);
        work.onCallEvent(event);
      }
      await until('the webhook got it', () => webhook!.received.length === 1, 10_000);
      expect(JSON.parse(webhook!.received[0]!.body)).toMatchObject({ callSid, disposition: 'no-conversation', transcript: [] });
      expect(openaiFake!.chatBodies()).toHaveLength(0);
    });

    it('sends the transcript without a summary when the model never gives a valid one', async () => {
      const { newWork, r } = await setUp(0, () => '{"summary": 42}');
      const work = newWork();
      await work.start();
      const recorder = new CallRecorder(r.writer);
      const callSid = 'CA' + '3'.repeat(32);
      for (const event of callEvents(callSid)) {
        recorder.record(event);
        work.onCallEvent(event);
      }
      await until('the webhook got the transcript', () => webhook!.received.length === 1, 15_000);
      const payload = JSON.parse(webhook!.received[0]!.body) as SummaryPayload;
      expect(payload).toMatchObject({ callSid, summary: null, disposition: null });
      expect(payload.transcript).toHaveLength(3);
      expect(work.counters).toMatchObject({ summarized: 0, unsummarized: 1 });
      expect(openaiFake!.chatBodies()).toHaveLength(4);
    });
  });
}
