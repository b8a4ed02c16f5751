// The control plane's parts built from the configuration (main.ts hands them to the edge runner): the Twilio REST
// client when an account SID and auth token are set, and the TwiML a transfer redirects the call to. Without
// credentials a hang-up still ends the stream (Twilio then ends a <Connect><Stream> call itself) and a transfer is
// refused in the log.
import type { CallEvent } from '../call/events.js';
import type { Config } from '../config.js';
import type { ControlPlaneOptions } from './plane.js';
import { transferTwimlFor } from './transfer-twiml.js';
import { twilioRestOptionsFromConfig } from './twilio-rest-basics.js';
import type { TwilioRest } from './twilio-rest.js';

export function controlPartsFromConfig(config: Config): Omit<ControlPlaneOptions, 'sendCommand'> {
  const restOptions = twilioRestOptionsFromConfig(config);
  if (restOptions === undefined) return {};
  // the SDK is loaded at the first hang-up or transfer (heavy: every API domain)
  let client: Promise<TwilioRest> | undefined;
  const load = (): Promise<TwilioRest> => (client ??= import('./twilio-rest.js').then((m) => m.createTwilioRest(restOptions)));
  const rest = {
    hangUp: async (callSid: string) => (await load()).hangUp(callSid),
    redirect: async (callSid: string, twiml: string) => (await load()).redirect(callSid, twiml),
  };
  const transferContext = { publicBaseUrl: config.publicBaseUrl, secret: config.streamTokenSecret };
  return {
    rest,
    transferTwiml: (event: Extract<CallEvent, { kind: 'transfer' }>) => transferTwimlFor(transferContext, {
      to: event.to,
      summary: event.isWarm ? event.summary : undefined,
      whisperLanguage: config.language.google,
      callerId: config.twilioApi.callerId,
      dialTimeoutS: config.twilioApi.transferDialTimeoutS,
    }),
  };
}
