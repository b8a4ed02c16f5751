// Twilio's HTTP side, /version and /metrics. Bodies are read with onData (copied, at most 64 KiB, the rest is not read) and every
// handler that answers later registers onAborted and corks its writes. Signatures are checked against the URL Twilio
// saw: PUBLIC_BASE_URL + path + query, never the internal address or the Host header. The incoming-call webhook answers
// TwiML that connects the call to our media WebSocket with a short-lived token bound to the CallSid; status callbacks
// get 204 at once and are handled (logged) only after the response has gone. While the thread drains, a signed
// incoming call gets 503 with Retry-After instead of TwiML (status callbacks still get 204).
// Per request the work is: read the body (one copy), parse the form once, one twilio.validateRequest, and for an
// incoming call render a TwiML template built once with VoiceResponse (see src/twilio/twiml.ts). Public URLs and
// templates are computed once per config; nothing is scheduled after the response when its log line would be dropped.
// Call control's webhooks follow the same pattern: the outbound call's answer and a failed transfer's return (the
// <Dial action>) render a stream template with a fresh token for the CallSid Twilio posts; the warm transfer's
// whisper says the summary its signed query carries; async AMD's verdict gets 204 at once and goes to
// ctx.onMachineDetected after the response.
import { readWhisperQuery } from '../control/callback-urls.js';
import { parseAnsweredBy, type MachineDetectionResult } from '../control/machine-detection.js';
import type { CallStatusUpdate } from '../control/call-recorder.js';
import { LAUNCH_ID, LAUNCH_PARAM } from '../control/outbound-briefs.js';
import { ErrorKind, LogEvent, log } from '../observability/log.js';
import { PROMETHEUS_CONTENT_TYPE, countWebhookRefusedDraining } from '../observability/metrics.js';
import { STREAM_TOKEN_PARAM, createStreamToken, publicUrlFor, validateWebhookSignature } from '../twilio/signature.js';
import { createConnectStreamTemplate, hangupTwiml, whisperTwiml, type ConnectStreamTemplate } from '../twilio/twiml.js';
import type { EdgeThreadStats } from './media-socket.js';
import { requestTarget, uwsEngine, type HttpRequest, type HttpResponse } from './uws.js';

/** The longest a Twilio call lasts (24 h); a CallDuration beyond it is ignored. */
const MAX_CALL_DURATION_S = 24 * 3600;

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
  /** True once this thread drains (SIGTERM): the voice webhook then answers 503 instead of TwiML. */
  isDraining(): boolean;
  /**
   * Async AMD's verdict for a call (POST /webhook/amd), every documented AnsweredBy (human and fax included), called
   * after the 204 has gone; the call engine connects it to the live call (a machine: leave the voicemail line, hang up).
   */
  onMachineDetected?: ((result: MachineDetectionResult) => void) | undefined;
  /** A call status callback, after the 204 (the records keep Twilio's status). */
  onCallStatus?: ((update: CallStatusUpdate) => void) | undefined;
}

/**
 * Seconds in the Retry-After of a draining instance's 503. Short: a caller is waiting on the line, and whatever honours
 * it (a load balancer, a proxy) should try again at once, on another instance; this one will not take the call.
 */
export const DRAINING_RETRY_AFTER_S = 1;

export class MalformedFormError extends Error {}

/** One form name or value: `+` is a space, percent escapes decoded (throws URIError on a bad one). */
function decodeFormComponent(raw: string): string {
  const spaced = raw.indexOf('+') === -1 ? raw : raw.replace(/\+/g, ' ');
  return spaced.indexOf('%') === -1 ? spaced : decodeURIComponent(spaced);
}

/**
 * Strict application/x-www-form-urlencoded parser: `+` is a space, percent escapes must be valid UTF-8
 * (throws MalformedFormError otherwise; URLSearchParams would silently keep garbage). Later duplicates win.
 * One forward scan (no split, no per-field regex unless the field has a `+`): it runs for every webhook.
 */
