// Twilio's HTTP side, /version and /metrics. Bodies are read with onData (copied, at most 64 KiB, the rest is not read) and every
// handler that answers later registers onAborted and corks its writes. Signatures are checked against the URL Twilio
// saw: PUBLIC_BASE_URL + path + query, never the internal address or the Host header. The incoming-call webhook answers
// TwiML that connects the call to our media WebSocket with a short-lived token bound to the CallSid; status callbacks
// get 204 at once and are handled (logged) only after the response has gone.
import { ErrorKind, LogEvent, log } from '../observability/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../observability/metrics.js';
import { STREAM_TOKEN_PARAM, createStreamToken, publicUrlFor, validateWebhookSignature } from '../twilio/signature.js';
import { connectStreamTwiml } from '../twilio/twiml.js';
import type { EdgeThreadStats } from './media-socket.js';
import { requestTarget, uwsEngine, type HttpRequest, type HttpResponse } from './uws.js';

/** Largest request body we read; anything longer is answered 413 and not read further. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface WebhookConfig {
  publicBaseUrl: string;
  /** wss://host/ws/twilio-media, from PUBLIC_BASE_URL (what the TwiML points at and what Twilio signs). */
  streamUrl: string;
  streamTokenTtlMs: number;
  twilioAuthToken: string | undefined;
  isSignatureCheckOn: boolean;
  streamTokenSecret: string;
}

export interface WebhookContext {
  config: WebhookConfig;
  stats: EdgeThreadStats;
}

export class MalformedFormError extends Error {}

/**
 * Strict application/x-www-form-urlencoded parser: `+` is a space, percent escapes must be valid UTF-8
 * (throws MalformedFormError otherwise; URLSearchParams would silently keep garbage). Later duplicates win.
 */
export function parseForm(body: string): Record<string, string> {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  if (body.length === 0) return params;
  for (const pair of body.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      throw new MalformedFormError(`malformed percent-encoding in form field ${JSON.stringify(rawName.slice(0, 40))}`);
    }
    if (name.length === 0) throw new MalformedFormError('form field with an empty name');
    params[name] = value;
  }
  return params;
}

/** Everything a body-carrying route needs from req, copied out (req dies when the handler returns). */
export interface RequestHead {
  method: string;
  path: string;
  query: string;
  contentType: string;
  contentLength: number | null;
  signature: string;
}

export function readRequestHead(req: HttpRequest): RequestHead {
  const lengthHeader = req.getHeader('content-length');
  const parsedLength = lengthHeader.length > 0 ? Number(lengthHeader) : NaN;
  const { path, query } = requestTarget(req);
  return {
    method: req.getMethod().toUpperCase(),
    path,
    query,
    contentType: req.getHeader('content-type'),
    contentLength: Number.isFinite(parsedLength) ? parsedLength : null,
    signature: req.getHeader('x-twilio-signature'),
  };
}

export function pathAndQueryOf(head: RequestHead): string {
  return head.query.length > 0 ? `${head.path}?${head.query}` : head.path;
}

/** Writes a complete response, corked (safe both inside and outside a handler's synchronous part). */
export function respond(
  res: HttpResponse,
  status: string,
  body: string,
  headers: ReadonlyArray<readonly [string, string]> = [],
  closeConnection = false,
): void {
  res.cork(() => {
    res.writeStatus(status);
    for (const [name, value] of headers) res.writeHeader(name, value);
    // 204 carries no body and no Content-Length: only endWithoutBody() called with no arguments writes none (an
    // explicit undefined length is written as 2^63). The JS fallback engine lacks endWithoutBody.
    if (status.startsWith('204') && !closeConnection && uwsEngine === 'native') res.endWithoutBody();
    else res.end(body, closeConnection);
  });
}

const TEXT = [['Content-Type', 'text/plain; charset=utf-8']] as const;

/**
 * Reads a form body with onData and calls `onForm` with the parsed params (synchronously inside the last onData call),
 * or answers 413 / 415 / 400 itself. Registers onAborted; `onForm` is not called after an abort.
 */
export function readForm(res: HttpResponse, head: RequestHead, onForm: (params: Record<string, string>) => void): void {
  if (head.contentLength !== null && head.contentLength > MAX_BODY_BYTES) {
    respond(res, '413 Payload Too Large', `Body over ${MAX_BODY_BYTES} bytes\n`, TEXT, true);
    return;
  }
  const mediaType = head.contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  if (mediaType.length > 0 && mediaType !== 'application/x-www-form-urlencoded') {
    respond(res, '415 Unsupported Media Type', 'Expected application/x-www-form-urlencoded\n', TEXT, true);
    return;
  }
  const state = { isAborted: false, isFinished: false, size: 0 };
  const chunks: Buffer[] = [];
  res.onAborted(() => {
    state.isAborted = true;
  });
  res.onData((chunk, isLast) => {
    if (state.isFinished || state.isAborted) return;
    state.size += chunk.byteLength;
    if (state.size > MAX_BODY_BYTES) {
      state.isFinished = true;
      respond(res, '413 Payload Too Large', `Body over ${MAX_BODY_BYTES} bytes\n`, TEXT, true);
      return;
    }
    // The ArrayBuffer is neutered when this callback returns: copy it.
    if (chunk.byteLength > 0) chunks.push(Buffer.from(Buffer.from(chunk)));
    if (!isLast) return;
    state.isFinished = true;
    let params: Record<string, string>;
    try {
      params = parseForm(Buffer.concat(chunks).toString('utf8'));
    } catch (error) {
      respond(res, '400 Bad Request', `Malformed form body: ${(error as Error).message}\n`, TEXT);
      return;
    }
    try {
      onForm(params);
    } catch (error) {
      log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, path: head.path, err: error }, 'webhook handler threw');
      if (!state.isAborted) respond(res, '500 Internal Server Error', 'Internal error\n', TEXT, true);
    }
  });
}

