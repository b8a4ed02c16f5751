// Placing a call for the control API: Twilio's calls.create through the REST client, answered by our
// /webhook/outbound_answer (the same <Connect><Stream> as an inbound call, with a stream token for the new CallSid,
// which exists only once the call does), its status callbacks to /webhook/status, and optionally Twilio's async
// answering-machine detection (its verdict to /webhook/amd; on a machine the agent leaves VOICEMAIL_LINE). A call with
// a greeting or context (its brief) is registered under a launch id first, which the answer URL carries
// (src/control/outbound-briefs.ts says why).
import type { Config } from '../config.js';
import { controlCallbackUrlsFor } from './callback-urls.js';
import { twilioRestOptionsFromConfig } from './twilio-rest-basics.js';
import type { TwilioRest } from './twilio-rest.js';
import { LAUNCH_PARAM, newLaunchId, type OutboundBrief } from './outbound-briefs.js';

export interface OutboundCallRequest {
  to: string;
  from?: string;
  detectMachine?: boolean;
  brief?: OutboundBrief;
}

/** Keeps a placed call's brief where its agent will ask for it (the main thread's OutboundBriefStore, and the records
 * for the other instances); resolves once it is kept. Never rejects. */
export type BriefRegistrar = (launchId: string, brief: OutboundBrief) => Promise<void>;

/** Places a call and resolves with its CallSid; rejects with a TwilioRestError. */
export type OutboundCaller = (request: OutboundCallRequest) => Promise<string>;

/** undefined without Twilio credentials (the API then answers that outbound calls are not configured). */
export function outboundCallerFromConfig(config: Config, registerBrief: BriefRegistrar): OutboundCaller | undefined {
  const restOptions = twilioRestOptionsFromConfig(config);
  if (restOptions === undefined) return undefined;
  // the SDK is loaded at the first call placed (an edge thread that never places one never loads it)
  let rest: Promise<TwilioRest> | undefined;
  const urls = controlCallbackUrlsFor(config.publicBaseUrl);
  return async (request) => {
    let url = urls.outboundAnswer;
    if (request.brief !== undefined) {
      // registered before Twilio knows of the call: its answer (seconds later at the earliest) finds the brief there
      const launchId = newLaunchId();
      await registerBrief(launchId, request.brief);
      url = `${url}?${LAUNCH_PARAM}=${launchId}`;
    }
    return (await (rest ??= import('./twilio-rest.js').then((m) => m.createTwilioRest(restOptions)))).placeCall({
      to: request.to,
      ...(request.from !== undefined ? { from: request.from } : {}),
      url,
      statusCallback: urls.status,
      ...(request.detectMachine === true ? { machineDetection: { statusCallbackUrl: urls.amd } } : {}),
    });
  };
}

/** `{ placeCall }` when there is a caller, else nothing (for an options object under exactOptionalPropertyTypes). */
export function withPlaceCall(placeCall: OutboundCaller | undefined): { placeCall?: OutboundCaller } {
  return placeCall !== undefined ? { placeCall } : {};
}