export function parseForm(body: string): Record<string, string> {
  const params: Record<string, string> = Object.create(null) as Record<string, string>;
  const length = body.length;
  let start = 0;
  let eq = -1; // the next '=' at or after start, or length when there is none (kept across fields: the scan stays linear)
  while (start < length) {
    let end = body.indexOf('&', start);
    if (end === -1) end = length;
    if (end > start) {
      if (eq < start) {
        eq = body.indexOf('=', start);
        if (eq === -1) eq = length;
      }
      const hasValue = eq < end;
      const rawName = body.slice(start, hasValue ? eq : end);
      let name: string;
      let value: string;
      try {
        name = decodeFormComponent(rawName);
        value = hasValue ? decodeFormComponent(body.slice(eq + 1, end)) : '';
      } catch {
        throw new MalformedFormError(`malformed percent-encoding in form field ${JSON.stringify(rawName.slice(0, 40))}`);
      }
      if (name.length === 0) throw new MalformedFormError('form field with an empty name');
      params[name] = value;
    }
    start = end + 1;
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

const NO_HEADERS: ReadonlyArray<readonly [string, string]> = [];

/** Writes a complete response, corked (safe both inside and outside a handler's synchronous part). */
export function respond(
  res: HttpResponse,
  status: string,
  body: string,
  headers: ReadonlyArray<readonly [string, string]> = NO_HEADERS,
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
const TWIML_HEADERS = [['Content-Type', 'text/xml'], ['Cache-Control', 'no-store']] as const;
const DRAINING_HEADERS = [...TEXT, ['Retry-After', String(DRAINING_RETRY_AFTER_S)]] as const;

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
  let chunks: Buffer[] | null = null;
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
    let body: string;
    if (isLast && chunks === null) {
      // The whole body in one chunk (the usual case): decode it straight from uWS's buffer, no copy.
      body = Buffer.from(chunk).toString('utf8');
    } else {
      // The ArrayBuffer is neutered when this callback returns: copy it.
      chunks ??= [];
      if (chunk.byteLength > 0) chunks.push(Buffer.from(Buffer.from(chunk)));
      if (!isLast) return;
      body = Buffer.concat(chunks).toString('utf8');
    }
    state.isFinished = true;
    let params: Record<string, string>;
    try {
      params = parseForm(body);
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

/** PUBLIC_BASE_URL without a trailing slash, once per config: + path (+ ?query) is the URL Twilio signed. */
const publicBaseByConfig = new WeakMap<WebhookConfig, string>();

function publicBaseOf(config: WebhookConfig): string {
  let base = publicBaseByConfig.get(config);
  if (base === undefined) {
    base = publicUrlFor(config.publicBaseUrl, '');
    publicBaseByConfig.set(config, base);
  }
  return base;
}

/**
 * The incoming-call TwiML templates, built once per config with VoiceResponse; indexed by (has From ? 1 : 0) +
 * (has To ? 2 : 0), with parameters callSid, [from], [to], StreamToken. Throws (every time) on a stream URL Twilio
 * would reject, which the incoming-call handler answers with 500.
 */
const templatesByConfig = new WeakMap<WebhookConfig, readonly ConnectStreamTemplate[]>();

function incomingCallTemplatesOf(config: WebhookConfig): readonly ConnectStreamTemplate[] {
  let templates = templatesByConfig.get(config);
  if (templates === undefined) {
    const statusCallbackUrl = publicUrlFor(config.publicBaseUrl, '/webhook/stream-status');
    const templateFor = (hasFrom: boolean, hasTo: boolean): ConnectStreamTemplate =>
      createConnectStreamTemplate({
        streamUrl: config.streamUrl,
        parameterNames: ['callSid', ...(hasFrom ? ['from'] : []), ...(hasTo ? ['to'] : []), STREAM_TOKEN_PARAM],
        statusCallbackUrl,
      });
    templates = [templateFor(false, false), templateFor(true, false), templateFor(false, true), templateFor(true, true)];
    templatesByConfig.set(config, templates);
  }
  return templates;
}

function isWebhookSigned(ctx: WebhookContext, head: RequestHead, params: Record<string, string>): boolean {
  const { config } = ctx;
  if (!config.isSignatureCheckOn) return true;
  const authToken = config.twilioAuthToken;
  if (authToken === undefined || head.signature.length === 0) return false;
  const publicUrl = publicBaseOf(config) + pathAndQueryOf(head);
  return validateWebhookSignature(authToken, publicUrl, params, head.signature);
}

function refuseUnsigned(ctx: WebhookContext, res: HttpResponse, head: RequestHead): void {
  ctx.stats.webhookSignatureFailures++;
  log.warn({ event: LogEvent.SIGNATURE_FAIL, errKind: ErrorKind.SIGNATURE, path: head.path, hasSignature: head.signature.length > 0 }, 'webhook signature missing or invalid');
  respond(res, '403 Forbidden', 'Invalid X-Twilio-Signature\n', TEXT);
}

/** Reads a signed Twilio webhook's form; an unsigned one gets 403 and `onForm` is not called. */
function readSignedForm(ctx: WebhookContext, res: HttpResponse, req: HttpRequest, onForm: (params: Record<string, string>, head: RequestHead) => void): void {
  const head = readRequestHead(req);
  readForm(res, head, (params) => {
    if (!isWebhookSigned(ctx, head, params)) {
      refuseUnsigned(ctx, res, head);
      return;
    }
    onForm(params, head);
  });
}

/** POST /webhook/incoming_call: TwiML that connects the call to the media stream. */
export function handleIncomingCall(ctx: WebhookContext, res: HttpResponse, req: HttpRequest): void {
  readSignedForm(ctx, res, req, (params, head) => {
    const callSid = params['CallSid'] ?? '';
    // After the signature check: an unsigned request gets 403 whatever our state, and learns nothing about a deploy.
    // A signed one gets 503 rather than TwiML pointing at a stream this instance would refuse, so Twilio goes to the
    // number's fallback URL (or retries, with #rc/#rp) while the call can still be placed. The connection is closed so
    // that a retry through a proxy opens a new one, which can reach another instance.
    if (ctx.isDraining()) {
      countWebhookRefusedDraining();
      respond(res, '503 Service Unavailable', 'Draining: not taking new calls\n', DRAINING_HEADERS, true);
      if (!log.isLevelEnabled('info')) return;
      setImmediate(() => {
        log.info({ event: LogEvent.WEBHOOK_REJECT, reason: 'draining', callSid: callSid || undefined }, 'incoming call refused with 503: draining');
      });
      return;
    }
    if (callSid.length === 0) {
      respond(res, '400 Bad Request', 'Missing CallSid\n', TEXT);
      return;
    }
    const { config } = ctx;
    const from = params['From'] ?? '';
    const to = params['To'] ?? '';
    const token = createStreamToken(config.streamTokenSecret, callSid, Date.now(), config.streamTokenTtlMs);
    let twiml: string;
    try {
      // The template keeps each name + value under Twilio's 500-character limit; From and To only when given.
      const templates = incomingCallTemplatesOf(config);
      if (from.length > 0) {
        twiml = to.length > 0 ? templates[3]!.render([callSid, from, to, token]) : templates[1]!.render([callSid, from, token]);
      } else {
        twiml = to.length > 0 ? templates[2]!.render([callSid, to, token]) : templates[0]!.render([callSid, token]);
      }
    } catch (error) {
      log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, callSid, err: error }, 'could not build TwiML');
      respond(res, '500 Internal Server Error', 'Could not build TwiML\n', TEXT);
      return;
    }
    ctx.stats.webhooksAnswered++;
    respond(res, '200 OK', twiml, TWIML_HEADERS);
    if (!log.isLevelEnabled('info')) return;
    setImmediate(() => {
      log.info({ event: LogEvent.WEBHOOK_INCOMING, callSid, from: from || undefined, to: to || undefined }, 'incoming call answered with <Connect><Stream>');
    });
  });
}

/** Stream parameter names of call control's answers: outbound adds its direction; a return from a dial, its status. */
const OUTBOUND_STREAM_PARAMETERS = ['callSid', 'from', 'to', 'direction', LAUNCH_PARAM, STREAM_TOKEN_PARAM] as const;
const RETURN_STREAM_PARAMETERS = ['callSid', 'from', 'to', 'direction', 'dialCallStatus', STREAM_TOKEN_PARAM] as const;
type ControlStreamKind = 'outbound' | 'return';

const controlTemplatesByConfig = new WeakMap<WebhookConfig, Map<ControlStreamKind, ConnectStreamTemplate>>();

function controlStreamTemplateOf(config: WebhookConfig, kind: ControlStreamKind): ConnectStreamTemplate {
  let templates = controlTemplatesByConfig.get(config);
  if (templates === undefined) {
    templates = new Map();
    controlTemplatesByConfig.set(config, templates);
  }
  let template = templates.get(kind);
  if (template === undefined) {
    template = createConnectStreamTemplate({
      streamUrl: config.streamUrl,
      parameterNames: kind === 'outbound' ? OUTBOUND_STREAM_PARAMETERS : RETURN_STREAM_PARAMETERS,
      statusCallbackUrl: publicUrlFor(config.publicBaseUrl, '/webhook/stream-status'),
    });
    templates.set(kind, template);
  }
  return template;
}

/** Twilio's Direction (inbound, outbound-api, outbound-dial) as the stream's: inbound or outbound ('' when absent). */
function directionOf(twilioDirection: string | undefined): string {
  if (twilioDirection === undefined || twilioDirection.length === 0) return '';
  return twilioDirection === 'inbound' ? 'inbound' : 'outbound';
}

/** The launch id of a placed call's brief, from the answer URL we gave Twilio (signed with it); '' when none. */
function launchIdOf(head: RequestHead): string {
  const launchId = new URLSearchParams(head.query).get(LAUNCH_PARAM) ?? '';
  return LAUNCH_ID.test(launchId) ? launchId : '';
}

/**
 * Answers a live call with the stream TwiML (a fresh token for its CallSid), or 400 without a CallSid / 500 when the
 * TwiML cannot be built. Not refused while draining, unlike a new incoming call: this call is already ours, a 503
 * would end it, and the stream URL may reach an instance that is not draining.
 */
function answerWithStream(ctx: WebhookContext, res: HttpResponse, params: Record<string, string>, head: RequestHead, kind: ControlStreamKind): string | undefined {
  const callSid = params['CallSid'] ?? '';
  if (callSid.length === 0) {
    respond(res, '400 Bad Request', 'Missing CallSid\n', TEXT);
    return undefined;
  }
  const { config } = ctx;
  const token = createStreamToken(config.streamTokenSecret, callSid, Date.now(), config.streamTokenTtlMs);
  const from = params['From'] ?? '';
  const to = params['To'] ?? '';
  let twiml: string;
  try {
    twiml = kind === 'outbound'
      ? controlStreamTemplateOf(config, kind).render([callSid, from, to, 'outbound', launchIdOf(head), token])
      : controlStreamTemplateOf(config, kind).render([callSid, from, to, directionOf(params['Direction']), params['DialCallStatus'] ?? '', token]);
  } catch (error) {
    log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, callSid, err: error }, 'could not build TwiML');
    respond(res, '500 Internal Server Error', 'Could not build TwiML\n', TEXT);
    return undefined;
  }
  ctx.stats.webhooksAnswered++;
  respond(res, '200 OK', twiml, TWIML_HEADERS);
  return callSid;
}

