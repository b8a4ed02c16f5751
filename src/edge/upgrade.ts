// The media WebSocket handshake: which paths upgrade, which subprotocol we answer, and the signature check.
// Proxies in front of us (Google's front end, Cloud Run, ngrok) and Twilio itself are strict about the 101: it must
// carry `Upgrade: websocket` and `Connection: Upgrade` (uWS writes both), and `Sec-WebSocket-Protocol` must echo exactly
// one protocol that was offered or be absent. The offered list is comma-separated, so we trim each entry and compare
// case-insensitively. Twilio signs the wss:// URL of the stream as it appears in our TwiML (built from
// PUBLIC_BASE_URL, never from the Host header, which behind a proxy is not what Twilio signed), with empty params.
import { MEDIA_SUBPROTOCOL } from '../twilio/media-format.js';
import { validateStreamSignature } from '../twilio/signature.js';
import { requestTarget, type HttpRequest, type HttpResponse, type us_socket_context_t } from './uws.js';

/** The two paths the media stream is accepted on (a query string is allowed and ignored). */
export const MEDIA_STREAM_PATHS = ['/ws/twilio-media', '/ws/twilio-media/'] as const;

export function isMediaStreamPath(path: string): boolean {
  return path === MEDIA_STREAM_PATHS[0] || path === MEDIA_STREAM_PATHS[1];
}

/**
 * Picks the subprotocol to answer from a `Sec-WebSocket-Protocol` request header: `audio.twilio.com` (exactly that
 * spelling) when it is in the list in any case, else '' (answer without the header).
 */
export function negotiateSubprotocol(offeredHeader: string): string {
  if (offeredHeader.length === 0) return '';
  for (const entry of offeredHeader.split(',')) {
    if (entry.trim().toLowerCase() === MEDIA_SUBPROTOCOL) return MEDIA_SUBPROTOCOL;
  }
  return '';
}

export interface HandshakeSignatureConfig {
  isSignatureCheckOn: boolean;
  twilioAuthToken: string | undefined;
  /** The stream's wss:// URL built from PUBLIC_BASE_URL (Config.streamUrl). */
  streamUrl: string;
}

/** True when the handshake may proceed: checks off (insecure dev mode), or the signature matches the stream URL. */
export function isHandshakeSignatureValid(config: HandshakeSignatureConfig, signature: string): boolean {
  if (!config.isSignatureCheckOn) return true;
  const authToken = config.twilioAuthToken;
  if (authToken === undefined || authToken.length === 0) return false;
  if (signature.length === 0) return false;
  return validateStreamSignature(authToken, config.streamUrl, signature);
}

/** Why an upgrade was refused (also the counter name). */
export type UpgradeRefusal = 'draining' | 'busy' | 'bad-signature' | 'not-websocket';

/** What the media socket carries from the handshake into its life. */
export interface UpgradeInfo {
  path: string;
  query: string;
  subprotocol: string;
  remoteAddress: string;
}

export interface UpgradeDecider {
  config: HandshakeSignatureConfig;
  isDraining(): boolean;
  /** Has this thread as many sockets awaiting their start as it takes (WS_MAX_SOCKETS_AWAITING_START)? */
  isAwaitingStartFull(): boolean;
  onRefused(reason: UpgradeRefusal): void;
  /** Builds the per-socket user data handed to res.upgrade (called only when the upgrade goes ahead). */
  createUserData(info: UpgradeInfo): object;
}

function refuse(res: HttpResponse, status: string, body: string, extraHeaders: Array<[string, string]> = []): void {
  res.writeStatus(status);
  for (const [name, value] of extraHeaders) res.writeHeader(name, value);
  res.writeHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(body, true);
}

/**
 * The uWS `upgrade` handler for the media paths. Everything it needs is synchronous, so it answers inside the
 * handler (already corked by uWS) and needs no onAborted.
 */
export function handleMediaUpgrade(
  res: HttpResponse,
  req: HttpRequest,
  context: us_socket_context_t,
  decider: UpgradeDecider,
): void {
  // Copy everything out of req now: it is only valid during this call.
  const secWebSocketKey = req.getHeader('sec-websocket-key');
  const secWebSocketProtocol = req.getHeader('sec-websocket-protocol');
  const secWebSocketExtensions = req.getHeader('sec-websocket-extensions');
  const signature = req.getHeader('x-twilio-signature');
  const { path, query } = requestTarget(req);

  if (secWebSocketKey.length === 0) {
    decider.onRefused('not-websocket');
    refuse(res, '426 Upgrade Required', 'WebSocket upgrade required\n', [['Upgrade', 'websocket']]);
    return;
  }
  if (decider.isDraining()) {
    decider.onRefused('draining');
    refuse(res, '503 Service Unavailable', 'Server is draining; not accepting new calls\n', [['Retry-After', '5']]);
    return;
  }
  if (!isHandshakeSignatureValid(decider.config, signature)) {
    decider.onRefused('bad-signature');
    refuse(res, '403 Forbidden', 'Invalid X-Twilio-Signature\n');
    return;
  }
  // After the signature: an unsigned flood is refused as 403 and cannot fill the thread's quota of waiting sockets.
  if (decider.isAwaitingStartFull()) {
    decider.onRefused('busy');
    refuse(res, '503 Service Unavailable', 'Too many media sockets waiting for their start; try again\n', [['Retry-After', '1']]);
    return;
  }
  const subprotocol = negotiateSubprotocol(secWebSocketProtocol);
  let remoteAddress = '';
  try {
    remoteAddress = Buffer.from(res.getRemoteAddressAsText()).toString('latin1');
  } catch {
    // not available on every engine; only used for logs
  }
  const userData = decider.createUserData({ path, query, subprotocol, remoteAddress });
  // res.upgrade calls the open handler synchronously; res must not be used afterwards.
  res.upgrade(userData, secWebSocketKey, subprotocol, secWebSocketExtensions, context);
}
