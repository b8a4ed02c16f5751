// The TwiML we answer an incoming call with, built by the `twilio` package's VoiceResponse:
// <Response><Connect><Stream url="wss://HOST/ws/twilio-media"><Parameter name=.. value=../>...</Stream></Connect></Response>.
// Twilio's rules enforced here: the stream URL is ws(s):// with no query string (Twilio rejects it; parameters go in
// <Parameter>s instead), and each parameter's name + value stays under 500 characters.
// connectStreamTwiml builds the document afresh with VoiceResponse; createConnectStreamTemplate builds it once with
// VoiceResponse around placeholder values and then only escapes and splices the per-call values (the webhook's path:
// xmlbuilder's tree costs far more than the work it does here). A test proves both give byte-identical output.
// Also the call-control TwiML: a transfer's <Dial> (to a number or a SIP address, its action back to our webhook, a
// ring timeout, and for a warm transfer a whisper URL on the <Number>/<Sip>), the whisper itself (<Say> a one-line
// summary to the person who answered, before the bridge), and <Hangup/>.
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
  return buildConnectStream(opts.streamUrl, streamParametersFor(opts.parameters), opts.statusCallbackUrl);
}

/** The one place that builds the document with VoiceResponse, parameters in the order given. */
function buildConnectStream(streamUrl: string, parameters: ReadonlyArray<{ name: string; value: string }>, statusCallbackUrl: string | undefined): string {
  if (!/^wss?:\/\/[^/?#\s]+(\/[^?#\s]*)?$/i.test(streamUrl)) {
    throw new RangeError(`streamUrl must be a ws:// or wss:// URL without query string or fragment (got ${JSON.stringify(streamUrl)})`);
  }
  const response = new VoiceResponse();
  const connect = response.connect();
  const stream = connect.stream(
    statusCallbackUrl ? { url: streamUrl, statusCallback: statusCallbackUrl, statusCallbackMethod: 'POST' } : { url: streamUrl },
  );
  for (const { name, value } of parameters) {
    stream.parameter({ name, value });
  }
  return response.toString();
}

/** The parameter name rules of streamParametersFor, as a reason a name cannot be used (undefined when it can). */
function nameProblem(name: string): string | undefined {
  if (xmlSafe(name) !== name) return 'contains characters XML cannot carry';
  if (name.length === 0) return 'is empty';
  if (name.length >= MAX_PARAMETER_CHARS) return `reaches the ${MAX_PARAMETER_CHARS + 1}-character limit alone`;
  return undefined;
}

const ATTRIBUTE_SPECIALS = /[&<"\t\n\r]/;
const ATTRIBUTE_SPECIALS_ALL = /[&<"\t\n\r]/g;
const ATTRIBUTE_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;', '<': '&lt;', '"': '&quot;', '\t': '&#x9;', '\n': '&#xA;', '\r': '&#xD;',
};

/**
 * An attribute value escaped exactly as VoiceResponse's xmlbuilder does it (attEscape: & < " tab LF CR; `>` and `'`
 * stay as they are), in one pass.
 */
export function escapeAttributeValue(value: string): string {
  if (!ATTRIBUTE_SPECIALS.test(value)) return value;
  return value.replace(ATTRIBUTE_SPECIALS_ALL, (c) => ATTRIBUTE_ENTITIES[c] ?? c);
}

export interface ConnectStreamTemplateOptions {
  /** ws:// or wss:// URL without query string or fragment (see streamUrlFor). */
  streamUrl: string;
  /** The <Parameter> names, in this order (connectStreamTwiml has an object's key order); render() takes one value per name. */
  parameterNames: readonly string[];
  /** Optional stream status callback (Twilio POSTs stream-started/stopped/failed there). */
  statusCallbackUrl?: string;
}

export interface ConnectStreamTemplate {
  readonly parameterNames: readonly string[];
  /**
   * The same TwiML connectStreamTwiml gives for these names and values: each value loses the characters XML cannot
   * carry, is cut so that name + value < 500 characters, and is escaped as xmlbuilder escapes attribute values.
   */
  render(values: readonly string[]): string;
}

// Placeholders: private-use characters, which xmlbuilder neither escapes nor refuses; checked to occur exactly once.
const placeholderFor = (index: number): string => `\uE000${index}\uE001`;

/**
 * `<Connect><Stream>` TwiML as a template: built once with VoiceResponse, rendered per call by splicing in escaped
 * values. Throws RangeError on a URL Twilio would reject, and on a parameter name that streamParametersFor would drop
 * or alter (empty, too long, characters XML cannot carry) or that repeats.
 */
export function createConnectStreamTemplate(opts: ConnectStreamTemplateOptions): ConnectStreamTemplate {
  const parameterNames = [...opts.parameterNames];
  const seen = new Set<string>();
  for (const name of parameterNames) {
    const problem = nameProblem(name) ?? (seen.has(name) ? 'repeats' : undefined);
    if (problem !== undefined) throw new RangeError(`parameter name ${JSON.stringify(name.slice(0, 40))} ${problem}`);
    seen.add(name);
  }
  const xml = buildConnectStream(
    opts.streamUrl,
    parameterNames.map((name, index) => ({ name, value: placeholderFor(index) })),
    opts.statusCallbackUrl,
  );
  // parts[i] + value[i] + parts[i + 1] ...: split the document at each placeholder, which must occur exactly once.
  const parts: string[] = [];
  let from = 0;
  parameterNames.forEach((_name, index) => {
    const placeholder = placeholderFor(index);
    const at = xml.indexOf(placeholder, from);
    if (at === -1 || xml.indexOf(placeholder, at + placeholder.length) !== -1 || xml.lastIndexOf(placeholder, at - 1) !== -1) {
      throw new RangeError('the stream URL or status callback URL contains a template placeholder (U+E000)');
    }
    parts.push(xml.slice(from, at));
    from = at + placeholder.length;
  });
  parts.push(xml.slice(from));
  const maxValueChars = parameterNames.map((name) => MAX_PARAMETER_CHARS - name.length);
  const head = parts[0] ?? '';
  return {
    parameterNames,
    render(values: readonly string[]): string {
      if (values.length !== maxValueChars.length) {
        throw new RangeError(`expected ${maxValueChars.length} parameter values (got ${values.length})`);
      }
      let out = head;
      for (let i = 0; i < values.length; i++) {
        out += escapeAttributeValue(truncate(xmlSafe(String(values[i] ?? '')), maxValueChars[i] ?? 0)) + (parts[i + 1] ?? '');
      }
      return out;
    },
  };
}

/** E.164: + and up to 15 digits, the first not 0. */
export const E164_NUMBER = /^\+[1-9]\d{1,14}$/;
/** A SIP address as <Dial><Sip> takes it: sip: or sips:, a user part optional, a host, parameters after `;`. */
const SIP_ADDRESS = /^sips?:[^\s<>"]+$/i;
/** Twilio's <Dial timeout> range, in seconds. */
export const MIN_DIAL_TIMEOUT_S = 5;
export const MAX_DIAL_TIMEOUT_S = 600;
/** The whisper is one line: longer summaries are cut (Twilio would read a paragraph to someone waiting to talk). */
export const MAX_WHISPER_SUMMARY_CHARS = 300;

export interface TransferTwimlOptions {
  /** Where to: an E.164 number (<Number>) or a sip:/sips: address (<Sip>). */
  target: string;
  /** Our webhook Twilio requests when the <Dial> ends (POST, with DialCallStatus): absolute http(s) URL. */
  actionUrl: string;
  /** Seconds to ring before giving up (Twilio's 5..600). */
  timeoutS: number;
  /** The caller ID the person sees; Twilio's default (the caller's number on an inbound call) when not given. */
  callerId?: string | undefined;
  /**
   * Warm transfer: the URL Twilio fetches for the person who answers before bridging (<Number url> / <Sip url>); its
   * TwiML (whisperTwiml) says the summary to them only.
   */
  whisperUrl?: string | undefined;
}

function checkHttpUrl(name: string, url: string): void {
  if (!/^https?:\/\/[^\s/?#]+[^\s]*$/i.test(url)) throw new RangeError(`${name} must be an absolute http(s) URL (got ${JSON.stringify(url.slice(0, 80))})`);
}

/** What a transfer target is: a phone number or a SIP address; throws RangeError on anything else. */
export function transferTargetKind(target: string): 'number' | 'sip' {
  if (E164_NUMBER.test(target)) return 'number';
  if (SIP_ADDRESS.test(target)) return 'sip';
  throw new RangeError(`transfer target must be an E.164 number (+972...) or a sip: address (got ${JSON.stringify(target.slice(0, 80))})`);
}

/**
 * A transfer: <Dial action timeout [callerId]><Number|Sip [url]>target</...></Dial>. The call leaves our stream for the
 * dial; when the dial ends Twilio POSTs DialCallStatus to actionUrl, which brings the call back to the agent unless
 * the person answered and the bridged call completed.
 */
export function transferTwiml(opts: TransferTwimlOptions): string {
  const kind = transferTargetKind(opts.target);
  checkHttpUrl('actionUrl', opts.actionUrl);
  if (opts.whisperUrl !== undefined) checkHttpUrl('whisperUrl', opts.whisperUrl);
  if (!Number.isInteger(opts.timeoutS) || opts.timeoutS < MIN_DIAL_TIMEOUT_S || opts.timeoutS > MAX_DIAL_TIMEOUT_S) {
    throw new RangeError(`timeoutS must be an integer from ${MIN_DIAL_TIMEOUT_S} to ${MAX_DIAL_TIMEOUT_S} (got ${opts.timeoutS})`);
  }
  if (opts.callerId !== undefined && !E164_NUMBER.test(opts.callerId) && !SIP_ADDRESS.test(opts.callerId)) {
    throw new RangeError(`callerId must be an E.164 number or a sip: address (got ${JSON.stringify(opts.callerId.slice(0, 80))})`);
  }
  const response = new VoiceResponse();
  const dial = response.dial({
    action: opts.actionUrl,
    method: 'POST',
    timeout: opts.timeoutS,
    ...(opts.callerId !== undefined ? { callerId: opts.callerId } : {}),
  });
  const whisper = opts.whisperUrl !== undefined ? { url: opts.whisperUrl, method: 'POST' } : {};
  if (kind === 'number') dial.number(whisper, opts.target);
  else dial.sip(whisper, opts.target);
  return response.toString();
}

/** The summary as one short line: characters XML cannot carry removed, whitespace runs made one space, cut to the limit. */
export function whisperSummaryLine(summary: string): string {
  return truncate(xmlSafe(summary).replace(/\s+/g, ' ').trim(), MAX_WHISPER_SUMMARY_CHARS);
}

export interface WhisperTwimlOptions {
  /** What the person who answers hears before being bridged (made one line, at most MAX_WHISPER_SUMMARY_CHARS). */
  summary: string;
  /** <Say language>, e.g. he-IL or en-US; Twilio's default when not given. */
  language?: string | undefined;
  /** <Say voice>, e.g. Google.he-IL-Standard-A; Twilio's default when not given. */
  voice?: string | undefined;
}

/** The whisper: <Say> the summary (escaped by VoiceResponse); an empty summary says nothing and bridges at once. */
export function whisperTwiml(opts: WhisperTwimlOptions): string {
  const response = new VoiceResponse();
  const line = whisperSummaryLine(opts.summary);
  if (line.length > 0) {
    response.say(
      {
        ...(opts.language !== undefined ? { language: opts.language as NonNullable<VoiceResponse.SayAttributes['language']> } : {}),
        ...(opts.voice !== undefined ? { voice: opts.voice as NonNullable<VoiceResponse.SayAttributes['voice']> } : {}),
      },
      line,
    );
  }
  return response.toString();
}

/** <Response><Hangup/></Response>: the answer after a transfer that was bridged and is over. */
export function hangupTwiml(): string {
  const response = new VoiceResponse();
  response.hangup();
  return response.toString();
}
