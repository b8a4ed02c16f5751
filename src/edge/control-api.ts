// The control API's HTTP side, for people and programs: `Authorization: Bearer CONTROL_API_KEY` (compared in constant
// time); without a key configured every /api path answers 404 (main.ts says so at start). Commands on a live call,
// wherever it lives (the edge thread that got the request routes them through the main thread):
//   POST /api/calls/{callSid}/hangup    { "goodbye"?: "..." }   the goodbye is said first, the call ends once heard
//   POST /api/calls/{callSid}/say       { "text": "..." }
//   POST /api/calls/{callSid}/transfer  { "to": "+9725...", "warm"?: true, "line"?: "...", "summary"?: "..." }
//   POST /api/calls                     { "to": "+9725...", "from"?: "+1...", "detectMachine"?: true,
//                                         "greeting"?: "...", "context"?: { ... } }  -> { callSid }
//   GET  /api/calls?limit=&before=      { calls: [...], next }   recent first (the records)
//   GET  /api/calls/{callSid}           one call's record: its turns (caller and agent, with what was heard) and events
//   GET  /api/messages?limit=&before=   { messages: [...], next }   messages callers left (take_message), recent first
// Answers are JSON; errors carry a stable `code` and a message; bad input is 400 naming the field, an unknown call 404.
// Bodies are read with onData, at most MAX_API_BODY_BYTES.
import { timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { CallCommand, CommandResult } from '../call/events.js';
import { ErrorKind, LogEvent, log } from '../observability/log.js';
import type { OutboundCaller } from '../control/outbound.js';
import { MAX_BRIEF_CONTEXT_BYTES, MAX_BRIEF_GREETING_CHARS } from '../control/outbound-briefs.js';
import type { RecordsAnswer, RecordsQuery } from '../control/plane.js';
import { TwilioRestError } from '../control/twilio-rest-basics.js';
import type { HttpRequest, HttpResponse } from './uws.js';
import { respond } from './webhooks.js';

export const MAX_API_BODY_BYTES = 16 * 1024;
const JSON_HEADERS = [['Content-Type', 'application/json; charset=utf-8']] as const;
/** A callSid as Twilio writes it. */
const CALL_SID = /^CA[0-9a-fA-F]{32}$/;
/** A phone number (E.164) or a SIP address. */
const DIAL_TARGET = /^(\+[1-9]\d{6,14}|sips?:[^\s<>"]{3,256})$/;

export interface ControlApiContext {
  /** CONTROL_API_KEY; undefined: the API is off (404). */
  apiKey: string | undefined;
  routeCommand?: (callSid: string, command: CallCommand) => Promise<CommandResult>;
  /** Places a call (Twilio credentials configured); undefined: POST /api/calls answers not-supported. */
  placeCall?: OutboundCaller;
  /** Reads the call records (the main thread's reader); undefined: the reads answer records-off. */
  queryRecords?: (query: RecordsQuery) => Promise<RecordsAnswer>;
}

type ApiErrorCode = 'not-found' | 'unauthorized' | 'bad-request' | 'unknown-call' | 'call-ended' | 'not-supported' | 'too-large' | 'internal'
  | 'twilio-error' | 'records-off' | 'records-error';

const STATUS: Record<ApiErrorCode, string> = {
  'not-found': '404 Not Found',
  unauthorized: '401 Unauthorized',
  'bad-request': '400 Bad Request',
  'unknown-call': '404 Not Found',
  'call-ended': '409 Conflict',
  'not-supported': '422 Unprocessable Entity',
  'too-large': '413 Content Too Large',
  internal: '500 Internal Server Error',
  'twilio-error': '502 Bad Gateway',
  'records-off': '503 Service Unavailable',
  'records-error': '503 Service Unavailable',
};

function respondJson(res: HttpResponse, status: string, body: unknown): void {
  respond(res, status, `${JSON.stringify(body)}\n`, JSON_HEADERS);
}

function respondError(res: HttpResponse, code: ApiErrorCode, message: string, field?: string): void {
  respondJson(res, STATUS[code], { error: { code, message, ...(field !== undefined ? { field } : {}) } });
}

function isAuthorized(apiKey: string, header: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(apiKey);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const text = (max: number) => z.string().trim().min(1).max(max);
const COMMAND_BODIES = {
  hangup: z.object({ goodbye: text(500).optional(), reason: text(100).optional() }).strict(),
  say: z.object({ text: text(1000) }).strict(),
  transfer: z.object({
    to: z.string().regex(DIAL_TARGET, 'must be a phone number in E.164 (+9725...) or a sip: address'),
    warm: z.boolean().optional(), line: text(500).optional(), summary: text(300).optional(),
  }).strict(),
} as const;
type CommandName = keyof typeof COMMAND_BODIES;

function toCommand(name: CommandName, body: Record<string, unknown>): CallCommand {
  switch (name) {
    case 'hangup':
      return { kind: 'hang-up', reason: (body['reason'] as string | undefined) ?? 'api', ...(body['goodbye'] !== undefined ? { goodbye: body['goodbye'] as string } : {}) };
    case 'say':
      return { kind: 'say', text: body['text'] as string };
    case 'transfer':
      return {
        kind: 'transfer', to: body['to'] as string, isWarm: (body['warm'] as boolean | undefined) ?? false,
        ...(body['line'] !== undefined ? { line: body['line'] as string } : {}),
        ...(body['summary'] !== undefined ? { summary: body['summary'] as string } : {}),
      };
  }
}

/** Reads a JSON object body (at most MAX_API_BODY_BYTES); answers 413/400 itself. Registers onAborted. */
function readJson(res: HttpResponse, onBody: (body: Record<string, unknown>) => void, state: { isAborted: boolean }): void {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let isDone = false;
  res.onData((chunk, isLast) => {
    if (isDone || state.isAborted) return;
    bytes += chunk.byteLength;
    if (bytes > MAX_API_BODY_BYTES) {
      isDone = true;
      respondError(res, 'too-large', `the body is over ${MAX_API_BODY_BYTES} bytes`);
      return;
    }
    chunks.push(Buffer.from(chunk.slice(0)));
    if (!isLast) return;
    isDone = true;
    const raw = Buffer.concat(chunks).toString('utf8').trim();
    let parsed: unknown;
    try {
      parsed = raw.length === 0 ? {} : JSON.parse(raw);
    } catch {
      respondError(res, 'bad-request', 'the body must be JSON');
      return;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      respondError(res, 'bad-request', 'the body must be a JSON object');
      return;
    }
    onBody(parsed as Record<string, unknown>);
  });
}

/** Every request under /api/. Returns after answering or after registering the body reader. */
export function handleControlApi(ctx: ControlApiContext, res: HttpResponse, req: HttpRequest, path: string, method: string, query = ''): void {
  if (ctx.apiKey === undefined) {
    respondError(res, 'not-found', 'the control API is off (set CONTROL_API_KEY)');
    return;
  }
  if (!isAuthorized(ctx.apiKey, req.getHeader('authorization'))) {
    respondError(res, 'unauthorized', 'Authorization: Bearer <CONTROL_API_KEY> is missing or wrong');
    return;
  }
  const parts = path.split('/').filter((p) => p.length > 0); // api, calls, {sid}, {command}
  if (parts.length === 2 && parts[0] === 'api' && parts[1] === 'calls' && method === 'POST') {
    handlePlaceCall(ctx, res);
    return;
  }
  if (parts.length === 2 && parts[0] === 'api' && parts[1] === 'messages' && method === 'GET') {
    handleRecordsRead(ctx, res, undefined, query, 'messages');
    return;
  }
  if (parts[0] === 'api' && parts[1] === 'calls' && method === 'GET' && (parts.length === 2 || parts.length === 3)) {
    handleRecordsRead(ctx, res, parts.length === 3 ? parts[2]! : undefined, query);
    return;
  }
  if (parts[0] !== 'api' || parts[1] !== 'calls' || parts.length !== 4 || method !== 'POST') {
    respondError(res, 'not-found', `no ${method} ${path} in the control API`);
    return;
  }
  const callSid = parts[2]!;
  const name = parts[3] as CommandName;
  const schema = COMMAND_BODIES[name];
  if (schema === undefined) {
    respondError(res, 'not-found', `no command ${JSON.stringify(parts[3])} (hangup, say, transfer)`);
    return;
  }
  if (!CALL_SID.test(callSid)) {
    respondError(res, 'bad-request', 'callSid must be CA followed by 32 hex digits', 'callSid');
    return;
  }
  const state = { isAborted: false };
  res.onAborted(() => {
    state.isAborted = true;
  });
  readJson(res, (body) => {
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys?.join(', ') : undefined);
      respondError(res, 'bad-request', issue?.message ?? 'invalid body', field);
      return;
    }
    const route = ctx.routeCommand;
    if (route === undefined) {
      respondError(res, 'not-supported', 'this server takes no call commands');
      return;
    }
    route(callSid, toCommand(name, parsed.data as Record<string, unknown>)).then(
      (result) => {
        if (state.isAborted) return;
        if (result.ok) respondJson(res, '200 OK', { ok: true, callSid, command: name });
        else respondError(res, result.code === 'bad-command' ? 'bad-request' : result.code, result.message);
      },
      (error: unknown) => {
        log.error({ event: LogEvent.CALL_COMMAND, errKind: ErrorKind.INTERNAL, callSid, err: error }, 'command routing failed');
        if (!state.isAborted) respondError(res, 'internal', 'the command could not be routed');
      },
    );
  }, state);
}

const PLACE_CALL_BODY = z.object({
  to: z.string().regex(DIAL_TARGET, 'must be a phone number in E.164 (+9725...) or a sip: address'),
  from: z.string().regex(/^\+[1-9]\d{6,14}$/, 'must be a phone number in E.164').optional(),
  detectMachine: z.boolean().optional(),
  greeting: text(MAX_BRIEF_GREETING_CHARS).optional(),
  context: z.record(z.string(), z.unknown())
    .refine((context) => Buffer.byteLength(JSON.stringify(context)) <= MAX_BRIEF_CONTEXT_BYTES, `must be at most ${MAX_BRIEF_CONTEXT_BYTES} bytes as JSON`)
    .optional(),
}).strict();

/** POST /api/calls: places a call; answers { callSid } once Twilio has created it. */
function handlePlaceCall(ctx: ControlApiContext, res: HttpResponse): void {
  const state = { isAborted: false };
  res.onAborted(() => {
    state.isAborted = true;
  });
  readJson(res, (body) => {
    const parsed = PLACE_CALL_BODY.safeParse(body);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = issue?.path.join('.') || (issue?.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys?.join(', ') : undefined);
      respondError(res, 'bad-request', issue?.message ?? 'invalid body', field);
      return;
    }
    const placeCall = ctx.placeCall;
    if (placeCall === undefined) {
      respondError(res, 'not-supported', 'outbound calls need TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN');
      return;
    }
    const { to, from, detectMachine, greeting, context } = parsed.data;
    const brief = greeting !== undefined || context !== undefined
      ? { ...(greeting !== undefined ? { greeting } : {}), ...(context !== undefined ? { context } : {}) }
      : undefined;
    placeCall({
      to, ...(from !== undefined ? { from } : {}), ...(detectMachine !== undefined ? { detectMachine } : {}), ...(brief !== undefined ? { brief } : {}),
    }).then(
      (callSid) => {
        if (!state.isAborted) respondJson(res, '201 Created', { callSid });
      },
      (error: unknown) => {
        if (state.isAborted) return;
        if (error instanceof TwilioRestError) {
          respondJson(res, STATUS['twilio-error'], { error: { code: 'twilio-error', message: error.message, twilioCode: error.twilioCode ?? null } });
          return;
        }
        respondError(res, 'internal', 'the call could not be placed');
      },
    );
  }, state);
}

/** GET /api/calls, GET /api/calls/{callSid} and GET /api/messages: the records, read by the main thread. */
function handleRecordsRead(ctx: ControlApiContext, res: HttpResponse, callSid: string | undefined, rawQuery: string, list: 'list' | 'messages' = 'list'): void {
  const queryRecords = ctx.queryRecords;
  if (queryRecords === undefined) {
    respondError(res, 'records-off', 'call records are off (RECORDS=off)');
    return;
  }
  let query: RecordsQuery;
  if (callSid !== undefined) {
    if (!CALL_SID.test(callSid)) {
      respondError(res, 'bad-request', 'callSid must be CA followed by 32 hex digits', 'callSid');
      return;
    }
    query = { op: 'get', callSid };
  } else {
    const params = new URLSearchParams(rawQuery);
    const limitText = params.get('limit');
    const before = params.get('before');
    const limit = limitText === null ? undefined : Number(limitText);
    if (limit !== undefined && !Number.isInteger(limit)) {
      respondError(res, 'bad-request', 'limit must be an integer', 'limit');
      return;
    }
    const page = { ...(limit !== undefined ? { limit } : {}), ...(before !== null ? { before } : {}) };
    query = list === 'list' ? { op: 'list', ...page } : { op: 'messages', ...page };
  }
  const state = { isAborted: false };
  res.onAborted(() => {
    state.isAborted = true;
  });
  queryRecords(query).then((answer) => {
    if (state.isAborted) return;
    if (answer.ok) respondJson(res, '200 OK', answer.body);
    else respondError(res, answer.code, answer.message, answer.field);
  }, () => {
    if (!state.isAborted) respondError(res, 'internal', 'the records could not be read');
  });
}
