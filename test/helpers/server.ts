// Starts the real, built server (`node dist/src/main.js`, built by `tsc` before vitest runs) on 127.0.0.1 and a free
// port with the environment a test asks for, waits until every edge thread answers /version, and hands back its URLs,
// its log lines and ways to signal it and wait for its exit. Tests talk to it only over sockets, like Twilio would.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SERVER_ENTRY = join(REPO_ROOT, 'dist', 'src', 'main.js');
/** The edge tests' session module (echoes marks; "flood" mode), built from test/edge/test-sessions.ts. */
export const TEST_SESSION_MODULE = join(REPO_ROOT, 'dist', 'test', 'edge', 'test-sessions.js');

/** Variables the server reads; removed from the inherited environment so that a developer's shell cannot leak in. */
const SERVER_VARIABLE_PREFIXES = [
  'PORT', 'HOST', 'PUBLIC_BASE_URL', 'TWILIO_', 'STREAM_TOKEN_', 'EDGE_', 'DSP_THREADS', 'DRAIN_TIMEOUT_S', 'LOG_LEVEL',
  'WS_', 'SLOW_CLIENT_', 'PLAYOUT_', 'VAD_', 'TURN_', 'BARGE_IN', 'AGENT', 'GREETING', 'SYSTEM_PROMPT', 'LANGUAGE',
  'OPENAI_', 'TTS_', 'GOOGLE_', 'ASR_', 'LLM_', 'UWS_', 'INSECURE_', 'VITEST', 'CONTROL_API_KEY', 'RECORDS', 'DATA_DIR',
  'DATABASE_URL', 'VOICEMAIL_LINE', 'TRANSFER_', 'DSP_JOB_', 'DSP_MAX_', 'WEBHOOK_SIGNING_SECRET', 'CALL_SUMMARIES', 'RECORD_AUDIO',
];

export interface StartServerOptions {
  /**
   * Extra environment (EDGE_THREADS defaults to 2, LOG_LEVEL to info, DRAIN_TIMEOUT_S to 5, CALL_SUMMARIES to off (a
   * summary is one more chat request to the fake, which tests that count them would see), and INSECURE_DEV_MODE to 1
   * unless the test sets TWILIO_AUTH_TOKEN or its own INSECURE_DEV_MODE: a token-less server refuses to start).
   */
  env?: Record<string, string>;
  /** How long to wait for the server to answer /version with all threads ready. */
  readyTimeoutMs?: number;
}

export interface ExitResult {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningServer {
  port: number;
  /** http://127.0.0.1:PORT */
  baseUrl: string;
  /** ws://127.0.0.1:PORT */
  wsBaseUrl: string;
  child: ChildProcess;
  /** Parsed JSON log lines so far (non-JSON lines are kept as { raw }). */
  logs(): Array<Record<string, unknown>>;
  /** Resolves with the first log line matching `predicate` (already logged or to come). */
  waitForLog(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited. */
  exited: Promise<ExitResult>;
  /** Sends a signal (default SIGTERM). */
  signal(signal?: NodeJS.Signals): void;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit. Safe to call after the process has exited. */
  stop(graceMs?: number): Promise<ExitResult>;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((done) => setTimeout(done, ms));

export async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { headers: { connection: 'close' } });
  const text = await response.text();
  return { status: response.status, body: text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

export async function startServer(options: StartServerOptions = {}): Promise<RunningServer> {
  if (!existsSync(SERVER_ENTRY)) {
    throw new Error(`${SERVER_ENTRY} is missing: build first (npx tsc -p tsconfig.json)`);
  }
  const port = await freePort();
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || SERVER_VARIABLE_PREFIXES.some((prefix) => name.startsWith(prefix))) continue;
    env[name] = value;
  }
  const isSecurityChosen = options.env?.['TWILIO_AUTH_TOKEN'] !== undefined || options.env?.['INSECURE_DEV_MODE'] !== undefined;
  const devMode: Record<string, string> = isSecurityChosen ? {} : { INSECURE_DEV_MODE: '1' };
  // each server its own records folder (SQLite), removed with the temp folder by the OS; a test may name its own
  const dataDir = mkdtempSync(join(tmpdir(), 'ai-crmd-test-data-'));
  Object.assign(env, { EDGE_THREADS: '2', LOG_LEVEL: 'info', DRAIN_TIMEOUT_S: '5', DATA_DIR: dataDir, CALL_SUMMARIES: 'off' }, devMode, options.env ?? {}, {
    PORT: String(port),
    HOST: '127.0.0.1',
  });
  const expectedThreads = Math.max(1, Number(env['EDGE_THREADS']));

