// The one place that loads uWebSockets.js. We depend on two builds of it (see uws-loader.ts for which loads where) and
// load the one whose binary loads on this Node and glibc; only when neither does, the trufflesuite package's slow
// pure-JS fallback, which it picks silently (it only prints to the console). So we record which build loaded, whether
// it is native, and why the others did not, and let the caller say so (loudly for the fallback). The types come from
// the btc-vision build (the newer uWS); both builds share the API we use.
import { createRequire } from 'node:module';
import type * as UwsTypes from 'uws-btc-vision';
import { currentUwsHost, loadUwsBuild, orderUwsBuilds, type UwsEngine } from './uws-loader.js';

export type {
  HttpRequest,
  HttpResponse,
  TemplatedApp,
  WebSocket,
  WebSocketBehavior,
  us_listen_socket,
  us_socket_context_t,
} from 'uws-btc-vision';
export type { UwsEngine } from './uws-loader.js';

type UwsModule = typeof UwsTypes;

const loaded = loadUwsBuild<UwsModule>(orderUwsBuilds(currentUwsHost()), createRequire(import.meta.url));

/** The uWebSockets.js module (native or fallback). Only src/edge/ uses it. */
export const uws: UwsModule = loaded.module;

/** "native" when a uWS C++ binary loaded; "fallback" when only the trufflesuite package's JS implementation did. */
export const uwsEngine: UwsEngine = loaded.engine;

/** The package that loaded, with its version: "@btc-vision/uwebsockets.js@20.57.0". */
export const uwsBuild: string = loaded.buildLabel;

/** Why the builds tried before the one used gave no native binary (the reason for a fallback), joined; else empty. */
export const uwsLoadMessage: string = loaded.failures.join(' | ');

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
