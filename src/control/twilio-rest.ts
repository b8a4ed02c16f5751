// Twilio's REST API, through the real `twilio` SDK: hang a call up, redirect it to new TwiML (a transfer), place an
// outbound call (optionally with Twilio's async answering-machine detection). One small client per process or thread;
// the call engine never sees the SDK. TWILIO_API_BASE_URL is applied the way the SDK documents for changing its
// requests, a custom httpClient: a subclass of the SDK's own RequestClient (so auth, form encoding, agents and the
// response shape stay the SDK's) that rewrites the https://api.twilio.com origin (or a regional api.*.twilio.com one)
// to the configured base, path prefix included. Every request has a hard deadline (an AbortSignal on the SDK's axios
// request, beside the SDK's socket timeout), and every failure becomes a TwilioRestError with Twilio's error code,
// the HTTP status and whether trying again can help.
import RequestClient from 'twilio/lib/base/RequestClient.js';
import Twilio from 'twilio/lib/rest/Twilio.js';
import { DEFAULT_TWILIO_API_TIMEOUT_MS, type Config } from '../config.js';

/** Twilio's error for a resource that does not exist (an unknown or long-gone CallSid). */
export const TWILIO_ERROR_NOT_FOUND = 20404;
/** Twilio's error for updating a call that is no longer in progress ("Call is not in-progress"). */
export const TWILIO_ERROR_CALL_NOT_IN_PROGRESS = 21220;
/** Twilio's own API origin, what TWILIO_API_BASE_URL replaces. */
export const TWILIO_API_ORIGIN = 'https://api.twilio.com';

/** api.twilio.com and its regional and edge forms (api.ie1.twilio.com, api.dublin.ie1.twilio.com). */
const TWILIO_API_HOST = /^api(\.[a-z0-9-]+){0,2}\.twilio\.com$/i;

/**
 * The SDK's request URI with the Twilio API origin replaced by `apiBaseUrl` (scheme, host, port and any path prefix;
 * a trailing slash is ignored). URIs on other hosts are returned unchanged.
 */
export function rewriteTwilioApiUri(uri: string, apiBaseUrl: string): string {
  const url = new URL(uri);
  if (!TWILIO_API_HOST.test(url.hostname)) return uri;
  return apiBaseUrl.replace(/\/+$/, '') + url.pathname + url.search;
}

export type TwilioRestOperation = 'hang-up' | 'redirect' | 'place-call';
/** rejected: Twilio answered with an error. timeout: no answer in time. network: no connection or a broken one. */
export type TwilioRestErrorKind = 'rejected' | 'timeout' | 'network';

/** A failed REST call, whatever failed: Twilio's answer, the deadline, or the network. */
export class TwilioRestError extends Error {
  override readonly name = 'TwilioRestError';
  readonly operation: TwilioRestOperation;
  readonly kind: TwilioRestErrorKind;
  /** Twilio's error code (20404, 21220, 20429...), when Twilio answered with one. */
  readonly twilioCode: number | undefined;
  /** The HTTP status of Twilio's answer; undefined when there was none. */
  readonly httpStatus: number | undefined;
  /** Twilio's documentation link for the code. */
  readonly moreInfo: string | undefined;
  /**
   * Whether the same request may succeed later: rate limits (429), Twilio's 5xx, network failures and timeouts. A
   * place-call that timed out is not retryable: Twilio may have placed the call (see mayHaveTakenEffect).
   */
  readonly isRetryable: boolean;
  /** The request may have reached Twilio and acted (a timeout or a connection broken mid-answer). */
  readonly mayHaveTakenEffect: boolean;
  readonly callSid: string | undefined;

  constructor(fields: {
    operation: TwilioRestOperation; kind: TwilioRestErrorKind; message: string; twilioCode?: number | undefined;
    httpStatus?: number | undefined; moreInfo?: string | undefined; isRetryable: boolean; mayHaveTakenEffect: boolean;
    callSid?: string | undefined; cause?: unknown;
  }) {
    super(fields.message, { cause: fields.cause });
    this.operation = fields.operation;
    this.kind = fields.kind;
    this.twilioCode = fields.twilioCode;
    this.httpStatus = fields.httpStatus;
    this.moreInfo = fields.moreInfo;
    this.isRetryable = fields.isRetryable;
    this.mayHaveTakenEffect = fields.mayHaveTakenEffect;
    this.callSid = fields.callSid;
  }
}

/** Network error codes meaning the request never reached a server (safe to retry, nothing happened). */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ERR_CANCELED', 'ESOCKETTIMEDOUT']);

