// Who may talk to us: Twilio's X-Twilio-Signature checks (with the `twilio` package's own helpers) against the URL
// Twilio saw, which is built from PUBLIC_BASE_URL and never from the Host header (behind a proxy that is not what
// Twilio signed), plus the short-lived HMAC token that binds a media stream to the call whose webhook we answered.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { getExpectedTwilioSignature, validateRequest } from 'twilio/lib/webhooks/webhooks.js';

/** The media WebSocket's path; the stream URL in the TwiML points here. */
export const MEDIA_STREAM_PATH = '/ws/twilio-media';
/** Name of the <Parameter> that carries the stream token (arrives in start.customParameters). */
export const STREAM_TOKEN_PARAM = 'StreamToken';
/** Default life of a stream token: it only has to cover the gap between the webhook's answer and the stream's start. */
export const DEFAULT_STREAM_TOKEN_TTL_MS = 60_000;

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/**
 * A webhook (form POST) from Twilio: `publicUrl` is the full URL Twilio requested (PUBLIC_BASE_URL + path + query),
 * `params` the decoded form fields. Uses twilio.validateRequest (which tries the URL with and without its port), with
 * the URL as configured and, when that differs, with its scheme and host in lower case.
 */
export function validateWebhookSignature(
  authToken: string,
  publicUrl: string,
  params: Record<string, string>,
  signature: string | undefined,
): boolean {
  if (!signature) return false;
  try {
    if (validateRequest(authToken, signature, publicUrl, params)) return true;
    // PUBLIC_BASE_URL is kept as typed; when it has capitals in its scheme or host, Twilio may have signed either form
    const lowered = withLowerCaseOrigin(publicUrl);
    return lowered !== publicUrl && validateRequest(authToken, signature, lowered, params);
  } catch {
    return false; // an unparsable URL cannot have been signed
  }
}

/** "wss://h:443/p?q" -> ["wss://", "h:443", "/p?q"]; undefined for a string that is not such a URL. */
function splitUrl(url: string): [scheme: string, authority: string, rest: string] | undefined {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  return match === null ? undefined : [match[1]!, match[2] ?? '', match[3] ?? ''];
}

/** "HTTPS://Voice.Example.com/Path" -> "https://voice.example.com/Path": scheme and authority in lower case. */
function withLowerCaseOrigin(url: string): string {
  const parts = splitUrl(url);
  return parts === undefined ? url : (parts[0] + parts[1]).toLowerCase() + parts[2];
}

/** Splits off an explicit ":port" from a URL's authority ("wss://h:443/p" -> "wss://h/p"); unchanged when it has none. */
function withoutPort(url: string): string {
  const parts = splitUrl(url);
  if (parts === undefined) return url;
  const [scheme, authority, rest] = parts;
  const hostStart = authority.lastIndexOf('@') + 1;
  const portStart = authority.indexOf(':', Math.max(hostStart, authority.lastIndexOf(']') + 1));
  if (portStart === -1) return url;
  return scheme + authority.slice(0, portStart) + rest;
}

function toggleTrailingSlash(url: string): string {
  const q = url.search(/[?#]/);
  const path = q === -1 ? url : url.slice(0, q);
  const tail = q === -1 ? '' : url.slice(q);
  return (path.endsWith('/') ? path.slice(0, -1) : path + '/') + tail;
}

/**
 * The media WebSocket handshake: Twilio signs the stream's wss:// URL (as written in our TwiML) with no params.
 * twilio.validateRequest's with-port candidate appends ":80" to any non-https scheme, which can never match a
 * wss:// URL, so this checks the no-port form (twilio's getExpectedTwilioSignature, constant-time compare), the URL
 * as given when it carries a port, and each with and without a trailing slash.
 */
export function validateStreamSignature(authToken: string, streamWssUrl: string, signature: string | undefined): boolean {
  if (!signature) return false;
  const bases = new Set([streamWssUrl, withoutPort(streamWssUrl)]);
  const candidates = new Set<string>();
  for (const base of bases) {
    candidates.add(base);
    candidates.add(toggleTrailingSlash(base));
  }
  let isValid = false;
  for (const url of candidates) {
    // no early exit: the time taken does not depend on which candidate matched
    if (safeEqual(signature, getExpectedTwilioSignature(authToken, url, {}))) isValid = true;
  }
  return isValid;
}

/** PUBLIC_BASE_URL (an origin, maybe with a trailing slash) + "/path?query": the URL as Twilio requested it. */
export function publicUrlFor(publicBaseUrl: string, pathAndQuery: string): string {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const rest = pathAndQuery.startsWith('/') || pathAndQuery === '' ? pathAndQuery : '/' + pathAndQuery;
  return base + rest;
}

/** The stream URL for the TwiML: https://host -> wss://host/ws/twilio-media (http -> ws for local development). */
export function streamUrlFor(publicBaseUrl: string): string {
  const url = new URL(publicBaseUrl);
  const scheme = url.protocol === 'http:' || url.protocol === 'ws:' ? 'ws:' : 'wss:';
  return `${scheme}//${url.host}${MEDIA_STREAM_PATH}`;
}

/**
 * The stream-token secret derived from the auth token: deterministic, so every edge thread (and a caller that knows
 * the auth token) computes the same one without sharing state.
 */
export function deriveStreamTokenSecret(authToken: string): string {
  return createHmac('sha256', authToken).update('ai-crmd stream token v1').digest('base64url');
}

function streamTokenMac(secret: string, callSid: string, expiresAtMs: number): string {
  return createHmac('sha256', secret).update(`${callSid}\n${expiresAtMs}`).digest('base64url');
}

/** "<expiry ms, base 36>.<HMAC-SHA256(secret, callSid + expiry), base64url>": binds a stream to one call until expiry. */
export function createStreamToken(secret: string, callSid: string, nowMs: number, ttlMs: number): string {
  const expiresAtMs = Math.floor(nowMs + ttlMs);
  return `${expiresAtMs.toString(36)}.${streamTokenMac(secret, callSid, expiresAtMs)}`;
}

/** A token's expiry (ms since the epoch) as it claims it, or null when it has no readable one (verify it first). */
export function streamTokenExpiryMs(token: string): number | null {
  const dot = token.indexOf('.');
  if (dot <= 0 || dot > 12) return null;
  const expiryText = token.slice(0, dot);
  if (!/^[0-9a-z]+$/.test(expiryText)) return null;
  const expiresAtMs = parseInt(expiryText, 36);
  return Number.isSafeInteger(expiresAtMs) ? expiresAtMs : null;
}

/** True when `token` was made with `secret` for `callSid` and has not expired at `nowMs`. Constant-time MAC compare. */
export function verifyStreamToken(secret: string, token: string, callSid: string, nowMs: number): boolean {
  if (typeof token !== 'string' || token.length > 128) return false;
  const expiresAtMs = streamTokenExpiryMs(token);
  if (expiresAtMs === null) return false;
  const dot = token.indexOf('.');
  const isMacValid = safeEqual(token.slice(dot + 1), streamTokenMac(secret, callSid, expiresAtMs));
  return isMacValid && nowMs <= expiresAtMs;
}
