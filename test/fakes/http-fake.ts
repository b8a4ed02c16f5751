// The common part of the fake provider servers: a node:http server on 127.0.0.1 that records every request (route,
// headers, body, when it came) and whether the client closed the socket before the answer was complete (how a test
// sees that a barge-in or a timeout really ended the HTTP request), and per-route behaviour a test can switch: answer,
// fail with 500, or hang (never answer).
import type { Duplex } from 'node:stream';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour = 'ok' | 'error500' | 'hang';

export interface RecordedRequest {
  route: string;
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
  receivedAtMs: number;
  /** The client closed the connection before the answer ended. */
  wasAbortedByClient: boolean;
  /** The answer was written to its end. */
  isComplete: boolean;
  /** Set by the route handler (parsed body, etc.). */
  parsed?: unknown;
  closedAtMs?: number;
}

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, record: RecordedRequest) => void | Promise<void>;

export class HttpFake {
  readonly requests: RecordedRequest[] = [];
  /** Behaviour per route; a route not listed behaves 'ok'. */
  readonly behaviour = new Map<string, Behaviour>();
  /** Behaviours consumed one per request before `behaviour` applies (e.g. ['error500'] fails only the next one). */
  readonly nextBehaviours = new Map<string, Behaviour[]>();
  private readonly server: Server;
  private readonly routes = new Map<string, RouteHandler>();
  private readonly waiters: Array<{ predicate: () => boolean; resolve: () => void }> = [];
  port = 0;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  /** `key` is "METHOD /path" (query string ignored). */
  route(key: string, handler: RouteHandler): void {
    this.routes.set(key, handler);
  }

  /** WebSocket upgrades (a route of its own; an upgraded socket is no longer the HTTP server's to close). */
  onUpgrade(handler: (req: IncomingMessage, socket: Duplex, head: Buffer) => void): void {
    this.server.on('upgrade', handler);
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  of(route: string): RecordedRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  /** Resolves once `predicate` holds (checked after every request event). */
  waitFor(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('fake server: timed out waiting')), timeoutMs);
      this.waiters.push({ predicate, resolve: () => { clearTimeout(timer); resolve(); } });
    });
  }

  /** For a route that answers over time (a streamed body): lets waitFor() see its progress. */
  protected notifyProgress(): void {
    this.notify();
  }

  private notify(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const waiter = this.waiters[i];
      if (waiter && waiter.predicate()) {
        this.waiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private behaviourFor(route: string): Behaviour {
    const queued = this.nextBehaviours.get(route);
    if (queued !== undefined && queued.length > 0) return queued.shift() as Behaviour;
    return this.behaviour.get(route) ?? 'ok';
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const route = `${req.method ?? 'GET'} ${path}`;
    const chunks: Buffer[] = [];
    const record: RecordedRequest = {
      route, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.alloc(0),
      receivedAtMs: performance.now(), wasAbortedByClient: false, isComplete: false,
    };
    res.on('finish', () => {
      record.isComplete = true;
      this.notify();
    });
    res.on('close', () => {
      if (!res.writableFinished) {
        record.wasAbortedByClient = true;
        record.closedAtMs = performance.now();
      }
      this.notify();
    });
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      record.body = Buffer.concat(chunks);
      this.requests.push(record);
      const handler = this.routes.get(route);
      if (handler === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `no route ${route}` } }));
        this.notify();
        return;
      }
      const behaviour = this.behaviourFor(route);
      if (behaviour === 'error500') {
        res.writeHead(500, { 'content-type': 'application/json' })
          .end(JSON.stringify({ error: { code: 500, message: 'fake internal error', status: 'INTERNAL' } }));
        this.notify();
        return;
      }
      if (behaviour === 'hang') {
        this.notify();
        return; // never answers; the client must give up and close the socket
      }
      Promise.resolve(handler(req, res, record)).catch((error: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(error));
        else res.destroy();
      }).finally(() => this.notify());
      this.notify();
    });
  }
}

/** Parses a multipart/form-data body into its parts. */
export function parseMultipart(body: Buffer, contentType: string | undefined): Map<string, { filename?: string; contentType?: string; data: Buffer }> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType ?? '');
  const marker = boundary?.[1] ?? boundary?.[2];
  if (marker === undefined) throw new Error(`not multipart: ${contentType}`);
  const parts = new Map<string, { filename?: string; contentType?: string; data: Buffer }>();
  const delimiter = Buffer.from(`--${marker}`);
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const start = at + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', start);
    const next = body.indexOf(delimiter, headEnd);
    if (headEnd === -1 || next === -1) break;
    const head = body.subarray(start + 2, headEnd).toString('utf8');
    const data = body.subarray(headEnd + 4, next - 2); // part ends with CRLF before the delimiter
    const name = /name="([^"]*)"/.exec(head)?.[1];
    const filename = /filename="([^"]*)"/.exec(head)?.[1];
    const type = /content-type:\s*([^\r\n]+)/i.exec(head)?.[1];
    if (name !== undefined) {
      parts.set(name, { data, ...(filename !== undefined ? { filename } : {}), ...(type !== undefined ? { contentType: type } : {}) });
    }
    at = next;
  }
  return parts;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
