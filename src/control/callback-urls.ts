// The URLs Twilio calls back for call control, all built from PUBLIC_BASE_URL (what Twilio signs): the outbound
// call's answer, the transfer's <Dial action>, the warm transfer's whisper, async AMD's verdict and call status. The
// whisper URL carries its summary (and <Say> language) in the query with our own HMAC over them (the stream-token
// secret), so that the words a person hears before a bridge can only be ones this server wrote; the summary is one
// line of at most MAX_WHISPER_SUMMARY_CHARS, and Twilio's X-Twilio-Signature covers the whole URL besides.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { publicUrlFor } from '../twilio/signature.js';
import { MAX_WHISPER_SUMMARY_CHARS, whisperSummaryLine } from '../twilio/twiml.js';

/** The webhook paths of call control (routes in src/edge/app.ts). */
export const CONTROL_WEBHOOK_PATHS = {
  outboundAnswer: '/webhook/outbound_answer',
  dialAction: '/webhook/dial_action',
  whisper: '/webhook/whisper',
  amd: '/webhook/amd',
  status: '/webhook/status',
} as const;

export interface ControlCallbackUrls {
  /** calls.create's url: answers the stream TwiML for the new call. */
  outboundAnswer: string;
  /** A transfer's <Dial action>: back to the agent unless the bridged call completed. */
  dialAction: string;
  /** AsyncAmdStatusCallback. */
  amd: string;
  /** The call status callback. */
  status: string;
}

export function controlCallbackUrlsFor(publicBaseUrl: string): ControlCallbackUrls {
  return {
    outboundAnswer: publicUrlFor(publicBaseUrl, CONTROL_WEBHOOK_PATHS.outboundAnswer),
    dialAction: publicUrlFor(publicBaseUrl, CONTROL_WEBHOOK_PATHS.dialAction),
    amd: publicUrlFor(publicBaseUrl, CONTROL_WEBHOOK_PATHS.amd),
    status: publicUrlFor(publicBaseUrl, CONTROL_WEBHOOK_PATHS.status),
  };
}

/** Query names of the whisper URL. */
export const WHISPER_QUERY = { summary: 'summary', language: 'lang', mac: 'sig' } as const;
/** Longest <Say language> value carried (he-IL, en-US, cmn-CN...). */
const MAX_LANGUAGE_CHARS = 16;

function whisperMac(secret: string, summary: string, language: string): string {
  return createHmac('sha256', secret).update(`ai-crmd whisper v1\n${language}\n${summary}`).digest('base64url');
}

/**
 * The whisper URL for a warm transfer: PUBLIC_BASE_URL/webhook/whisper?summary=..&lang=..&sig=.. (the summary made one
 * line and cut to the limit first; `sig` is our HMAC over summary and language).
 */
export function whisperUrlFor(publicBaseUrl: string, secret: string, summary: string, language?: string): string {
  const line = whisperSummaryLine(summary);
  const lang = language ?? '';
  if (lang.length > MAX_LANGUAGE_CHARS || !/^[A-Za-z0-9-]*$/.test(lang)) throw new RangeError(`language must be a language tag like he-IL (got ${JSON.stringify(lang.slice(0, 40))})`);
  const query = new URLSearchParams({ [WHISPER_QUERY.summary]: line });
  if (lang.length > 0) query.set(WHISPER_QUERY.language, lang);
  query.set(WHISPER_QUERY.mac, whisperMac(secret, line, lang));
  return `${publicUrlFor(publicBaseUrl, CONTROL_WEBHOOK_PATHS.whisper)}?${query.toString()}`;
}

export type WhisperQuery = { summary: string; language: string | undefined };

/**
 * Reads a whisper URL's query (the raw query string): the summary and language when they are within bounds and, with
 * `isMacChecked`, carry our HMAC; null otherwise.
 */
export function readWhisperQuery(secret: string, rawQuery: string, isMacChecked: boolean): WhisperQuery | null {
  let query: URLSearchParams;
  try {
    query = new URLSearchParams(rawQuery);
  } catch {
    return null;
  }
  const summary = query.get(WHISPER_QUERY.summary) ?? '';
  const language = query.get(WHISPER_QUERY.language) ?? '';
  if (summary.length > MAX_WHISPER_SUMMARY_CHARS || language.length > MAX_LANGUAGE_CHARS || !/^[A-Za-z0-9-]*$/.test(language)) return null;
  if (isMacChecked) {
    const given = Buffer.from(query.get(WHISPER_QUERY.mac) ?? '');
    const expected = Buffer.from(whisperMac(secret, summary, language));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  }
  return { summary, language: language.length > 0 ? language : undefined };
}