  // cwd outside the repository: a developer's .env must not change what a test sees.
  const child = spawn(process.execPath, [SERVER_ENTRY], { cwd: tmpdir(), env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ predicate: (line: Record<string, unknown>) => boolean; resolve: (line: Record<string, unknown>) => void }> = [];
  const onLine = (text: string): void => {
    if (text.trim().length === 0) return;
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { raw: text };
    }
    lines.push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const waiter = waiters[i];
      if (waiter && waiter.predicate(line)) {
        waiters.splice(i, 1);
        waiter.resolve(line);
      }
    }
  };
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      pending += chunk;
      let newline = pending.indexOf('\n');
      while (newline !== -1) {
        onLine(pending.slice(0, newline));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf('\n');
      }
    });
  }
  let exitResult: ExitResult | null = null;
  const exited = new Promise<ExitResult>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exitResult = { code, signal };
      resolveExit(exitResult);
    });
  });

  const baseUrl = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.readyTimeoutMs ?? 15_000);
  for (;;) {
    if (exitResult !== null) {
      throw new Error(`server exited during start-up (${JSON.stringify(exitResult)}):\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    }
    try {
      const { status, body } = await getJson(`${baseUrl}/version`);
      if (status === 200 && Number(body['edgeThreadsReady']) >= expectedThreads) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`server did not become ready:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`);
    }
    await sleep(50);
  }

  return {
    port,
    baseUrl,
    wsBaseUrl: `ws://127.0.0.1:${port}`,
    child,
    logs: () => lines,
    waitForLog(predicate, timeoutMs = 5_000) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolveLine, reject) => {
        const timer = setTimeout(() => reject(new Error('timed out waiting for a log line')), timeoutMs);
        waiters.push({
          predicate,
          resolve: (line) => {
            clearTimeout(timer);
            resolveLine(line);
          },
        });
      });
    },
    exited,
    signal(signal = 'SIGTERM') {
      if (exitResult === null) child.kill(signal);
    },
    async stop(graceMs = 8_000) {
      if (exitResult !== null) return exitResult;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const result = await exited;
      clearTimeout(timer);
      return result;
    },
  };
}

export interface RunToExit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the built server with exactly `env` (plus PATH), from a directory without a .env file, until it exits: for
 * configurations it must refuse before it listens. Rejects if it is still running after `timeoutMs`.
 */
export function runServerToExit(env: Record<string, string>, timeoutMs = 10_000): Promise<RunToExit> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [SERVER_ENTRY], {
      cwd: tmpdir(),
      env: { PATH: process.env['PATH'] ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the server did not exit within ${timeoutMs} ms (it should refuse to start):\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolveRun({ code, stdout, stderr });
    });
  });
}

export interface RawResponse {
  status: number;
  statusLine: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The head exactly as received (status line and headers). */
  head: string;
}

/**
 * Sends `request` (a complete HTTP/1.1 request head, CRLF line ends) on a raw TCP socket and resolves with the
 * response head as it came off the wire — for checking a 101's exact headers, which client libraries hide.
 */
export function rawRequest(port: number, request: string, timeoutMs = 5_000): Promise<RawResponse> {
  return new Promise((resolveResponse, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let received = Buffer.alloc(0);
    let isDone = false;
    const finish = (head: string): void => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      socket.destroy();
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon === -1) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
      }
      resolveResponse({ status: Number(statusLine.split(' ')[1]), statusLine, headers, head });
    };
    const timer = setTimeout(() => {
      isDone = true;
      socket.destroy();
      reject(new Error(`no complete response head within ${timeoutMs} ms: ${JSON.stringify(received.toString('latin1'))}`));
    }, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const end = received.indexOf('\r\n\r\n');
      if (end !== -1) finish(received.subarray(0, end).toString('latin1'));
    });
    // A peer that closes without a complete head (or with a malformed one): report what it sent.
    socket.on('end', () => finish(received.toString('latin1').trimEnd()));
    socket.on('error', (error) => {
      if (isDone) return;
      isDone = true;
      clearTimeout(timer);
      reject(error);
    });
  });
}

/** A WebSocket upgrade request head for `path` with extra header lines. */
export function upgradeRequest(path: string, extraHeaders: Record<string, string> = {}): string {
  const lines = [
    `GET ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...Object.entries(extraHeaders).map(([name, value]) => `${name}: ${value}`),
  ];
  return `${lines.join('\r\n')}\r\n\r\n`;
}

export interface WsClient {
  ws: WebSocket;
  /** Text frames received so far. */
  received: string[];
  /** The subprotocol the server chose ('' when none). */
  protocol: string;
  /** Resolves with the first received frame (past or future) matching `predicate`. */
  waitForMessage(predicate: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Resolves when the socket closes. */
  closed: Promise<{ code: number; reason: string }>;
  send(text: string): void;
}

/** Opens a `ws` client; rejects with the HTTP status when the server refuses the upgrade. */
export function connectWs(
  url: string,
  options: { protocols?: string | string[]; headers?: Record<string, string> } = {},
): Promise<WsClient> {
  return new Promise((resolveClient, reject) => {
    const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers ?? {} });
    const received: string[] = [];
    const waiters: Array<{ predicate: (text: string) => boolean; resolve: (text: string) => void }> = [];
    const closed = new Promise<{ code: number; reason: string }>((resolveClosed) => {
      ws.on('close', (code, reason) => resolveClosed({ code, reason: reason.toString('utf8') }));
    });
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? `<binary ${String(data)}>` : String(data);
      received.push(text);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const waiter = waiters[i];
        if (waiter && waiter.predicate(text)) {
          waiters.splice(i, 1);
          waiter.resolve(text);
        }
      }
    });
    ws.once('unexpected-response', (_req, res) => {
      reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode }));
      ws.terminate();
    });
    ws.once('error', (error) => reject(error));
    ws.once('open', () => {
      resolveClient({
        ws,
        received,
        protocol: ws.protocol,
        closed,
        send: (text) => ws.send(text),
        waitForMessage(predicate, timeoutMs = 5_000) {
          const found = received.find(predicate);
          if (found !== undefined) return Promise.resolve(found);
          return new Promise((resolveMessage, rejectMessage) => {
            const timer = setTimeout(() => rejectMessage(new Error('timed out waiting for a message')), timeoutMs);
            waiters.push({
              predicate,
              resolve: (text) => {
                clearTimeout(timer);
                resolveMessage(text);
              },
            });
          });
        },
      });
    });
  });
}
