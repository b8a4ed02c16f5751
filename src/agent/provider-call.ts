// What every provider call shares: a deadline of its own joined with the turn's AbortSignal (so that both a
// barge-in and a provider timeout end the HTTP request itself), and the translation of whatever an SDK throws into
// one ProviderError that says what kind of failure it was and whether a retry can help. The SDKs' own timeouts and
// retries are switched off: their defaults (2 retries, 10 minutes) would break a 2-second fallback.
import { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ProviderError } from './types.js';

/**
 * The reason a deadline aborts with (recognised by toProviderError): a stage's own limit, or the caller turn's
 * shared budget (turn-budget.ts), which reaches a provider call as its parent signal's reason.
 */
export class DeadlineExceeded extends Error {
  override readonly name = 'DeadlineExceeded';
  constructor(readonly timeoutMs: number, readonly scope: 'stage' | 'turn' = 'stage') {
    super(scope === 'turn' ? `the turn's deadline of ${timeoutMs} ms (from the end of speech) passed` : `no answer within ${timeoutMs} ms`);
  }
}

/** Whether `signal` was aborted by a deadline (its own or a parent's), as opposed to a barge-in or hang-up. */
export function isDeadlineAbort(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true && signal.reason instanceof DeadlineExceeded;
}

export interface Deadline {
  /** Aborted by the caller's signal or when the time is up. */
  readonly signal: AbortSignal;
  /** Whether the time ran out (as opposed to the caller aborting). */
  readonly isExpired: boolean;
  /** Starts the clock again (a streamed reply: time allowed between two chunks). */
  restart(): void;
  /** Stops the timer; call when the request is over. */
  dispose(): void;
}

/** A timer-backed AbortSignal joined with `parent`. */
export function startDeadline(parent: AbortSignal, timeoutMs: number): Deadline {
  const controller = new AbortController();
  let isExpired = false;
  const expire = (): void => {
    isExpired = true;
    controller.abort(new DeadlineExceeded(timeoutMs));
  };
  let timer: NodeJS.Timeout | undefined = setTimeout(expire, timeoutMs);
  const onParentAbort = (): void => controller.abort(parent.reason);
  if (parent.aborted) onParentAbort();
  else parent.addEventListener('abort', onParentAbort, { once: true });
  return {
    signal: controller.signal,
    get isExpired() {
      return isExpired;
    },
    restart() {
      if (timer === undefined || controller.signal.aborted) return;
      clearTimeout(timer);
      timer = setTimeout(expire, timeoutMs);
    },
    dispose() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      parent.removeEventListener('abort', onParentAbort);
    },
  };
}

/**
 * Any error from a provider call -> ProviderError. `deadline` tells a timeout from the caller's abort (both abort the
 * same signal); an error that already is a ProviderError is returned as it is.
 */
export function toProviderError(provider: string, error: unknown, deadline?: Deadline): ProviderError {
  if (error instanceof ProviderError) return error;
  const cause = { cause: error };
  // the stage's own time ran out, or the turn's shared budget did (it arrives as the parent signal's reason)
  if (deadline?.isExpired === true || error instanceof DeadlineExceeded || isDeadlineAbort(deadline?.signal)) {
    const reason = error instanceof DeadlineExceeded ? error : deadline?.signal.reason as Error | undefined;
    return new ProviderError(`${provider}: ${reason?.message ?? 'timed out'}`, provider, 'timeout', true, undefined, cause);
  }
  if (deadline?.signal.aborted === true || error instanceof APIUserAbortError || isAbortError(error)) {
    return new ProviderError(`${provider}: aborted`, provider, 'aborted', false, undefined, cause);
  }
  if (error instanceof APIConnectionTimeoutError) {
    return new ProviderError(`${provider}: timed out`, provider, 'timeout', true, undefined, cause);
  }
  if (error instanceof APIConnectionError) {
    return new ProviderError(`${provider}: ${error.message}`, provider, 'network', true, undefined, cause);
  }
  if (error instanceof APIError && typeof error.status === 'number') {
    return httpError(provider, error.status, error.message, cause);
  }
  // google-gax (REST fallback): GoogleError with a numeric HTTP status in `code` or gRPC status names
  const status = httpStatusOf(error);
  if (status !== undefined) return httpError(provider, status, messageOf(error), cause);
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^(ECONN|ENOTFOUND|EAI_AGAIN|EPIPE|ETIMEDOUT|UND_ERR)/.test(code)) {
    return new ProviderError(`${provider}: ${messageOf(error)}`, provider, 'network', true, undefined, cause);
  }
  if (error instanceof TypeError && /fetch failed|network|socket/i.test(error.message)) {
    return new ProviderError(`${provider}: ${error.message}`, provider, 'network', true, undefined, cause);
  }
  return new ProviderError(`${provider}: ${messageOf(error)}`, provider, 'bad-response', false, undefined, cause);
}

