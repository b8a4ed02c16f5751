// What a caller of Twilio's REST API needs without loading the SDK: the client's options (and whether the config has
// credentials at all), the typed error every failure becomes, and the error codes that mean "already over". The SDK
// itself (src/control/twilio-rest.ts, heavy: every API domain) is imported only where a client is built, lazily, so an
// edge thread without Twilio credentials never loads it (its heap is what its full GCs walk).
import { type Config } from '../config.js';

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