/** POST /webhook/outbound_answer: an outbound call we placed was answered; connect it to the media stream. */
export function handleOutboundAnswer(ctx: WebhookContext, res: HttpResponse, req: HttpRequest): void {
  readSignedForm(ctx, res, req, (params, head) => {
    const callSid = answerWithStream(ctx, res, params, head, 'outbound');
    if (callSid === undefined || !log.isLevelEnabled('info')) return;
    setImmediate(() => {
      log.info({ event: LogEvent.WEBHOOK_INCOMING, kind: 'outbound', callSid, to: params['To'] || undefined, answeredBy: params['AnsweredBy'] }, 'outbound call answered with <Connect><Stream>');
    });
  });
}

/** DialCallStatus values meaning the person took the call: the bridge happened and is over, so the call ends. */
const DIAL_TAKEN = new Set(['completed', 'answered']);

/**
 * POST /webhook/dial_action: a transfer's <Dial> has ended. Completed (the person answered and the bridge is over):
 * <Hangup/>. Otherwise (no-answer, busy, failed, canceled): the call comes back to the agent, on a fresh stream.
 */
export function handleDialAction(ctx: WebhookContext, res: HttpResponse, req: HttpRequest): void {
  readSignedForm(ctx, res, req, (params, head) => {
    const dialCallStatus = params['DialCallStatus'] ?? '';
    if (dialCallStatus.length === 0) {
      respond(res, '400 Bad Request', 'Missing DialCallStatus\n', TEXT);
      return;
    }
    let callSid: string | undefined = params['CallSid'];
    const isTaken = DIAL_TAKEN.has(dialCallStatus);
    if (isTaken) {
      ctx.stats.webhooksAnswered++;
      respond(res, '200 OK', hangupTwiml(), TWIML_HEADERS);
    } else {
      callSid = answerWithStream(ctx, res, params, head, 'return');
      if (callSid === undefined) return;
    }
    if (!log.isLevelEnabled('info')) return;
    setImmediate(() => {
      log.info({
        event: LogEvent.WEBHOOK_STATUS, kind: 'dial', callSid, dialCallStatus, dialCallSid: params['DialCallSid'],
        dialCallDurationS: params['DialCallDuration'], outcome: isTaken ? 'hangup' : 'back-to-agent',
      }, isTaken ? 'transfer completed: hanging up' : 'transfer not taken: the call comes back to the agent');
    });
  });
}

