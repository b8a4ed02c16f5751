// The TwiML we answer an incoming call with, built by the `twilio` package's VoiceResponse:
// <Response><Connect><Stream url="wss://HOST/ws/twilio-media"><Parameter name=.. value=../>...</Stream></Connect></Response>.
// Twilio's rules enforced here: the stream URL is ws(s):// with no query string (Twilio rejects it; parameters go in
// <Parameter>s instead), and each parameter's name + value stays under 500 characters.
import VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';

/** Twilio's limit is "name + value under 500 characters". */
export const MAX_PARAMETER_CHARS = 499;

// Characters XML 1.0 cannot carry at all (escaping does not help): strip them rather than fail the webhook.
const XML_INVALID_CHARS = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

function xmlSafe(text: string): string {
  return text.replace(XML_INVALID_CHARS, '');
}

/** Cuts `value` to `maxChars` UTF-16 units without splitting a surrogate pair. */
function truncate(value: string, maxChars: number): string {
  if (value.length <= maxChars) return value;
  let cut = value.slice(0, Math.max(0, maxChars));
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1);
  return cut;
}

/**
 * The parameters as Twilio will accept them: invalid XML characters removed, empty names and names that alone reach
 * the limit omitted, values truncated so that name + value < 500 characters.
 */
export function streamParametersFor(parameters: Record<string, string>): Array<{ name: string; value: string }> {
  const out: Array<{ name: string; value: string }> = [];
  for (const [rawName, rawValue] of Object.entries(parameters)) {
    const name = xmlSafe(String(rawName));
    if (name.length === 0 || name.length >= MAX_PARAMETER_CHARS) continue;
    const value = truncate(xmlSafe(String(rawValue ?? '')), MAX_PARAMETER_CHARS - name.length);
    out.push({ name, value });
  }
  return out;
}

export interface ConnectStreamOptions {
  /** ws:// or wss:// URL without query string or fragment (see streamUrlFor). */
  streamUrl: string;
  /** Arrive in the stream's start.customParameters. */
  parameters: Record<string, string>;
  /** Optional stream status callback (Twilio POSTs stream-started/stopped/failed there). */
  statusCallbackUrl?: string;
}

/** `<Connect><Stream>` TwiML for a bidirectional media stream. Throws RangeError on a URL Twilio would reject. */
export function connectStreamTwiml(opts: ConnectStreamOptions): string {
  const { streamUrl, parameters, statusCallbackUrl } = opts;
  if (!/^wss?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i.test(streamUrl)) {
    throw new RangeError(`streamUrl must be a ws:// or wss:// URL without query string or fragment (got ${JSON.stringify(streamUrl)})`);
  }
  const response = new VoiceResponse();
  const connect = response.connect();
  const stream = connect.stream(
    statusCallbackUrl ? { url: streamUrl, statusCallback: statusCallbackUrl, statusCallbackMethod: 'POST' } : { url: streamUrl },
  );
  for (const { name, value } of streamParametersFor(parameters)) {
    stream.parameter({ name, value });
  }
  return response.toString();
}