function isWebhookSigned(ctx: WebhookContext, head: RequestHead, params: Record<string, string>): boolean {
  const { config } = ctx;
  if (!config.isSignatureCheckOn) return true;
  const authToken = config.twilioAuthToken;
  if (authToken === undefined || head.signature.length === 0) return false;
  return validateWebhookSignature(authToken, publicUrlFor(config.publicBaseUrl, pathAndQueryOf(head)), params, head.signature);
}

function refuseUnsigned(ctx: WebhookContext, res: HttpResponse, head: RequestHead): void {
  ctx.stats.webhookSignatureFailures++;
  log.warn({ event: LogEvent.SIGNATURE_FAIL, errKind: ErrorKind.SIGNATURE, path: head.path, hasSignature: head.signature.length > 0 }, 'webhook signature missing or invalid');
  respond(res, '403 Forbidden', 'Invalid X-Twilio-Signature\n', TEXT);
}

/** POST /webhook/incoming_call: TwiML that connects the call to the media stream. */
export function handleIncomingCall(ctx: WebhookContext, res: HttpResponse, req: HttpRequest): void {
  const head = readRequestHead(req);
  readForm(res, head, (params) => {
    if (!isWebhookSigned(ctx, head, params)) {
      refuseUnsigned(ctx, res, head);
      return;
    }
    const callSid = params['CallSid'] ?? '';
    if (callSid.length === 0) {
      respond(res, '400 Bad Request', 'Missing CallSid\n', TEXT);
      return;
    }
    const { config } = ctx;
    const parameters: Record<string, string> = { callSid };
    // connectStreamTwiml keeps each name + value under Twilio's 500-character limit.
    if (params['From']) parameters['from'] = params['From'];
    if (params['To']) parameters['to'] = params['To'];
    parameters[STREAM_TOKEN_PARAM] = createStreamToken(config.streamTokenSecret, callSid, Date.now(), config.streamTokenTtlMs);
    let twiml: string;
    try {
      twiml = connectStreamTwiml({
        streamUrl: config.streamUrl,
        parameters,
        statusCallbackUrl: publicUrlFor(config.publicBaseUrl, '/webhook/stream-status'),
      });
    } catch (error) {
      log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, callSid, err: error }, 'could not build TwiML');
      respond(res, '500 Internal Server Error', 'Could not build TwiML\n', TEXT);
      return;
    }
    ctx.stats.webhooksAnswered++;
    respond(res, '200 OK', twiml, [['Content-Type', 'text/xml'], ['Cache-Control', 'no-store']]);
    const from = params['From'];
    const to = params['To'];
    setImmediate(() => {
      log.info({ event: LogEvent.WEBHOOK_INCOMING, callSid, from, to }, 'incoming call answered with <Connect><Stream>');
    });
  });
}

/** POST /webhook/status and /webhook/stream-status: 204 at once, the payload is handled after the response. */
export function handleStatusCallback(ctx: WebhookContext, res: HttpResponse, req: HttpRequest, kind: 'call' | 'stream'): void {
  const head = readRequestHead(req);
  readForm(res, head, (params) => {
    if (!isWebhookSigned(ctx, head, params)) {
      refuseUnsigned(ctx, res, head);
      return;
    }
    ctx.stats.webhooksAnswered++;
    respond(res, '204 No Content', '');
    setImmediate(() => {
      if (kind === 'call') {
        log.info({
          event: LogEvent.WEBHOOK_STATUS, kind: 'call', callSid: params['CallSid'], callStatus: params['CallStatus'],
          durationS: params['CallDuration'], sequenceNumber: params['SequenceNumber'],
        }, 'call status callback');
      } else {
        log.info({
          event: LogEvent.WEBHOOK_STATUS, kind: 'stream', callSid: params['CallSid'], streamSid: params['StreamSid'],
          streamEvent: params['StreamEvent'], streamError: params['StreamError'], timestamp: params['Timestamp'],
        }, 'stream status callback');
      }
    });
  });
}

/** GET /version: answered asynchronously (the totals come from the supervisor), so it registers onAborted. */
export function handleVersion(res: HttpResponse, buildBody: () => Promise<object>): void {
  const state = { isAborted: false };
  res.onAborted(() => {
    state.isAborted = true;
  });
  buildBody().then(
    (body) => {
      if (state.isAborted) return;
      respond(res, '200 OK', JSON.stringify(body), [['Content-Type', 'application/json'], ['Cache-Control', 'no-store']]);
    },
    (error: unknown) => {
      log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, path: '/version', err: error }, 'could not build /version');
      if (state.isAborted) return;
      respond(res, '500 Internal Server Error', 'Could not build /version\n', TEXT);
    },
  );
}

/** GET /metrics: Prometheus text, built asynchronously (the sums come from the supervisor), so it registers onAborted. */
export function handleMetrics(res: HttpResponse, buildBody: () => Promise<string>): void {
  const state = { isAborted: false };
  res.onAborted(() => {
    state.isAborted = true;
  });
  buildBody().then(
    (body) => {
      if (state.isAborted) return;
      respond(res, '200 OK', body, [['Content-Type', PROMETHEUS_CONTENT_TYPE], ['Cache-Control', 'no-store']]);
    },
    (error: unknown) => {
      log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, path: '/metrics', err: error }, 'could not build /metrics');
      if (state.isAborted) return;
      respond(res, '500 Internal Server Error', 'Could not build /metrics\n', TEXT);
    },
  );
}