/** POST /webhook/whisper?summary=..&lang=..&sig=..: what the person who answers a warm transfer hears first. */
export function handleWhisper(ctx: WebhookContext, res: HttpResponse, req: HttpRequest): void {
  readSignedForm(ctx, res, req, (params, head) => {
    const { config } = ctx;
    const whisper = readWhisperQuery(config.streamTokenSecret, head.query, config.isSignatureCheckOn);
    if (whisper === null) {
      ctx.stats.webhookSignatureFailures++;
      log.warn({ event: LogEvent.SIGNATURE_FAIL, errKind: ErrorKind.SIGNATURE, path: head.path, reason: 'whisper-query' }, 'whisper query not made by this server or over its bounds');
      respond(res, '403 Forbidden', 'Invalid whisper query\n', TEXT);
      return;
    }
    ctx.stats.webhooksAnswered++;
    respond(res, '200 OK', whisperTwiml({ summary: whisper.summary, language: whisper.language }), TWIML_HEADERS);
    if (!log.isLevelEnabled('info')) return;
    setImmediate(() => {
      log.info({ event: LogEvent.WEBHOOK_STATUS, kind: 'whisper', callSid: params['CallSid'], parentCallSid: params['ParentCallSid'], summaryChars: whisper.summary.length }, 'warm transfer whisper answered');
    });
  });
}

