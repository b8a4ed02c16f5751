// Call control end to end: the real server (two edge threads, signatures on) with its REST requests sent to a local
// server that speaks Twilio's REST wire format (TWILIO_API_BASE_URL), driven through the control API. A hang-up
// completes the Twilio call and ends the stream; a warm transfer redirects the call to <Dial> with the whisper and
// the return path; an outbound call is created with our answer and status URLs (and Twilio's async AMD when asked);
// an answering machine's verdict hangs the call up (the echo agent has no voice for a voicemail line).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { serializeConnected, serializeInboundMedia, serializeStart } from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import { newSid, TwilioRestFake } from '../fakes/twilio-rest-server.js';
import { REPO_ROOT, connectWs, getJson, startServer, type RunningServer, type WsClient } from '../helpers/server.js';

const ACCOUNT_SID = 'AC' + 'c'.repeat(32);
const AUTH_TOKEN = 'control-e2e-auth-token-5a7b';
const PUBLIC_BASE_URL = 'https://control.example.test';
const API_KEY = 'control-e2e-api-key-0123456789abcdef';
const SILENCE = new Uint8Array(160).fill(0xff);

let twilio: TwilioRestFake;
let server: RunningServer;

beforeAll(async () => {
  twilio = await new TwilioRestFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }).listen();
  server = await startServer({
    env: {
      TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_ACCOUNT_SID: ACCOUNT_SID, PUBLIC_BASE_URL, TWILIO_API_BASE_URL: twilio.baseUrl,
      TWILIO_CALLER_ID: '+15550009999', CONTROL_API_KEY: API_KEY, EDGE_THREADS: '2',
    },
  });
});

afterAll(async () => {
  await server?.stop();
  await twilio?.close();
});

function signedPost(path: string, params: Record<string, string>): Promise<Response> {
  return fetch(`${server.baseUrl}${path}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded', connection: 'close',
      'X-Twilio-Signature': getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}${path}`, params),
    },
    body: new URLSearchParams(params).toString(),
  });
}

function api(path: string, body: unknown): Promise<Response> {
  return fetch(`${server.baseUrl}${path}`, {
    method: 'POST', headers: { Authorization: `Bearer ${API_KEY}`, 'Content-Type': 'application/json', connection: 'close' }, body: JSON.stringify(body),
  });
}