/** What the SDK threw (a RestException or TwilioServiceException with status and code, or axios's error) as ours. */
export function toTwilioRestError(error: unknown, operation: TwilioRestOperation, callSid?: string): TwilioRestError {
  if (error instanceof TwilioRestError) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    status?: unknown; code?: unknown; message?: unknown; moreInfo?: unknown; detail?: unknown; name?: unknown;
  };
  const where = callSid === undefined ? operation : `${operation} ${callSid}`;
  // Twilio answered: RestException (legacy JSON) and TwilioServiceException (RFC 9457) both carry a numeric status.
  if (typeof e.status === 'number') {
    const httpStatus = e.status;
    const twilioCode = typeof e.code === 'number' ? e.code : undefined;
    const text = typeof e.message === 'string' && e.message.length > 0 ? e.message : typeof e.detail === 'string' ? e.detail : 'no message';
    const isRetryable = httpStatus === 429 || httpStatus >= 500 || twilioCode === 20429;
    return new TwilioRestError({
      operation, kind: 'rejected', callSid, httpStatus, twilioCode, isRetryable, mayHaveTakenEffect: httpStatus >= 500,
      moreInfo: typeof e.moreInfo === 'string' ? e.moreInfo : undefined,
      message: `Twilio refused ${where}: HTTP ${httpStatus}${twilioCode === undefined ? '' : `, code ${twilioCode}`}: ${text}`,
      cause: error,
    });
  }
  const code = typeof e.code === 'string' ? e.code : '';
  const text = typeof e.message === 'string' ? e.message : String(error);
  if (TIMEOUT_CODES.has(code) || e.name === 'CanceledError' || e.name === 'TimeoutError') {
    return new TwilioRestError({
      operation, kind: 'timeout', callSid, isRetryable: operation !== 'place-call', mayHaveTakenEffect: true,
      message: `Twilio did not answer ${where} in time (${code || 'timeout'})`, cause: error,
    });
  }
  const wasNotSent = NOT_SENT_CODES.has(code);
  return new TwilioRestError({
    operation, kind: 'network', callSid, isRetryable: wasNotSent || operation !== 'place-call', mayHaveTakenEffect: !wasNotSent,
    message: `could not reach Twilio for ${where}${code ? ` (${code})` : ''}: ${text}`, cause: error,
  });
}

/** The SDK's RequestClient with a whole-request deadline and, when a base URL is given, Twilio's origin rewritten. */
class TwilioApiHttpClient extends RequestClient {
  private readonly apiBaseUrl: string | undefined;

  constructor(apiBaseUrl: string | undefined, timeoutMs: number) {
    // timeout: the SDK's socket and response timeout; the signal below bounds the whole request (a trickling answer).
    super({ timeout: timeoutMs, keepAlive: true, autoRetry: false });
    this.apiBaseUrl = apiBaseUrl;
    this.axios.interceptors.request.use((config) => {
      config.signal ??= AbortSignal.timeout(timeoutMs);
      return config;
    });
  }

  override request<TData>(opts: RequestClient.RequestOptions<TData>) {
    const uri = this.apiBaseUrl === undefined ? opts.uri : rewriteTwilioApiUri(opts.uri, this.apiBaseUrl);
    return super.request<TData>({ ...opts, uri });
  }
}

export interface TwilioRestOptions {
  accountSid: string;
  authToken: string;
  /** TWILIO_API_BASE_URL: where the API requests go instead of https://api.twilio.com (undefined: Twilio's). */
  apiBaseUrl?: string | undefined;
  /** TWILIO_CALLER_ID: the From of an outbound call that names none (E.164). */
  callerId?: string | undefined;
  /** Deadline of each request (default DEFAULT_TWILIO_API_TIMEOUT_MS). */
  timeoutMs?: number | undefined;
}

/** How a hang-up ended: hung up now, or the call was already over (Twilio's 20404 or 21220), which counts as done. */
export type HangUpResult =
  | { outcome: 'hung-up'; callStatus: string }
  | { outcome: 'already-over'; reason: 'not-found' | 'not-in-progress'; twilioCode: number };

/** Async answering-machine detection for an outbound call: Twilio POSTs AnsweredBy to `statusCallbackUrl`. */
export interface MachineDetectionOptions {
  /** Our webhook for the verdict (AsyncAmdStatusCallback), e.g. PUBLIC_BASE_URL + /webhook/amd. */
  statusCallbackUrl: string;
  /** Seconds Twilio tries to decide (MachineDetectionTimeout, 3..59; Twilio's default 30). */
  timeoutS?: number;
}

export interface PlaceCallOptions {
  /** E.164 number, or a sip: / client: address. */
  to: string;
  /** Caller ID; TWILIO_CALLER_ID when not given. */
  from?: string | undefined;
  /** Our webhook Twilio asks for TwiML once the call is answered (/webhook/outbound_answer). */
  url: string;
  /** Our call status webhook (/webhook/status); Twilio posts initiated, ringing, answered and completed there. */
  statusCallback: string;
  /** Seconds to let it ring before Twilio gives up (Twilio's default 60). */
  ringTimeoutS?: number | undefined;
  /** Async AMD with DetectMessageEnd (the verdict comes after the greeting, at the beep), when given. */
  machineDetection?: MachineDetectionOptions | undefined;
}

