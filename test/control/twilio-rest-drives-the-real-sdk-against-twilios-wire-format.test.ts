// The call-control REST client drives the real `twilio` SDK against a fake of Twilio's REST API on 127.0.0.1: what
// goes on the wire for a hang-up, a redirect to transfer TwiML and an outbound call (with and without async AMD), a
// call that is already over counting as hung up, TWILIO_API_BASE_URL (path prefix and all, whatever TWILIO_REGION
// says), and failures as typed errors with Twilio's code, the HTTP status and whether a retry can help. No request
// may leave 127.0.0.1: without a base URL the client aims at api.twilio.com, which the guard refuses and records.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTwilioRest, type TwilioRest } from '../../src/control/twilio-rest.js';
import { TwilioRestError, rewriteTwilioApiUri, twilioRestOptionsFromConfig } from '../../src/control/twilio-rest-basics.js';
import { transferTwimlFor } from '../../src/control/transfer-twiml.js';
import { loadConfig } from '../../src/config.js';
import { guardLoopbackOnly, type LoopbackGuard } from '../fakes/loopback-guard.js';
import { TwilioRestFake, newSid } from '../fakes/twilio-rest-server.js';
import { freePort } from '../helpers/server.js';
import { parseXml } from '../twilio/xml.js';

const ACCOUNT_SID = 'AC' + 'a1'.repeat(16);
const AUTH_TOKEN = 'rest-test-auth-token-0d9c8b';
const CALLER_ID = '+15005550006';
const PUBLIC = 'https://calls.example.test';

let guard: LoopbackGuard;
let fake: TwilioRestFake;
let rest: TwilioRest;

beforeAll(async () => {
  guard = guardLoopbackOnly();
  fake = await new TwilioRestFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN }).listen();
  rest = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: fake.baseUrl, callerId: CALLER_ID, timeoutMs: 1000 });
});
afterAll(async () => {
  await fake?.close();
  guard?.restore();
});
afterEach(() => {
  fake.requests.length = 0;
  fake.injected.length = 0;
});

const callPath = (callSid: string): string => `/2010-04-01/Accounts/${ACCOUNT_SID}/Calls/${callSid}.json`;

async function rejectionOf(promise: Promise<unknown>): Promise<TwilioRestError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(TwilioRestError);
  return error as TwilioRestError;
}