/** A call as Twilio makes one: it exists on "Twilio", the voice webhook hands out its token, the stream starts. */
async function liveCall(): Promise<{ callSid: string; client: WsClient }> {
  const call = twilio.addCall({ sid: newSid('CA') });
  const twiml = await (await signedPost('/webhook/incoming_call', { CallSid: call.sid, From: call.from, To: call.to })).text();
  const token = /<Parameter name="StreamToken" value="([^"]+)"\/>/.exec(twiml)?.[1] ?? '';
  const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, {
    protocols: 'audio.twilio.com',
    headers: { 'X-Twilio-Signature': getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL.replace('https', 'wss')}/ws/twilio-media`, {}) },
  });
  const streamSid = `MZ${call.sid.slice(2)}`;
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid, accountSid: ACCOUNT_SID, callSid: call.sid, tracks: ['inbound'], mediaFormat: { ...MULAW_MEDIA_FORMAT },
    customParameters: { StreamToken: token },
  }));
  client.send(serializeInboundMedia(2, streamSid, 1, 0, SILENCE));
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const counters = (await getJson(`${server.baseUrl}/version`)).body['counters'] as Record<string, number>;
    if (counters['activeCalls']! >= 1 && server.logs().some((l) => l['event'] === 'WS_START' && l['callSid'] === call.sid)) break;
    await new Promise((done) => setTimeout(done, 50));
  }
  return { callSid: call.sid, client };
}

const requestsFor = (callSid: string) => twilio.requests.filter((r) => r.path.endsWith(`/Calls/${callSid}.json`));

async function until<T>(read: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

describe('call control through Twilio\'s REST API', () => {
  it('hangs up: the Twilio call is completed and the stream ends', async () => {
    const { callSid, client } = await liveCall();
    expect((await api(`/api/calls/${callSid}/hangup`, {})).status).toBe(200);
    expect((await client.closed).code).toBe(1000);
    const update = await until(() => requestsFor(callSid).find((r) => r.form['Status'] === 'completed'), 'the hang-up request');
    expect(update.method).toBe('POST');
    expect(twilio.calls.get(callSid)?.status).toBe('completed');
  });

  it('transfers warm: the call is redirected to a <Dial> that whispers the summary and comes back on no answer', async () => {
    const { callSid, client } = await liveCall();
    const answer = await api(`/api/calls/${callSid}/transfer`, { to: '+972501234567', warm: true, summary: 'Wants to move Tuesday to Friday.' });
    expect(answer.status).toBe(200);
    const redirect = await until(() => requestsFor(callSid).find((r) => typeof r.form['Twiml'] === 'string'), 'the redirect');
    const twiml = redirect.form['Twiml'] as string;
    expect(twiml).toContain('<Dial');
    expect(twiml).toContain(`action="${PUBLIC_BASE_URL}/webhook/dial_action"`);
    expect(twiml).toMatch(/<Number url="https:\/\/control\.example\.test\/webhook\/whisper\?summary=Wants\+to\+move\+Tuesday[^"]*"[^>]*>\+972501234567<\/Number>/);
    expect(twiml).toContain('callerId="+15550009999"');
    // Twilio would now end our stream; the test does
    client.ws.close(1000);
    await client.closed;
  });

  it('places an outbound call with our answer and status URLs, and Twilio\'s async AMD when asked', async () => {
    const plain = await api('/api/calls', { to: '+972521112233' });
    expect(plain.status).toBe(201);
    const { callSid } = (await plain.json()) as { callSid: string };
    expect(callSid).toMatch(/^CA[0-9a-f]{32}$/);
    const create = twilio.requests.filter((r) => r.path.endsWith('/Calls.json')).at(-1)!;
    expect(create.form).toMatchObject({
      To: '+972521112233', From: '+15550009999', Url: `${PUBLIC_BASE_URL}/webhook/outbound_answer`,
      StatusCallback: `${PUBLIC_BASE_URL}/webhook/status`,
    });
    expect(create.form['MachineDetection']).toBeUndefined();

    const withAmd = await api('/api/calls', { to: '+972521112244', from: '+15550008888', detectMachine: true });
    expect(withAmd.status).toBe(201);
    const amdCreate = twilio.requests.filter((r) => r.path.endsWith('/Calls.json')).at(-1)!;
    expect(amdCreate.form).toMatchObject({
      From: '+15550008888', MachineDetection: 'DetectMessageEnd', AsyncAmd: 'true', AsyncAmdStatusCallback: `${PUBLIC_BASE_URL}/webhook/amd`,
    });
    const bad = await api('/api/calls', { to: '12' });
    expect(bad.status).toBe(400);
  });

  it('npm run dial places a call through the API and prints its CallSid', async () => {
    const { stdout, code } = await new Promise<{ stdout: string; code: number | null }>((resolve) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', 'dial.js'), '+972531234567', '--amd'], {
        env: { PATH: process.env['PATH'] ?? '', AICRMD_URL: server.baseUrl, CONTROL_API_KEY: API_KEY }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.once('exit', (exitCode) => resolve({ stdout: out, code: exitCode }));
    });
    expect(code).toBe(0);
    const callSid = stdout.trim();
    expect(callSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(twilio.calls.get(callSid)).toMatchObject({ to: '+972531234567' });
  });

  it('hangs up a call an answering machine took (no voice for a voicemail line in the echo agent)', async () => {
    const { callSid, client } = await liveCall();
    const verdict = await signedPost('/webhook/amd', { CallSid: callSid, AccountSid: ACCOUNT_SID, AnsweredBy: 'machine_end_beep', MachineDetectionDuration: '4200' });
    expect(verdict.status).toBe(204);
    expect((await client.closed).code).toBe(1000);
    await until(() => requestsFor(callSid).find((r) => r.form['Status'] === 'completed'), 'the hang-up after the machine');
    // a human leaves the call alone
    const human = await liveCall();
    expect((await signedPost('/webhook/amd', { CallSid: human.callSid, AccountSid: ACCOUNT_SID, AnsweredBy: 'human' })).status).toBe(204);
    await new Promise((done) => setTimeout(done, 300));
    expect(requestsFor(human.callSid)).toEqual([]);
    human.client.ws.close(1000);
    await human.client.closed;
  });
});
