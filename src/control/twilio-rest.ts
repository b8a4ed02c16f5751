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
import { DEFAULT_TWILIO_API_TIMEOUT_MS } from '../config.js';
import {
  TWILIO_ERROR_CALL_NOT_IN_PROGRESS, TWILIO_ERROR_NOT_FOUND, rewriteTwilioApiUri, toTwilioRestError, type TwilioRestOptions,
} from './twilio-rest-basics.js';

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
