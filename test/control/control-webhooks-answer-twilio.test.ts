// Call control's webhooks, signed as Twilio signs them, against the real built server: the outbound call's answer is
// a stream with a token valid for that CallSid only; a transfer's <Dial action> brings the call back to the stream
// (a fresh token) on no-answer, busy, failed or canceled and hangs up once the bridged call completed; the whisper
// says the summary its signed query carries and refuses an altered one; AMD's verdict gets 204 at once and is logged;
// every one of them answers 403 without a valid X-Twilio-Signature. In-process, the AMD verdict reaches the
// onMachineDetected hook after the 204.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { CONTROL_WEBHOOK_PATHS, whisperUrlFor } from '../../src/control/callback-urls.js';
import type { MachineDetectionResult } from '../../src/control/machine-detection.js';
import { createEdgeApp, type EdgeApp, type EdgeConfig } from '../../src/edge/app.js';
import { deriveStreamTokenSecret, verifyStreamToken } from '../../src/twilio/signature.js';
import { TEST_SESSION_MODULE, startServer, type RunningServer } from '../helpers/server.js';
import { parseXml, type XmlElement } from '../twilio/xml.js';

const AUTH_TOKEN = 'control-webhook-auth-token-5e4d3c';
const PUBLIC_BASE_URL = 'https://calls.example.test';
const SECRET = deriveStreamTokenSecret(AUTH_TOKEN);
const ACCOUNT_SID = 'AC' + '2'.repeat(32);
const OUTBOUND = { CallSid: 'CA' + 'c'.repeat(32), AccountSid: ACCOUNT_SID, From: '+15005550006', To: '+972501234567', Direction: 'outbound-api', CallStatus: 'in-progress' };
const INBOUND = { CallSid: 'CA' + 'd'.repeat(32), AccountSid: ACCOUNT_SID, From: '+972501234567', To: '+15005550006', Direction: 'inbound', CallStatus: 'in-progress' };

const sign = (pathAndQuery: string, params: Record<string, string>): string =>
  getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}${pathAndQuery}`, params);

function post(baseUrl: string, pathAndQuery: string, params: Record<string, string>, signature?: string): Promise<Response> {
  return fetch(`${baseUrl}${pathAndQuery}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded', connection: 'close',
      ...(signature !== undefined ? { 'X-Twilio-Signature': signature } : {}),
    },
    body: new URLSearchParams(params).toString(),
  });
}

/** The <Stream> of a <Response><Connect><Stream> answer, and its parameters by name. */
function streamOf(xml: string): { stream: XmlElement; parameters: Record<string, string> } {
  const root = parseXml(xml);
  expect(root.children.map((c) => c.name)).toEqual(['Connect']);
  const stream = root.children[0]?.children[0] as XmlElement;
  expect(stream.name).toBe('Stream');
  const parameters = Object.fromEntries(stream.children.map((p) => [p.attributes['name'] ?? '', p.attributes['value'] ?? '']));
  return { stream, parameters };
}