/** POST /webhook/amd: async AMD's verdict; 204 at once, then logged and handed to ctx.onMachineDetected. */
export function handleMachineDetection(ctx: WebhookContext, res: HttpResponse, req: HttpRequest): void {
  readSignedForm(ctx, res, req, (params, head) => {
    ctx.stats.webhooksAnswered++;
    respond(res, '204 No Content', '');
    setImmediate(() => {
      const callSid = params['CallSid'] ?? '';
      const answeredBy = parseAnsweredBy(params['AnsweredBy']);
      const durationText = params['MachineDetectionDuration'];
      const durationMs = durationText !== undefined && /^\d+$/.test(durationText) ? Number(durationText) : undefined;
      if (callSid.length === 0 || answeredBy === undefined) {
        log.warn({ event: LogEvent.WEBHOOK_STATUS, kind: 'amd', callSid: callSid || undefined, answeredBy: params['AnsweredBy'] }, 'AMD callback without a CallSid or a known AnsweredBy: ignored');
        return;
      }
      log.info({ event: LogEvent.WEBHOOK_STATUS, kind: 'amd', callSid, answeredBy, machineDetectionDurationMs: durationMs }, 'answering machine detection result');
      try {
        ctx.onMachineDetected?.({ callSid, answeredBy, machineDetectionDurationMs: durationMs });
      } catch (error) {
        log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, callSid, err: error }, 'onMachineDetected threw');
      }
    });
  });
}

