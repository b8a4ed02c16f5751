/**
 * Starting and stopping the servers under test as child processes on 127.0.0.1: ours (dist/src/main.js) and the
 * peers (dist/bench/peers/*.js). A server is ready when GET /version answers; its pid is what /proc is read for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { findRepoRoot } from './conversation.js';

export type ServerKind = 'ours' | 'ws-peer' | 'webhooks-peer' | 'calibration';

export interface StartOptions {
  port: number;
  env?: Record<string, string>;
  readyTimeoutMs?: number;
  /** Extra node flags before the entry (e.g. --cpu-prof). */
  nodeArgs?: string[];
  cwd?: string;
}

export interface RunningServer {
  kind: ServerKind;
  pid: number;
  port: number;
  /** The last few KB the server wrote to stdout/stderr (for error reports). */
  logTail(): string;
  hasExited(): boolean;
  stop(): Promise<number | null>;
}

export function serverEntry(kind: ServerKind): string {
  const root = findRepoRoot();
  switch (kind) {
    case 'ours': return join(root, 'dist', 'src', 'main.js');
    case 'ws-peer': return join(root, 'dist', 'bench', 'peers', 'ws-echo-peer.js');
    case 'webhooks-peer': return join(root, 'dist', 'bench', 'peers', 'fastify-webhooks-peer.js');
    case 'calibration': return join(root, 'dist', 'bench', 'load', 'calibration-server.js');
  }
}

export function isServerBuilt(kind: ServerKind): boolean {
  return existsSync(serverEntry(kind));
}

function getStatus(port: number, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => { req.destroy(); resolve(0); });
    req.end();
  });
}

export async function startServer(kind: ServerKind, options: StartOptions): Promise<RunningServer> {
  const entry = serverEntry(kind);
  if (!existsSync(entry)) throw new Error(`${entry} is not built (npm run build)`);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    // The load runs the keyless echo agent and, unless told otherwise, the insecure dev mode (no signatures).
    if (v !== undefined && !/^(OPENAI_|GOOGLE_|TWILIO_|INSECURE_|RECORDS|DATA_DIR|DATABASE_URL)/.test(k) && k !== 'PUBLIC_BASE_URL') env[k] = v;
  }
  // A token-less server refuses to start unless it opts in; the load runs on loopback, so INSECURE_DEV_MODE=1.
  const devMode: Record<string, string> = options.env?.['TWILIO_AUTH_TOKEN'] === undefined ? { INSECURE_DEV_MODE: '1' } : {};
  // Records off unless a run asks: the figures stay comparable with the runs before records existed (what records cost
  // per call-second is the next benchmark to build: issue 14).
  Object.assign(env, { PORT: String(options.port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', DRAIN_TIMEOUT_S: '1', NODE_ENV: 'production', RECORDS: 'off' }, devMode, options.env ?? {});
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), entry], { env, cwd: options.cwd ?? findRepoRoot(), stdio: ['ignore', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (chunk: Buffer): void => { tail = (tail + chunk.toString('utf8')).slice(-8192); };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { exitCode = code; resolve(code); }));

  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (exitCode !== undefined) throw new Error(`${kind} exited with ${exitCode} before it was ready:\n${tail}`);
    const status = await getStatus(options.port, '/version');
    if (status > 0) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${kind} did not answer GET /version on port ${options.port}:\n${tail}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    kind,
    pid: child.pid ?? -1,
    port: options.port,
    logTail: () => tail,
    hasExited: () => exitCode !== undefined,
    stop: async () => {
      if (exitCode !== undefined) return exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
