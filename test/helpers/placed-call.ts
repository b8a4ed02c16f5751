// Twilio's side of a call placed through our API, for the end-to-end tests: it POSTs the answer URL that calls.create
// was given (signed over the whole URL, query included), and the stream it then opens carries the TwiML's
// <Parameter>s back as start.customParameters.
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import type { RunningServer } from './server.js';

export interface PlacedCallAnswer {
  twiml: string;
  /** The stream parameters our TwiML named (from, to, direction, launch), as Twilio hands them to the stream. */
  streamParameters: Record<string, string>;
}

/** Twilio fetching `answerUrl` (as given to calls.create, on `publicBaseUrl`) from `server`; expects a 200. */
export async function answerPlacedCall(
  server: RunningServer,
  answerUrl: URL,
  call: { callSid: string; accountSid: string; authToken: string; publicBaseUrl: string; from: string; to: string },
): Promise<PlacedCallAnswer> {
  const pathAndQuery = `${answerUrl.pathname}${answerUrl.search}`;
  const params = { CallSid: call.callSid, From: call.from, To: call.to, Direction: 'outbound-api', AccountSid: call.accountSid };
  const answer = await fetch(`${server.baseUrl}${pathAndQuery}`, {
    method: 'POST',
    headers: {
      'Content-Type': 'application/x-www-form-urlencoded', connection: 'close',
      'X-Twilio-Signature': getExpectedTwilioSignature(call.authToken, `${call.publicBaseUrl}${pathAndQuery}`, params),
    },
    body: new URLSearchParams(params).toString(),
  });
  if (answer.status !== 200) throw new Error(`the answer webhook answered ${answer.status}: ${await answer.text()}`);
  const twiml = await answer.text();
  const parameter = (name: string): string => new RegExp(`<Parameter name="${name}" value="([^"]*)"/>`).exec(twiml)?.[1] ?? '';
  return { twiml, streamParameters: Object.fromEntries(['from', 'to', 'direction', 'launch'].map((name) => [name, parameter(name)])) };
}