describe('hang-up', () => {
  it('posts Status=completed for the call, with Basic auth, and the call is over', async () => {
    const call = fake.addCall();
    expect(await rest.hangUp(call.sid)).toEqual({ outcome: 'hung-up', callStatus: 'completed' });
    expect(fake.calls.get(call.sid)?.status).toBe('completed');
    const [request] = fake.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(callPath(call.sid));
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(request?.headers.authorization).toBe('Basic ' + Buffer.from(`${ACCOUNT_SID}:${AUTH_TOKEN}`).toString('base64'));
    expect(request?.form).toEqual({ Status: 'completed' });
  });

  it('counts a call Twilio does not know (20404) as already over', async () => {
    expect(await rest.hangUp(newSid('CA'))).toEqual({ outcome: 'already-over', reason: 'not-found', twilioCode: 20404 });
  });

  it('counts a call no longer in progress (21220) as already over', async () => {
    const call = fake.addCall({ status: 'completed' });
    expect(await rest.hangUp(call.sid)).toEqual({ outcome: 'already-over', reason: 'not-in-progress', twilioCode: 21220 });
    // the same when the caller hung up first: our second hang-up is not an error either
    const live = fake.addCall();
    await rest.hangUp(live.sid);
    expect((await rest.hangUp(live.sid)).outcome).toBe('already-over');
  });

  it('refuses a malformed CallSid without sending anything', async () => {
    await expect(rest.hangUp('CA../../Accounts')).rejects.toThrow(RangeError);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('redirect (a transfer)', () => {
  it('posts the transfer TwiML as Twiml, and the live call now runs it', async () => {
    const call = fake.addCall();
    const twiml = transferTwimlFor({ publicBaseUrl: PUBLIC, secret: 'x'.repeat(32) }, { to: '+972501234567', summary: 'Dana wants to move her appointment' });
    expect(await rest.redirect(call.sid, twiml)).toEqual({ callStatus: 'in-progress' });
    const sent = fake.requests[0]?.form['Twiml'];
    expect(sent).toBe(twiml);
    const dial = parseXml(String(sent)).children[0];
    expect(dial?.name).toBe('Dial');
    expect(dial?.attributes['action']).toBe(`${PUBLIC}/webhook/dial_action`);
    expect(dial?.children[0]?.name).toBe('Number');
    expect(dial?.children[0]?.attributes['url']?.startsWith(`${PUBLIC}/webhook/whisper?summary=`)).toBe(true);
    expect(fake.calls.get(call.sid)?.twiml).toBe(twiml);
  });

  it('reports a call that is over as a typed, non-retryable 21220', async () => {
    const call = fake.addCall({ status: 'no-answer' });
    const error = await rejectionOf(rest.redirect(call.sid, '<Response/>'));
    expect(error).toMatchObject({ operation: 'redirect', kind: 'rejected', twilioCode: 21220, httpStatus: 400, isRetryable: false, callSid: call.sid });
    expect(error.moreInfo).toBe('https://www.twilio.com/docs/errors/21220');
  });
});

describe('placeCall', () => {
  const base = { url: `${PUBLIC}/webhook/outbound_answer`, statusCallback: `${PUBLIC}/webhook/status` };

  it('creates the call from TWILIO_CALLER_ID with our answer URL and status callback, and returns its CallSid', async () => {
    const callSid = await rest.placeCall({ to: '+972501234567', ...base });
    expect(callSid).toMatch(/^CA[0-9a-f]{32}$/);
    expect(fake.calls.get(callSid)).toMatchObject({ to: '+972501234567', from: CALLER_ID, direction: 'outbound-api' });
    const [request] = fake.requests;
    expect(request?.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Calls.json`);
    expect(request?.form).toEqual({
      To: '+972501234567', From: CALLER_ID, Url: base.url, Method: 'POST', StatusCallback: base.statusCallback,
      StatusCallbackMethod: 'POST', StatusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
    });
  });

  it('uses the from it is given, and sends no AMD parameters unless asked', async () => {
    await rest.placeCall({ to: '+972501234567', from: '+15005550001', ringTimeoutS: 25, ...base });
    const form = fake.requests[0]?.form ?? {};
    expect(form['From']).toBe('+15005550001');
    expect(form['Timeout']).toBe('25');
    expect(Object.keys(form).filter((k) => /Amd|MachineDetection/.test(k))).toEqual([]);
  });

  it('asks for async answering-machine detection as Twilio documents it', async () => {
    await rest.placeCall({ to: '+972501234567', ...base, machineDetection: { statusCallbackUrl: `${PUBLIC}/webhook/amd`, timeoutS: 20 } });
    expect(fake.requests[0]?.form).toMatchObject({
      MachineDetection: 'DetectMessageEnd', AsyncAmd: 'true', AsyncAmdStatusCallback: `${PUBLIC}/webhook/amd`,
      AsyncAmdStatusCallbackMethod: 'POST', MachineDetectionTimeout: '20',
    });
  });

  it('refuses to place a call with no from at all', async () => {
    const noCallerId = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: fake.baseUrl });
    await expect(noCallerId.placeCall({ to: '+972501234567', ...base })).rejects.toThrow(/TWILIO_CALLER_ID/);
    expect(fake.requests).toHaveLength(0);
  });
});

describe('TWILIO_API_BASE_URL', () => {
  it('sends the requests to the base, its path prefix included, even with TWILIO_REGION and TWILIO_EDGE set', async () => {
    const proxied = await new TwilioRestFake({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, basePath: '/twilio-proxy' }).listen();
    const saved = { region: process.env['TWILIO_REGION'], edge: process.env['TWILIO_EDGE'] };
    process.env['TWILIO_REGION'] = 'ie1';
    process.env['TWILIO_EDGE'] = 'dublin';
    try {
      const client = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: proxied.baseUrl + '/' });
      const call = proxied.addCall();
      expect((await client.hangUp(call.sid)).outcome).toBe('hung-up');
      expect(proxied.requests.map((r) => r.path)).toEqual([`/twilio-proxy${callPath(call.sid)}`]);
      expect(fake.requests).toHaveLength(0);
    } finally {
      for (const [name, value] of [['TWILIO_REGION', saved.region], ['TWILIO_EDGE', saved.edge]] as const) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await proxied.close();
    }
  });

  it('comes from the configuration', () => {
    const config = loadConfig({
      TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL: PUBLIC,
      TWILIO_API_BASE_URL: 'https://api.dublin.ie1.twilio.com/', TWILIO_CALLER_ID: CALLER_ID, TWILIO_API_TIMEOUT_MS: '2500',
    });
    expect(twilioRestOptionsFromConfig(config)).toEqual({
      accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: 'https://api.dublin.ie1.twilio.com', callerId: CALLER_ID, timeoutMs: 2500,
    });
    expect(twilioRestOptionsFromConfig(loadConfig({ TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL: PUBLIC }))).toBeUndefined();
  });

  it('refuses a base URL with a query or credentials, a caller ID that is not E.164, and out-of-range timeouts', () => {
    const base = { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL: PUBLIC };
    expect(() => loadConfig({ ...base, TWILIO_API_BASE_URL: 'https://user:pw@proxy.example.com/t?x=1' })).toThrow(/TWILIO_API_BASE_URL must be an origin/);
    expect(() => loadConfig({ ...base, TWILIO_API_BASE_URL: 'ftp://proxy.example.com' })).toThrow(/TWILIO_API_BASE_URL must be a URL/);
    expect(() => loadConfig({ ...base, TWILIO_CALLER_ID: '050-123-4567' })).toThrow(/TWILIO_CALLER_ID must be an E.164 phone number/);
    expect(() => loadConfig({ ...base, TWILIO_API_TIMEOUT_MS: '100' })).toThrow(/TWILIO_API_TIMEOUT_MS must be a number of milliseconds from 500/);
    expect(() => loadConfig({ ...base, TRANSFER_DIAL_TIMEOUT_S: '700' })).toThrow(/TRANSFER_DIAL_TIMEOUT_S must be a number of seconds from 5 to 600/);
    expect(loadConfig(base).twilioApi).toEqual({ baseUrl: undefined, callerId: undefined, timeoutMs: 5000, transferDialTimeoutS: 20 });
  });

  it('rewrites only Twilio API hosts (regional forms too), keeping path and query', () => {
    const base = 'http://127.0.0.1:9/p';
    expect(rewriteTwilioApiUri('https://api.twilio.com/2010-04-01/Accounts/AC1/Calls.json?x=1', base)).toBe('http://127.0.0.1:9/p/2010-04-01/Accounts/AC1/Calls.json?x=1');
    expect(rewriteTwilioApiUri('https://api.dublin.ie1.twilio.com/2010-04-01/Calls.json', base)).toBe('http://127.0.0.1:9/p/2010-04-01/Calls.json');
    expect(rewriteTwilioApiUri('https://studio.twilio.com/v2/Flows', base)).toBe('https://studio.twilio.com/v2/Flows');
  });

  it('without it the SDK aims at https://api.twilio.com (unreachable here: a network error)', async () => {
    const direct = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, timeoutMs: 1000 });
    const callSid = newSid('CA');
    const error = await rejectionOf(direct.hangUp(callSid));
    expect(error.kind).toBe('network');
    // the SDK's request as axios had it (DNS fails offline; online the loopback guard refuses the connection)
    expect((error.cause as { config?: { url?: string } }).config?.url).toBe(`https://api.twilio.com${callPath(callSid)}`);
    expect(guard.escapes.every((e) => e.startsWith('api.twilio.com'))).toBe(true);
  });
});

describe('errors', () => {
  it("a 503 from Twilio is retryable; bad credentials (20003) are not", async () => {
    fake.injected.push({ status: 503, code: 20503, message: 'Service Unavailable' });
    const unavailable = await rejectionOf(rest.hangUp(fake.addCall().sid));
    expect(unavailable).toMatchObject({ kind: 'rejected', httpStatus: 503, twilioCode: 20503, isRetryable: true });
    const wrongToken = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: 'not-the-token', apiBaseUrl: fake.baseUrl });
    const refused = await rejectionOf(wrongToken.hangUp(fake.addCall().sid));
    expect(refused).toMatchObject({ kind: 'rejected', httpStatus: 401, twilioCode: 20003, isRetryable: false });
    expect(refused.message).toContain('20003');
  });

  it('a 429 rate limit is retryable and not retried behind our back', async () => {
    fake.injected.push({ status: 429, code: 20429, message: 'Too Many Requests' });
    const error = await rejectionOf(rest.redirect(fake.addCall().sid, '<Response/>'));
    expect(error).toMatchObject({ httpStatus: 429, isRetryable: true });
    expect(fake.requests).toHaveLength(1);
  });

  it('a Twilio that never answers is given up on within the deadline', async () => {
    fake.injected.push('hang');
    const startedAtMs = Date.now();
    const error = await rejectionOf(rest.hangUp(fake.addCall().sid));
    const elapsedMs = Date.now() - startedAtMs;
    expect(error).toMatchObject({ kind: 'timeout', isRetryable: true, mayHaveTakenEffect: true });
    expect(elapsedMs).toBeGreaterThanOrEqual(900);
    expect(elapsedMs).toBeLessThan(3000);
  });

  it('a place-call that timed out is not retryable: Twilio may have placed it', async () => {
    fake.injected.push('hang');
    const error = await rejectionOf(rest.placeCall({ to: '+972501234567', url: `${PUBLIC}/a`, statusCallback: `${PUBLIC}/s` }));
    expect(error).toMatchObject({ operation: 'place-call', kind: 'timeout', isRetryable: false, mayHaveTakenEffect: true });
  });

  it('a refused connection is a retryable network error that did not take effect', async () => {
    const nobody = createTwilioRest({ accountSid: ACCOUNT_SID, authToken: AUTH_TOKEN, apiBaseUrl: `http://127.0.0.1:${await freePort()}` });
    const error = await rejectionOf(nobody.placeCall({ to: '+972501234567', from: CALLER_ID, url: `${PUBLIC}/a`, statusCallback: `${PUBLIC}/s` }));
    expect(error).toMatchObject({ kind: 'network', isRetryable: true, mayHaveTakenEffect: false });
  });
});
