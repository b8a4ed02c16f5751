// The TwiML a transfer redirects a live call to (through TwilioRest.redirect): a <Dial> to the person's number or SIP
// address whose action comes back to our /webhook/dial_action (the call returns to the agent when nobody answers or
// the dial fails), and for a warm transfer a whisper URL that tells the person who answers what the call is about.
import { MAX_DIAL_TIMEOUT_S, MIN_DIAL_TIMEOUT_S, transferTwiml } from '../twilio/twiml.js';
import { DEFAULT_TRANSFER_DIAL_TIMEOUT_S } from '../config.js';
import { controlCallbackUrlsFor, whisperUrlFor } from './callback-urls.js';

export interface TransferRequest {
  /** E.164 number or sip: address. */
  to: string;
  /** Warm transfer: the one-line summary the person hears before being bridged. Cold when absent or blank. */
  summary?: string | undefined;
  /** <Say language> of the whisper (config.language.google, say). */
  whisperLanguage?: string | undefined;
  /** Caller ID shown to the person; Twilio's default when absent. */
  callerId?: string | undefined;
  /** Ring time (5..600 s; config.twilioApi.transferDialTimeoutS); DEFAULT_TRANSFER_DIAL_TIMEOUT_S when absent. */
  dialTimeoutS?: number | undefined;
}

export interface TransferContext {
  publicBaseUrl: string;
  /** The stream-token secret: signs the whisper URL. */
  secret: string;
}

/** The transfer's TwiML; throws RangeError on a target, caller ID or timeout Twilio would refuse. */
export function transferTwimlFor(ctx: TransferContext, request: TransferRequest): string {
  const summary = request.summary?.trim() ?? '';
  const timeoutS = request.dialTimeoutS ?? DEFAULT_TRANSFER_DIAL_TIMEOUT_S;
  if (timeoutS < MIN_DIAL_TIMEOUT_S || timeoutS > MAX_DIAL_TIMEOUT_S) throw new RangeError(`dialTimeoutS must be from ${MIN_DIAL_TIMEOUT_S} to ${MAX_DIAL_TIMEOUT_S}`);
  return transferTwiml({
    target: request.to,
    actionUrl: controlCallbackUrlsFor(ctx.publicBaseUrl).dialAction,
    timeoutS,
    callerId: request.callerId,
    whisperUrl: summary.length > 0 ? whisperUrlFor(ctx.publicBaseUrl, ctx.secret, summary, request.whisperLanguage) : undefined,
  });
}