/** The status callback events asked for on an outbound call. */
export const OUTBOUND_STATUS_EVENTS: readonly string[] = ['initiated', 'ringing', 'answered', 'completed'];

export interface TwilioRest {
  hangUp(callSid: string): Promise<HangUpResult>;
  /** Replaces what the call is doing with `twiml` (a transfer's <Dial>); resolves with the call's status. */
  redirect(callSid: string, twiml: string): Promise<{ callStatus: string }>;
  /** Places an outbound call; resolves with its CallSid. */
  placeCall(options: PlaceCallOptions): Promise<string>;
}

/**
 * The client's options from the configuration, or undefined when Twilio's REST API cannot be used (no
 * TWILIO_ACCOUNT_SID or TWILIO_AUTH_TOKEN): then nothing can hang up, transfer or place a call.
 */
export function twilioRestOptionsFromConfig(
  config: Pick<Config, 'twilioAccountSid' | 'twilioAuthToken' | 'twilioApi'>,
): TwilioRestOptions | undefined {
  if (config.twilioAccountSid === undefined || config.twilioAuthToken === undefined) return undefined;
  return {
    accountSid: config.twilioAccountSid,
    authToken: config.twilioAuthToken,
    apiBaseUrl: config.twilioApi.baseUrl,
    callerId: config.twilioApi.callerId,
    timeoutMs: config.twilioApi.timeoutMs,
  };
}

const CALL_SID = /^CA[0-9a-fA-F]{32}$/;

function checkCallSid(callSid: string): void {
  // the sid goes into the request path: refuse anything that is not a CallSid rather than send it
  if (!CALL_SID.test(callSid)) throw new RangeError(`callSid must be CA followed by 32 hex digits (got ${JSON.stringify(callSid.slice(0, 40))})`);
}

export function createTwilioRest(options: TwilioRestOptions): TwilioRest {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TWILIO_API_TIMEOUT_MS;
  const httpClient = new TwilioApiHttpClient(options.apiBaseUrl, timeoutMs);
  // env: {} and explicit credentials: nothing is picked up from process.env by surprise (TWILIO_REGION and TWILIO_EDGE
  // are still read by the SDK itself; with a base URL the rewrite replaces whichever api host they produce).
  const client = new Twilio(options.accountSid, options.authToken, { httpClient, env: {}, autoRetry: false });
  const callerId = options.callerId;

  return {
    async hangUp(callSid) {
      checkCallSid(callSid);
      try {
        const call = await client.calls(callSid).update({ status: 'completed' });
        return { outcome: 'hung-up', callStatus: call.status };
      } catch (error) {
        const failure = toTwilioRestError(error, 'hang-up', callSid);
        if (failure.twilioCode === TWILIO_ERROR_NOT_FOUND) return { outcome: 'already-over', reason: 'not-found', twilioCode: TWILIO_ERROR_NOT_FOUND };
        if (failure.twilioCode === TWILIO_ERROR_CALL_NOT_IN_PROGRESS) {
          return { outcome: 'already-over', reason: 'not-in-progress', twilioCode: TWILIO_ERROR_CALL_NOT_IN_PROGRESS };
        }
        throw failure;
      }
    },

    async redirect(callSid, twiml) {
      checkCallSid(callSid);
      try {
        const call = await client.calls(callSid).update({ twiml });
        return { callStatus: call.status };
      } catch (error) {
        throw toTwilioRestError(error, 'redirect', callSid);
      }
    },

    async placeCall(opts) {
      const from = opts.from ?? callerId;
      if (from === undefined || from.length === 0) throw new RangeError('placeCall needs a from number: pass one or set TWILIO_CALLER_ID');
      if (opts.to.length === 0) throw new RangeError('placeCall needs a to number');
      const amd = opts.machineDetection;
      try {
        const call = await client.calls.create({
          to: opts.to,
          from,
          url: opts.url,
          method: 'POST',
          statusCallback: opts.statusCallback,
          statusCallbackMethod: 'POST',
          statusCallbackEvent: [...OUTBOUND_STATUS_EVENTS],
          ...(opts.ringTimeoutS !== undefined ? { timeout: opts.ringTimeoutS } : {}),
          ...(amd !== undefined
            ? {
                // DetectMessageEnd: a machine's verdict comes at the end of its greeting (the beep), when a message can
                // be left; async: the call is connected to our stream at once and the verdict arrives beside it.
                machineDetection: 'DetectMessageEnd',
                asyncAmd: 'true',
                asyncAmdStatusCallback: amd.statusCallbackUrl,
                asyncAmdStatusCallbackMethod: 'POST',
                ...(amd.timeoutS !== undefined ? { machineDetectionTimeout: amd.timeoutS } : {}),
              }
            : {}),
        });
        return call.sid;
      } catch (error) {
        throw toTwilioRestError(error, 'place-call');
      }
    },
  };
}
