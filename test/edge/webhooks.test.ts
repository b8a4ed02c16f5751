// Twilio's HTTP side against the real server: incoming-call TwiML (parsed as XML, stream URL from PUBLIC_BASE_URL,
// a stream token bound to the CallSid), signatures checked against PUBLIC_BASE_URL + path + query (valid, missing,
// tampered, signed for the Host-header URL), status callbacks answered 204 before they are handled, the error codes
// (404, 405 with Allow, 413 without reading the rest, 400, 415), /version, and the explicit insecure dev mode.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { deriveStreamTokenSecret, verifyStreamToken } from '../../src/twilio/signature.js';
import { TEST_SESSION_MODULE, getJson, rawRequest, startServer, type RunningServer } from '../helpers/server.js';

const AUTH_TOKEN = 'webhook-test-auth-token-9a8b7c';
const PUBLIC_BASE_URL = 'https://calls.example.test';

interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
}

/** A tiny strict XML reader (elements, attributes, declaration; no text content needed): throws when not well-formed. */
function parseXml(xml: string): XmlElement {
  const decode = (value: string): string =>
    value.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);/gi, (_m, entity: string) => {
      const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
      if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
      if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
      return named[entity.toLowerCase()] ?? '';
    });
  let rest = xml.replace(/^<\?xml[^?]*\?>/, '');
  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const tag = /^<(\/?)([A-Za-z_][\w.-]*)((?:\s+[A-Za-z_][\w.-]*="[^"<]*")*)\s*(\/?)>/;
  while (rest.length > 0) {
    const text = /^[^<]*/.exec(rest)?.[0] ?? '';
    if (text.trim().length > 0 && stack.length === 0) throw new Error(`text outside the root: ${text}`);
    if (/[&](?!(lt|gt|amp|quot|apos|#\d+|#x[0-9a-f]+);)/i.test(text)) throw new Error('bare & in text');
    rest = rest.slice(text.length);
    if (rest.length === 0) break;
    const match = tag.exec(rest);
    if (!match) throw new Error(`not well-formed near ${JSON.stringify(rest.slice(0, 40))}`);
    rest = rest.slice(match[0].length);
    const [, closing, name = '', attributeText = '', selfClosing] = match;
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}>`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const attribute of attributeText.matchAll(/([A-Za-z_][\w.-]*)="([^"<]*)"/g)) {
      if (attribute[1] === undefined || attribute[1] in attributes) throw new Error('duplicate attribute');
      attributes[attribute[1]] = decode(attribute[2] ?? '');
    }
    const element: XmlElement = { name, attributes, children: [] };
    const parent = stack[stack.length - 1];
    if (parent) parent.children.push(element);
    else if (root === null) root = element;
    else throw new Error('two roots');
    if (!selfClosing) stack.push(element);
  }
  if (stack.length > 0 || root === null) throw new Error('unclosed elements');
  return root;
}

function form(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function post(server: RunningServer, pathAndQuery: string, body: string, headers: Record<string, string> = {}) {
  return fetch(`${server.baseUrl}${pathAndQuery}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', connection: 'close', ...headers },
    body,
  });
}

const sign = (pathAndQuery: string, params: Record<string, string>): string =>
  getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}${pathAndQuery}`, params);

const CALL = { CallSid: 'CA0123456789abcdef0123456789abcdef', From: '+972501234567', To: '+15557654321', AccountSid: 'AC' + '1'.repeat(32) };

describe('with signature checks on', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL, EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('answers a signed incoming call with <Connect><Stream> TwiML (text/xml) and a token bound to the CallSid', async () => {
    const response = await post(server, '/webhook/incoming_call', form(CALL), { 'X-Twilio-Signature': sign('/webhook/incoming_call', CALL) });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/xml');
    const root = parseXml(await response.text());
    expect(root.name).toBe('Response');
    const connect = root.children[0];
    expect(connect?.name).toBe('Connect');
    const stream = connect?.children[0];
    expect(stream?.name).toBe('Stream');
    expect(stream?.attributes['url']).toBe('wss://calls.example.test/ws/twilio-media');
    expect(stream?.attributes['statusCallback']).toBe('https://calls.example.test/webhook/stream-status');
    const parameters = Object.fromEntries((stream?.children ?? []).map((p) => [p.attributes['name'], p.attributes['value']]));
    expect(parameters['callSid']).toBe(CALL.CallSid);
    expect(parameters['from']).toBe(CALL.From);
    expect(parameters['to']).toBe(CALL.To);
    const token = parameters['StreamToken'] ?? '';
    const secret = deriveStreamTokenSecret(AUTH_TOKEN);
    expect(verifyStreamToken(secret, token, CALL.CallSid, Date.now())).toBe(true);
    expect(verifyStreamToken(secret, token, 'CAsomeoneelse', Date.now())).toBe(false);
  });

  it('checks the signature against PUBLIC_BASE_URL + path + query', async () => {
    const path = '/webhook/incoming_call?tenant=a%20b&x=1';
    const good = await post(server, path, form(CALL), { 'X-Twilio-Signature': sign(path, CALL) });
    expect(good.status).toBe(200);
    const withoutQuery = await post(server, path, form(CALL), { 'X-Twilio-Signature': sign('/webhook/incoming_call', CALL) });
    expect(withoutQuery.status).toBe(403);
  });

  it('refuses a missing signature with 403', async () => {
    expect((await post(server, '/webhook/incoming_call', form(CALL))).status).toBe(403);
  });

  it('refuses a tampered body with 403', async () => {
    const signature = sign('/webhook/incoming_call', CALL);
    const tampered = { ...CALL, From: '+10000000000' };
    expect((await post(server, '/webhook/incoming_call', form(tampered), { 'X-Twilio-Signature': signature })).status).toBe(403);
  });

  it('refuses a signature of the internal (Host header) URL', async () => {
    const signature = getExpectedTwilioSignature(AUTH_TOKEN, `${server.baseUrl}/webhook/incoming_call`, CALL);
    expect((await post(server, '/webhook/incoming_call', form(CALL), { 'X-Twilio-Signature': signature })).status).toBe(403);
  });

  it.each([
    ['/webhook/status', { ...CALL, CallStatus: 'completed', CallDuration: '12' }],
    ['/webhook/stream-status', { ...CALL, StreamSid: 'MZ' + '2'.repeat(32), StreamEvent: 'stream-stopped' }],
  ])('%s answers 204 with no body, then handles the payload', async (path, params) => {
    const response = await post(server, path, form(params), { 'X-Twilio-Signature': sign(path, params) });
    expect(response.status).toBe(204);
    expect(response.headers.get('content-length')).toBeNull();
    expect(await response.text()).toBe('');
    const line = await server.waitForLog((l) => l['event'] === 'WEBHOOK_STATUS' && l['callSid'] === CALL.CallSid);
    expect(line['callSid']).toBe(CALL.CallSid);
    const unsigned = await post(server, path, form(params));
    expect(unsigned.status).toBe(403);
  });

  it('answers the root with 200, for front ends that probe it', async () => {
    const root = await fetch(`${server.baseUrl}/`);
    expect(root.status).toBe(200);
    expect(await root.text()).toContain('/version');
  });

  it('answers 404 for an unknown path and 405 with Allow for a wrong method', async () => {
    expect((await fetch(`${server.baseUrl}/nope`)).status).toBe(404);
    expect((await post(server, '/webhook/nope', '')).status).toBe(404);
    const getWebhook = await fetch(`${server.baseUrl}/webhook/incoming_call`);
    expect(getWebhook.status).toBe(405);
    expect(getWebhook.headers.get('allow')).toBe('POST');
    const postVersion = await post(server, '/version', '');
    expect(postVersion.status).toBe(405);
    expect(postVersion.headers.get('allow')).toBe('GET');
  });

  it('answers 413 to a body over 64 KiB', async () => {
    const big = form({ ...CALL, Junk: 'x'.repeat(70 * 1024) });
    expect((await post(server, '/webhook/incoming_call', big)).status).toBe(413);
  });

  it('answers 413 from the declared length, without waiting for the rest of the body', async () => {
    const res = await rawRequest(
      server.port,
      'POST /webhook/status HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\nCallSid=CA1',
    );
    expect(res.status).toBe(413);
  });

  it('answers 413 to a chunked body that grows past 64 KiB, before it ends', async () => {
    const chunk = 'a'.repeat(40 * 1024);
    const size = chunk.length.toString(16);
    const res = await rawRequest(
      server.port,
      'POST /webhook/status HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        `Transfer-Encoding: chunked\r\n\r\n${size}\r\n${chunk}\r\n${size}\r\n${chunk}\r\n`,
    );
    expect(res.status).toBe(413);
  });

  it('answers 400 to a malformed form and 415 to JSON', async () => {
    expect((await post(server, '/webhook/status', 'CallSid=%zz&x=1')).status).toBe(400);
    expect((await post(server, '/webhook/status', '{"CallSid":"CA1"}', { 'Content-Type': 'application/json' })).status).toBe(415);
  });

  it('/version reports the engine, threads, calls and that signatures are checked', async () => {
    const { status, body } = await getJson(`${server.baseUrl}/version`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      name: 'ai-crmd', node: process.version, engine: 'native', edgeThreads: 2, edgeThreadsReady: 2, activeCalls: 0,
      isSignatureCheckOn: true, isInsecureDevMode: false, draining: false,
    });
    expect(typeof body['version']).toBe('string');
    expect(typeof body['uptimeS']).toBe('number');
    // The refusals above happened on either thread; another thread's counters reach the sum within about a second.
    const deadline = Date.now() + 5_000;
    let failures = (body['counters'] as Record<string, number>)['webhookSignatureFailures'] ?? 0;
    while (failures === 0 && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 200));
      const again = await getJson(`${server.baseUrl}/version`);
      failures = (again.body['counters'] as Record<string, number>)['webhookSignatureFailures'] ?? 0;
    }
    expect(failures).toBeGreaterThan(0);
  });
});

describe('insecure development mode (no TWILIO_AUTH_TOKEN, edge in the main thread)', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { EDGE_THREADS: '0', EDGE_SESSION_MODULE: TEST_SESSION_MODULE } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('says so at start-up and in /version, and takes unsigned webhooks', async () => {
    await server.waitForLog((line) => line['event'] === 'INSECURE_DEV_MODE' && line['level'] === 'warn');
    const { body } = await getJson(`${server.baseUrl}/version`);
    expect(body).toMatchObject({ isSignatureCheckOn: false, isInsecureDevMode: true, edgeThreads: 0, edgeThreadsReady: 1 });
    const response = await post(server, '/webhook/incoming_call', form(CALL));
    expect(response.status).toBe(200);
    expect(parseXml(await response.text()).name).toBe('Response');
  });
});
