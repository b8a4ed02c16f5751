// An agent file's HTTP tool, through the real fetch against a tool server on 127.0.0.1: the request is the documented
// JSON, signed so that the README's receiver check (examples/verify-signature.mjs, the very file the README shows)
// accepts it and rejects a forged, altered or stale one; and every way a tool can fail (timeout, refused connection,
// non-2xx, non-JSON, an answer too large, a barge-in) gives the model an error string, never a throw or silence.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callHttpTool, MAX_TOOL_ANSWER_BYTES } from '../../src/agent/tools/http-tool.js';
import { SIGNATURE_HEADER } from '../../src/agent/tools/signature.js';
import { REPO_ROOT, freePort } from '../helpers/server.js';

const SECRET = 'test-signing-secret-of-at-least-32-chars';
const VERIFY_FILE = `${REPO_ROOT}/examples/verify-signature.mjs`;
type Verify = (secret: string, rawBody: Buffer | string, header: string | undefined, nowS?: number) => boolean;
let verifyAiCrmdSignature: Verify;

interface Received { path: string; headers: IncomingMessage['headers']; body: Buffer }
const received: Received[] = [];
const closedEarly: string[] = [];
let server: Server;
let base = '';

function answer(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
  received.push({ path: req.url ?? '', headers: req.headers, body });
  res.on('close', () => { if (!res.writableFinished) closedEarly.push(req.url ?? ''); });
  switch (req.url) {
    case '/echo':
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ slots: ['10:30', '11:00'], got: JSON.parse(body.toString('utf8')) }));
      return;
    case '/empty':
      res.writeHead(204).end();
      return;
    case '/hang':
      return; // never answers
    case '/slow-body':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"partial":'); // and never finishes
      return;
    case '/html':
      res.writeHead(200, { 'content-type': 'text/html' }).end('<html>oops</html>');
      return;
    case '/huge': {
      // no content-length: the client must cut the stream itself
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(16 * 1024, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < 64 * 1024 * 1024) { // far more than the socket buffers hold: the server is still writing when the client cuts
          sent += chunk.length;
          if (!res.write(chunk)) { res.once('drain', pump); return; }
        }
        res.end('{}');
      };
      pump();
      return;
    }
    case '/fail':
      res.writeHead(503, 'Service Unavailable').end('{"error":"down"}');
      return;
    case '/redirect':
      res.writeHead(302, { location: 'http://127.0.0.1:9/elsewhere' }).end();
      return;
    default:
      res.writeHead(404).end();
  }
}