/** POST /webhook/status and /webhook/stream-status: 204 at once, the payload is handled after the response. */
export function handleStatusCallback(ctx: WebhookContext, res: HttpResponse, req: HttpRequest, kind: 'call' | 'stream'): void {
  readSignedForm(ctx, res, req, (params, head) => {
    ctx.stats.webhooksAnswered++;
    respond(res, '204 No Content', '');
    const onCallStatus = ctx.onCallStatus;
    const callSid = params['CallSid'];
    const callStatus = params['CallStatus'];
    if (kind === 'call' && onCallStatus !== undefined && callSid !== undefined && callStatus !== undefined) {
      const durationS = Number(params['CallDuration']);
      setImmediate(() => onCallStatus({
        callSid, atMs: Date.now(), status: callStatus,
        ...(params['Direction'] !== undefined ? { direction: params['Direction'] } : {}),
        ...(params['From'] !== undefined ? { from: params['From'] } : {}),
        ...(params['To'] !== undefined ? { to: params['To'] } : {}),
        // Twilio ends a call at 24 h: anything else is not a duration (and must not reach the database)
        ...(Number.isInteger(durationS) && durationS >= 0 && durationS <= MAX_CALL_DURATION_S ? { durationMs: durationS * 1000 } : {}),
      }));
    }
    // Handling the payload is logging it: when that line would be dropped (LOG_LEVEL above info) there is nothing to do.
    if (!log.isLevelEnabled('info')) return;
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

/**
 * A GET whose body is built asynchronously (the totals come from the supervisor), so it registers onAborted and
 * answers only a request that is still there.
 */
function respondWhenBuilt(res: HttpResponse, path: string, contentType: string, buildBody: () => Promise<string>): void {
  const state = { isAborted: false };
  res.onAborted(() => {
    state.isAborted = true;
  });
  buildBody().then(
    (body) => {
      if (state.isAborted) return;
      respond(res, '200 OK', body, [['Content-Type', contentType], ['Cache-Control', 'no-store']]);
    },
    (error: unknown) => {
      log.error({ event: LogEvent.WEBHOOK_REJECT, errKind: ErrorKind.INTERNAL, path, err: error }, `could not build ${path}`);
      if (state.isAborted) return;
      respond(res, '500 Internal Server Error', `Could not build ${path}\n`, TEXT);
    },
  );
}

/** GET /version: JSON health and counters. */
export function handleVersion(res: HttpResponse, buildBody: () => Promise<object>): void {
  respondWhenBuilt(res, '/version', 'application/json', async () => JSON.stringify(await buildBody()));
}

/** GET /metrics: Prometheus text, summed over every edge thread. */
export function handleMetrics(res: HttpResponse, buildBody: () => Promise<string>): void {
  respondWhenBuilt(res, '/metrics', PROMETHEUS_CONTENT_TYPE, buildBody);
}