describe('through the server, signature checks on', () => {
  let server: RunningServer;
  const signedPost = (pathAndQuery: string, params: Record<string, string>): Promise<Response> =>
    post(server.baseUrl, pathAndQuery, params, sign(pathAndQuery, params));

  beforeAll(async () => {
    server = await startServer({ env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL, EDGE_SESSION_MODULE: TEST_SESSION_MODULE, EDGE_THREADS: '1' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers an outbound call with the stream and a token valid for that CallSid only', async () => {
    const response = await signedPost(CONTROL_WEBHOOK_PATHS.outboundAnswer, OUTBOUND);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/xml');
    const { stream, parameters } = streamOf(await response.text());
    expect(stream.attributes['url']).toBe('wss://calls.example.test/ws/twilio-media');
    expect(stream.attributes['statusCallback']).toBe('https://calls.example.test/webhook/stream-status');
    expect(parameters).toMatchObject({ callSid: OUTBOUND.CallSid, from: OUTBOUND.From, to: OUTBOUND.To, direction: 'outbound' });
    expect(verifyStreamToken(SECRET, parameters['StreamToken'] ?? '', OUTBOUND.CallSid, Date.now())).toBe(true);
    expect(verifyStreamToken(SECRET, parameters['StreamToken'] ?? '', INBOUND.CallSid, Date.now())).toBe(false);
  });

  it('brings the call back to the agent when the transfer is not taken, with a fresh token each time', async () => {
    const tokens = new Set<string>();
    for (const dialCallStatus of ['no-answer', 'busy', 'failed', 'canceled']) {
      const response = await signedPost(CONTROL_WEBHOOK_PATHS.dialAction, { ...INBOUND, DialCallStatus: dialCallStatus, DialCallSid: 'CA' + 'e'.repeat(32) });
      expect(response.status).toBe(200);
      const { parameters } = streamOf(await response.text());
      expect(parameters).toMatchObject({ callSid: INBOUND.CallSid, from: INBOUND.From, direction: 'inbound', dialCallStatus });
      const token = parameters['StreamToken'] ?? '';
      expect(verifyStreamToken(SECRET, token, INBOUND.CallSid, Date.now())).toBe(true);
      tokens.add(token);
      await new Promise((resolve) => setTimeout(resolve, 2)); // a token is per millisecond of expiry
    }
    expect(tokens.size).toBe(4);
    await server.waitForLog((l) => l['event'] === 'WEBHOOK_STATUS' && l['kind'] === 'dial' && l['outcome'] === 'back-to-agent');
  });

  it('hangs up once the bridged transfer completed', async () => {
    const response = await signedPost(CONTROL_WEBHOOK_PATHS.dialAction, { ...INBOUND, DialCallStatus: 'completed', DialCallDuration: '42' });
    expect(response.status).toBe(200);
    expect(parseXml(await response.text()).children.map((c) => c.name)).toEqual(['Hangup']);
  });

  it('answers 400 to a dial action without DialCallStatus', async () => {
    expect((await signedPost(CONTROL_WEBHOOK_PATHS.dialAction, INBOUND)).status).toBe(400);
  });

  it('whispers the summary its signed URL carries, and refuses one altered on the way', async () => {
    const summary = 'Dana <VIP> wants to move Tuesday’s appointment & asks for a call back';
    const url = whisperUrlFor(PUBLIC_BASE_URL, SECRET, summary, 'en-US');
    const pathAndQuery = url.slice(PUBLIC_BASE_URL.length);
    const child = { CallSid: 'CA' + 'f'.repeat(32), ParentCallSid: INBOUND.CallSid, AccountSid: ACCOUNT_SID, CallStatus: 'in-progress' };
    const response = await signedPost(pathAndQuery, child);
    expect(response.status).toBe(200);
    const root = parseXml(await response.text());
    expect(root.children.map((c) => [c.name, c.text, c.attributes])).toEqual([['Say', summary, { language: 'en-US' }]]);
    // Twilio-signed, but the summary is not the one this server wrote
    const altered = pathAndQuery.replace('Dana', 'Eve');
    expect((await signedPost(altered, child)).status).toBe(403);
  });

  it('answers an AMD verdict with 204 at once and logs it', async () => {
    const response = await signedPost(CONTROL_WEBHOOK_PATHS.amd, { CallSid: OUTBOUND.CallSid, AccountSid: ACCOUNT_SID, AnsweredBy: 'machine_end_beep', MachineDetectionDuration: '4200' });
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    const line = await server.waitForLog((l) => l['event'] === 'WEBHOOK_STATUS' && l['kind'] === 'amd');
    expect(line).toMatchObject({ callSid: OUTBOUND.CallSid, answeredBy: 'machine_end_beep', machineDetectionDurationMs: 4200 });
  });

  it('refuses every control webhook without a valid signature (403)', async () => {
    const whisperPath = whisperUrlFor(PUBLIC_BASE_URL, SECRET, 'hello').slice(PUBLIC_BASE_URL.length);
    for (const path of [CONTROL_WEBHOOK_PATHS.outboundAnswer, CONTROL_WEBHOOK_PATHS.dialAction, whisperPath, CONTROL_WEBHOOK_PATHS.amd]) {
      const params = { ...OUTBOUND, DialCallStatus: 'no-answer', AnsweredBy: 'human' };
      expect((await post(server.baseUrl, path, params)).status, `${path} unsigned`).toBe(403);
      expect((await post(server.baseUrl, path, params, sign(path, { ...params, To: '+15550000000' }))).status, `${path} tampered`).toBe(403);
    }
  });
});

describe('in-process, the AMD hook', () => {
  const config: EdgeConfig = {
    publicBaseUrl: PUBLIC_BASE_URL,
    streamUrl: 'wss://calls.example.test/ws/twilio-media',
    twilioAuthToken: AUTH_TOKEN,
    isSignatureCheckOn: true,
    streamTokenSecret: SECRET,
    streamTokenTtlMs: 60_000,
    ws: { maxPayloadLength: 64 * 1024, idleTimeoutS: 60, maxBackpressureBytes: 64 * 1024, slowClientOverflowMs: 2000, startTimeoutS: 10, maxSocketsAwaitingStart: 256 },
  };
  const results: MachineDetectionResult[] = [];
  let edge: EdgeApp;
  let baseUrl = '';

  beforeAll(async () => {
    edge = createEdgeApp({
      config,
      sessionFactory: () => { throw new Error('no media in this test'); },
      onMachineDetected: (result) => results.push(result),
    });
    baseUrl = `http://127.0.0.1:${await edge.listen('127.0.0.1', 0)}`;
  });
  afterAll(() => {
    edge?.shutdown();
  });

  it('hands every documented verdict to onMachineDetected after the 204, and ignores an unknown one', async () => {
    const path = CONTROL_WEBHOOK_PATHS.amd;
    for (const answeredBy of ['human', 'machine_end_silence', 'made_up']) {
      const params = { CallSid: OUTBOUND.CallSid, AccountSid: ACCOUNT_SID, AnsweredBy: answeredBy, MachineDetectionDuration: '1800' };
      expect((await post(baseUrl, path, params, sign(path, params))).status).toBe(204);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(results).toEqual([
      { callSid: OUTBOUND.CallSid, answeredBy: 'human', machineDetectionDurationMs: 1800 },
      { callSid: OUTBOUND.CallSid, answeredBy: 'machine_end_silence', machineDetectionDurationMs: 1800 },
    ]);
  });
});
