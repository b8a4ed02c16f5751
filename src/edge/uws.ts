// The one place that loads uWebSockets.js. The package we depend on silently falls back to a slow pure-JS
// implementation when its native binary cannot load (it only prints to the console), so we detect which one we got
// from its exports (the native module has SSLApp and getParts; the fallback has only App, _cfg and
// us_listen_socket_close/us_socket_local_port), keep whatever it printed as the reason, and let the caller warn loudly.
import { createRequire } from 'node:module';
import type * as UwsTypes from 'uWebSockets.js';

export type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  WebSocket,
  WebSocketBehavior,
  us_listen_socket,
  us_socket_context_t,
} from 'uWebSockets.js';

export type UwsEngine = 'native' | 'fallback';
type UwsModule = typeof UwsTypes;

const require = createRequire(import.meta.url);

function loadUws(): { module: UwsModule; printed: string[] } {
  // The package reports a failed binary load with console.warn/console.log only; capture those lines so that we can
  // log them as one structured warning instead of loose console text.
  const printed: string[] = [];
  const originalWarn = console.warn;
  const originalLog = console.log;
  const capture = (...args: unknown[]): void => {
    printed.push(args.map(String).join(' ').trim());
  };
  console.warn = capture;
  console.log = capture;
  try {
    return { module: require('uWebSockets.js') as UwsModule, printed };
  } finally {
    console.warn = originalWarn;
    console.log = originalLog;
  }
}

const loaded = loadUws();

/** The uWebSockets.js module (native or fallback). Only src/edge/ uses it. */
export const uws: UwsModule = loaded.module;

function detectEngine(mod: UwsModule): UwsEngine {
  const exported = mod as unknown as Record<string, unknown>;
  return typeof exported['SSLApp'] === 'function' && typeof exported['getParts'] === 'function' ? 'native' : 'fallback';
}

/** "native" when the uWS C++ binary loaded; "fallback" when the package fell back to its JS implementation. */
export const uwsEngine: UwsEngine = detectEngine(uws);

/** What the package printed while loading (the reason for a fallback), joined; empty when it printed nothing. */
export const uwsLoadMessage: string = loaded.printed.filter((line) => line.length > 0).join(' | ');

/**
 * A request's path and raw query (without '?'). The native getUrl() is the path only and getQuery() the query; the
 * fallback's getUrl() carries the query and its getQuery() throws on a relative URL, so split the URL ourselves there.
 */
export function requestTarget(req: UwsTypes.HttpRequest): { path: string; query: string } {
  const url = req.getUrl();
  const mark = url.indexOf('?');
  if (mark !== -1) return { path: url.slice(0, mark), query: url.slice(mark + 1) };
  if (uwsEngine === 'fallback') return { path: url, query: '' };
  return { path: url, query: req.getQuery() ?? '' };
}

/** Closes a listen socket if there is one; safe to call twice with the same holder. */
export function closeListenSocket(holder: { listenSocket: UwsTypes.us_listen_socket | null }): void {
  const socket = holder.listenSocket;
  if (socket === null) return;
  holder.listenSocket = null;
  uws.us_listen_socket_close(socket);
}

/** The local port a listen socket is bound to (-1 when unknown). */
export function listenSocketPort(socket: UwsTypes.us_listen_socket): number {
  return uws.us_socket_local_port(socket as unknown as UwsTypes.us_socket);
}
