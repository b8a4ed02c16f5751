/**
 * The peer for bench/webhooks: ai-crmd's webhook work written the usual Node way, Fastify + @fastify/formbody.
 * POST /webhook/incoming_call: twilio.validateRequest against PUBLIC_BASE_URL + url, then a VoiceResponse
 * <Connect><Stream> with the same <Parameter>s ours sends (callSid, from, to, an HMAC stream token) and a stream
 * status callback. POST /webhook/status: signature check, 204, payload handled after the response.
 *
 * Env: PORT (default 8082), HOST (127.0.0.1), TWILIO_AUTH_TOKEN (required), PUBLIC_BASE_URL (required).
 */
import { createHmac } from 'node:crypto';
import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import twilio from 'twilio';

const PORT = Number(process.env.PORT ?? 8082);
const HOST = process.env.HOST ?? '127.0.0.1';
const AUTH_TOKEN = process.env.TWILIO_AUTH_TOKEN ?? '';
const PUBLIC_BASE_URL = (process.env.PUBLIC_BASE_URL ?? '').replace(/\/+$/, '');
if (!AUTH_TOKEN || !PUBLIC_BASE_URL) {
  process.stderr.write('fastify-webhooks-peer needs TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL\n');
  process.exit(2);
}
const STREAM_URL = `wss://${new URL(PUBLIC_BASE_URL).host}/ws/twilio-media`;
const TOKEN_SECRET = createHmac('sha256', AUTH_TOKEN).update('ai-crmd stream token v1').digest('base64url');

function streamToken(callSid: string): string {
  const expiresAtMs = Date.now() + 60_000;
  const mac = createHmac('sha256', TOKEN_SECRET).update(`${callSid}\n${expiresAtMs}`).digest('base64url');
  return `${expiresAtMs.toString(36)}.${mac}`;
}

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
await app.register(formbody);

type Form = Record<string, string>;

function isSigned(signature: string | string[] | undefined, url: string, params: Form): boolean {
  return typeof signature === 'string' && twilio.validateRequest(AUTH_TOKEN, signature, PUBLIC_BASE_URL + url, params);
}

app.post<{ Body: Form }>('/webhook/incoming_call', async (request, reply) => {
  const params = request.body ?? {};
  if (!isSigned(request.headers['x-twilio-signature'], request.url, params)) {
    return reply.code(403).type('text/plain').send('Invalid X-Twilio-Signature\n');
  }
  const callSid = params.CallSid;
  if (!callSid) return reply.code(400).send('Missing CallSid\n');
  const response = new twilio.twiml.VoiceResponse();
  const connect = response.connect();
  const stream = connect.stream({ url: STREAM_URL, statusCallback: `${PUBLIC_BASE_URL}/webhook/stream-status`, statusCallbackMethod: 'POST' });
  stream.parameter({ name: 'callSid', value: callSid });
  if (params.From) stream.parameter({ name: 'from', value: params.From });
  if (params.To) stream.parameter({ name: 'to', value: params.To });
  stream.parameter({ name: 'StreamToken', value: streamToken(callSid) });
  return reply.code(200).header('Cache-Control', 'no-store').type('text/xml').send(response.toString());
});

app.post<{ Body: Form }>('/webhook/status', async (request, reply) => {
  const params = request.body ?? {};
  if (!isSigned(request.headers['x-twilio-signature'], request.url, params)) {
    return reply.code(403).type('text/plain').send('Invalid X-Twilio-Signature\n');
  }
  reply.code(204).send();
  setImmediate(() => {
    // the status payload is handled after the response (ours logs it at info; both run at LOG_LEVEL=warn)
    void params.CallStatus;
  });
  return reply;
});

app.get('/version', async () => ({ name: 'fastify-webhooks-peer', node: process.version }));

await app.listen({ port: PORT, host: HOST });

const shutdown = (): void => {
  app.close().then(() => process.exit(0), () => process.exit(1));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