beforeAll(async () => {
  verifyAiCrmdSignature = ((await import(pathToFileURL(VERIFY_FILE).href)) as { verifyAiCrmdSignature: Verify }).verifyAiCrmdSignature;
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => answer(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((done) => server.close(() => done()));
});

const tool = (path: string, timeoutMs = 3000) => ({ name: 'check_availability', url: `${base}${path}`, timeoutMs });
const call = { callSid: 'CA0123456789abcdef0123456789abcdef', arguments: { date: '2026-12-04', service: 'checkup' } };

describe('a successful tool call', () => {
  it('POSTs { callSid, tool, arguments } as JSON and hands the answer JSON to the model', async () => {
    const result = await callHttpTool(tool('/echo'), call, { secret: SECRET });
    expect(result).toEqual({ ok: true, value: { slots: ['10:30', '11:00'], got: { callSid: call.callSid, tool: 'check_availability', arguments: call.arguments } } });
    const request = received.at(-1)!;
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-aicrmd-signature']).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
  });

  it('an empty answer is null for the model', async () => {
    expect(await callHttpTool(tool('/empty'), call, { secret: SECRET })).toEqual({ ok: true, value: null });
  });
});

describe('the signature, checked with the README\'s code', () => {
  it('verifies over the raw body, and fails for another secret, an altered body, a stale or missing header', async () => {
    const nowS = Math.floor(Date.now() / 1000);
    await callHttpTool(tool('/echo'), call, { secret: SECRET });
    const { body, headers } = received.at(-1)!;
    const header = headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(verifyAiCrmdSignature(SECRET, body, header)).toBe(true);
    expect(verifyAiCrmdSignature(SECRET, body.toString('utf8'), header)).toBe(true);
    expect(verifyAiCrmdSignature('another-secret-of-at-least-32-characters', body, header)).toBe(false);
    expect(verifyAiCrmdSignature(SECRET, Buffer.from(body.toString('utf8').replace('checkup', 'filling')), header)).toBe(false);
    expect(verifyAiCrmdSignature(SECRET, body, header, nowS + 301 + 5)).toBe(false); // replayed over 5 minutes later
    expect(verifyAiCrmdSignature(SECRET, body, header, nowS + 240)).toBe(true); // within the window
    expect(verifyAiCrmdSignature(SECRET, body, undefined)).toBe(false);
    expect(verifyAiCrmdSignature(SECRET, body, header.replace(/v1=./, 'v1=g'))).toBe(false);
  });

  it('signs with the time it is given (t=), so the receiver\'s freshness window applies to it', async () => {
    await callHttpTool(tool('/echo'), call, { secret: SECRET, nowS: () => 1_700_000_000 });
    const { body, headers } = received.at(-1)!;
    const header = headers['x-aicrmd-signature'] as string;
    expect(header.startsWith('t=1700000000,')).toBe(true);
    expect(verifyAiCrmdSignature(SECRET, body, header, 1_700_000_100)).toBe(true);
    expect(verifyAiCrmdSignature(SECRET, body, header)).toBe(false); // years ago
  });

  it('the README shows examples/verify-signature.mjs as it is', () => {
    const readme = readFileSync(`${REPO_ROOT}/README.md`, 'utf8');
    const code = readFileSync(VERIFY_FILE, 'utf8').trim();
    expect(readme).toContain(code);
  });
});

describe('a tool that fails gives the model an error, never silence', () => {
  it('times out at its timeoutMs with no answer, and closes the request', async () => {
    const startedMs = Date.now();
    const result = await callHttpTool(tool('/hang', 300), call, { secret: SECRET });
    expect(result).toEqual({ ok: false, error: 'tool check_availability failed: no complete answer within its 300 ms timeout' });
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(250);
    await expect.poll(() => closedEarly.includes('/hang')).toBe(true);
  });

  it('the timeout covers an answer whose body never ends', async () => {
    const result = await callHttpTool(tool('/slow-body', 300), call, { secret: SECRET });
    expect(result).toEqual({ ok: false, error: 'tool check_availability failed: no complete answer within its 300 ms timeout' });
  });

  it('a refused connection says so', async () => {
    const port = await freePort(); // nothing listens there
    const result = await callHttpTool({ name: 'book_appointment', url: `http://127.0.0.1:${port}/x`, timeoutMs: 3000 }, call, { secret: SECRET });
    expect(result).toEqual({ ok: false, error: 'tool book_appointment failed: the connection was refused (is the tool server running?)' });
  });

  it('a non-2xx status is named, and a redirect is not followed', async () => {
    expect(await callHttpTool(tool('/fail'), call, { secret: SECRET })).toEqual({ ok: false, error: 'tool check_availability failed: the server answered HTTP 503 Service Unavailable' });
    expect(await callHttpTool(tool('/redirect'), call, { secret: SECRET })).toEqual({ ok: false, error: 'tool check_availability failed: the server answered HTTP 302 Found' });
  });

  it('an answer that is not JSON is named with its content type', async () => {
    expect(await callHttpTool(tool('/html'), call, { secret: SECRET })).toEqual({ ok: false, error: 'tool check_availability failed: its answer is not JSON (text/html)' });
  });

  it('an oversized answer is cut at the limit, not buffered whole', async () => {
    const result = await callHttpTool(tool('/huge'), call, { secret: SECRET });
    expect(result).toEqual({ ok: false, error: `tool check_availability failed: its answer is larger than ${MAX_TOOL_ANSWER_BYTES} bytes` });
    await expect.poll(() => closedEarly.includes('/huge')).toBe(true);
  });

  it('the caller\'s signal (a barge-in) cancels it, before or during the request', async () => {
    const controller = new AbortController();
    const pending = callHttpTool(tool('/hang', 10_000), call, { secret: SECRET, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(await pending).toEqual({ ok: false, error: 'tool check_availability failed: it was cancelled (the caller spoke or the call ended)' });
    expect(await callHttpTool(tool('/echo'), call, { secret: SECRET, signal: AbortSignal.abort() }))
      .toEqual({ ok: false, error: 'tool check_availability failed: it was cancelled before it started' });
  });

  it('arguments that cannot be JSON are an error, not a throw', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    const result = await callHttpTool(tool('/echo'), { callSid: call.callSid, arguments: cyclic }, { secret: SECRET });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toMatch(/^tool check_availability failed: its arguments cannot be sent as JSON/);
  });
});