/**
 * toProviderError for a gRPC call (google-gax or grpc-js, streamed synthesis): a failure with a gRPC status is judged
 * as the HTTP status Google gives for it (UNAVAILABLE as 503, INVALID_ARGUMENT as 400...), the caller's abort and a
 * deadline as toProviderError judges them. (Not used for REST calls: their errors carry gRPC codes mapped back from
 * the HTTP status, and those calls keep toProviderError's judgement.)
 */
export function toGrpcProviderError(provider: string, error: unknown, deadline?: Deadline): ProviderError {
  if (error instanceof ProviderError || deadline?.signal.aborted === true || error instanceof DeadlineExceeded) {
    return toProviderError(provider, error, deadline);
  }
  // CANCELLED that we did not ask for (our abort was handled above): the server or a proxy dropped the call
  if (isGrpcStatusError(error) && (error as { code?: unknown }).code === 1) {
    return new ProviderError(`${provider}: ${messageOf(error)}`, provider, 'network', true, undefined, { cause: error });
  }
  const status = grpcAsHttpStatusOf(error);
  return status !== undefined ? httpError(provider, status, messageOf(error), { cause: error }) : toProviderError(provider, error, deadline);
}

function httpError(provider: string, status: number, message: string, cause: { cause: unknown }): ProviderError {
  const isRetryable = status >= 500 || status === 429 || status === 408;
  return new ProviderError(`${provider}: HTTP ${status}: ${message}`, provider, 'http', isRetryable, status, cause);
}

function httpStatusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const e = error as { status?: unknown; code?: unknown; response?: { status?: unknown } };
  for (const candidate of [e.response?.status, e.status, e.code]) {
    if (typeof candidate === 'number' && candidate >= 400 && candidate < 600) return candidate;
  }
  return undefined;
}

/**
 * gRPC status codes -> the HTTP status Google's APIs give for each (google/rpc/code.proto), so that a gRPC failure is
 * judged like a REST one (5xx and 429 can be retried; 4xx cannot). CANCELLED is not here (see toGrpcProviderError).
 */
const GRPC_AS_HTTP_STATUS: Readonly<Record<number, number>> = {
  2: 500, // UNKNOWN
  3: 400, // INVALID_ARGUMENT
  4: 504, // DEADLINE_EXCEEDED
  5: 404, // NOT_FOUND
  6: 409, // ALREADY_EXISTS
  7: 403, // PERMISSION_DENIED
  8: 429, // RESOURCE_EXHAUSTED
  9: 400, // FAILED_PRECONDITION
  10: 409, // ABORTED
  11: 400, // OUT_OF_RANGE
  12: 501, // UNIMPLEMENTED
  13: 500, // INTERNAL
  14: 503, // UNAVAILABLE
  15: 500, // DATA_LOSS
  16: 401, // UNAUTHENTICATED
};

/** The HTTP equivalent of a gRPC status error (grpc-js's and google-gax's carry `code` and `metadata`/`details`). */
function grpcAsHttpStatusOf(error: unknown): number | undefined {
  if (!isGrpcStatusError(error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? GRPC_AS_HTTP_STATUS[code] : undefined;
}

function isGrpcStatusError(error: unknown): boolean {
  return error !== null && typeof error === 'object' && ('metadata' in error || 'details' in error) && typeof (error as { code?: unknown }).code === 'number';
}

function isAbortError(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || /\bcancel+ed\b/i.test(error.message));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Rejects with the signal's reason as soon as it aborts (for awaiting things that cannot take a signal). */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.reject(signal.reason as Error);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error as Error);
      },
    );
  });
}
