/**
 * `npm run bench:webhooks`: autocannon against POST /webhook/incoming_call (validly signed, answered with TwiML) and
 * POST /webhook/status (signed, 204), ours and the Fastify peer in the same run, both with signature checks on
 * (TWILIO_AUTH_TOKEN and PUBLIC_BASE_URL set) and LOG_LEVEL=warn. Requests per second, p99 latency, and the server's
 * CPU while loaded. Both servers stay up for the whole run and are measured in alternation for --rounds rounds (the
 * order flips every round). Each sample also records the machine's CPU used by anything but the server and
 * autocannon ("other CPU", from /proc/stat); each figure is the median over the rounds with other CPU under a quarter
 * of a core (over all rounds when none is), so that other work on a shared machine moves no figure unseen.
 *
 *   node dist/bench/webhooks/run.js [--duration-s 8] [--rounds 3] [--connections 50] [--edge-threads 1] [--profile] [--no-write] [--json out.json]
 */
import { createRequire } from 'node:module';
import { writeFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { summarizeProfiles, profileMarkdown } from '../load/profile.js';
import { pathToFileURL } from 'node:url';
import { connect } from 'node:net';
import twilio from 'twilio';
import { startServer, isServerBuilt, type RunningServer, type ServerKind } from '../load/servers.js';
import { machineCpuMs, processCpuMs } from '../load/procstat.js';
import { writeWebhooksReport } from './report.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; average: number; max: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  statusCodeStats: Record<string, { count: number }>;
}
type Autocannon = (opts: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

export const BENCH_AUTH_TOKEN = 'bench0auth0token0000000000000000';
export const BENCH_PUBLIC_BASE_URL = 'https://bench.example.com';

export interface WebhookArgs {
  durationS: number; connections: number; edgeThreads: number; write: boolean; json?: string; portBase: number;
  /** Measurements per server and endpoint, alternating ours and the peer; figures are medians over them. */
  rounds: number;
  /** Also profile ours (V8 --cpu-prof) under each endpoint's load. */
  profile: boolean;
}

export interface WebhooksRun { endpoints: EndpointResult[]; profileMarkdown?: string }

export interface EndpointResult {
  server: string;
  endpoint: string;
  requestsPerS: number;
  total: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  serverCpuPct: number;
  /** server CPU ms per request */
  serverCpuMsPerRequest: number;
  /** What a single signed request got, checked on a raw socket before the load (status, and any protocol problem). */
  probe: string;
  problems: string[];
  /** autocannon's own CPU (this process) while loading */
  generatorCpuPct: number;
  /** req/s of each round (the figures above are medians over the clean ones). */
  requestsPerSRounds: number[];
  /** CPU used on the machine by anything but the server and autocannon during each round, % of one core. */
  otherCpuPctRounds: number[];
  /** How many rounds the medians are over (those with other CPU under OTHER_CPU_CLEAN_PCT; all when none is). */
  cleanRounds: number;
}

/** A round is clean when everything else on the machine used less than this (% of one core) while it ran. */
export const OTHER_CPU_CLEAN_PCT = 25;

/** One signed request on a raw socket: the exact status line and headers, and anything a client could choke on. */
export function probe(port: number, path: string): Promise<{ summary: string; problems: string[] }> {
  const { body, signature } = signedRequest(path);
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let head = '';
    const done = (summary: string, problems: string[]): void => { socket.destroy(); resolve({ summary, problems }); };
    const timer = setTimeout(() => done('no answer within 3 s', ['no answer within 3 s']), 3000);
    socket.on('error', (e) => { clearTimeout(timer); done(`error ${e.message}`, [`socket error ${e.message}`]); });
    socket.on('data', (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      const lines = head.slice(0, end).split('\r\n');
      const status = Number(lines[0]?.split(' ')[1] ?? 0);
      const headers = new Map(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
      const problems: string[] = [];
      const length = headers.get('content-length');
      if ((status === 204 || status === 304) && length !== undefined && length !== '0') {
        problems.push(`${status} carries Content-Length: ${length} (a 204 must carry none; keep-alive clients wait for a body that never comes)`);
      }
      if (status < 200 || status >= 300) problems.push(`status ${status} to a validly signed request`);
      done(`${lines[0] ?? ''}${length !== undefined ? `, Content-Length ${length}` : ''}`, problems);
    });
    socket.write(`POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\n` +
      `X-Twilio-Signature: ${signature}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
}

const FORM: Record<string, Record<string, string>> = {
  '/webhook/incoming_call': {
    AccountSid: 'AC' + '1'.repeat(32), ApiVersion: '2010-04-01', CallSid: 'CA' + '2'.repeat(32), CallStatus: 'ringing',
    Called: '+15557650000', Caller: '+15551230000', Direction: 'inbound', From: '+15551230000', To: '+15557650000',
    FromCountry: 'US', ToCountry: 'US',
  },
  '/webhook/status': {
    AccountSid: 'AC' + '1'.repeat(32), ApiVersion: '2010-04-01', CallSid: 'CA' + '2'.repeat(32), CallStatus: 'completed',
    CallDuration: '42', Direction: 'inbound', From: '+15551230000', To: '+15557650000', SequenceNumber: '0',
    Timestamp: 'Mon, 01 Jan 2024 00:00:00 +0000',
  },
};

export function signedRequest(path: string): { body: string; signature: string } {
  const params = FORM[path]!;
  const body = new URLSearchParams(params).toString();
  const signature = twilio.getExpectedTwilioSignature(BENCH_AUTH_TOKEN, BENCH_PUBLIC_BASE_URL + path, params);
  return { body, signature };
}

async function hit(port: number, path: string, durationS: number, connections: number): Promise<AutocannonResult> {
  const { body, signature } = signedRequest(path);
  return autocannon({
    url: `http://127.0.0.1:${port}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    body,
    connections,
    pipelining: 1,
    duration: durationS,
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** One measured load on one endpoint of one server (the warm-up is not counted). */
async function measure(name: string, server: RunningServer, path: string, args: WebhookArgs): Promise<EndpointResult> {
  const cpu0 = processCpuMs(server.pid);
  const gen0 = process.cpuUsage();
  const machine0 = machineCpuMs();
  const t0 = Date.now();
  const r = await hit(server.port, path, args.durationS, args.connections);
  const wallMs = Date.now() - t0;
  const cpuMs = processCpuMs(server.pid) - cpu0;
  const genUsage = process.cpuUsage(gen0);
  const machineBusyMs = machineCpuMs().busyMs - machine0.busyMs;
  const otherCpuMs = Math.max(0, machineBusyMs - cpuMs - (genUsage.user + genUsage.system) / 1000);
  const statusCodes = Object.fromEntries(Object.entries(r.statusCodeStats).map(([k, v]) => [k, v.count]));
  return {
    server: name, endpoint: `POST ${path}`, requestsPerS: r.requests.average, total: r.requests.total,
    latencyP50Ms: r.latency.p50, latencyP99Ms: r.latency.p99, non2xx: r.non2xx, errors: r.errors + r.timeouts,
    statusCodes, serverCpuPct: (cpuMs / wallMs) * 100, serverCpuMsPerRequest: r.requests.total > 0 ? cpuMs / r.requests.total : Number.NaN,
    probe: '', problems: r.requests.total === 0 ? ['autocannon got no complete response'] : [],
    generatorCpuPct: ((genUsage.user + genUsage.system) / 1000 / wallMs) * 100,
    requestsPerSRounds: [r.requests.average],
    otherCpuPctRounds: [(otherCpuMs / wallMs) * 100],
    cleanRounds: 1,
  };
}

/** The medians of the clean rounds (all rounds when none is clean) of one server and endpoint; failures are summed over all. */
function combine(allSamples: EndpointResult[], probeResult: { summary: string; problems: string[] }): EndpointResult {
  const first = allSamples[0]!;
  const clean = allSamples.filter((x) => (x.otherCpuPctRounds[0] ?? 0) < OTHER_CPU_CLEAN_PCT);
  const samples = clean.length > 0 ? clean : allSamples;
  const statusCodes: Record<string, number> = {};
  for (const sample of allSamples) for (const [code, count] of Object.entries(sample.statusCodes)) statusCodes[code] = (statusCodes[code] ?? 0) + count;
  return {
    server: first.server, endpoint: first.endpoint,
    requestsPerS: median(samples.map((x) => x.requestsPerS)),
    total: allSamples.reduce((sum, x) => sum + x.total, 0),
    latencyP50Ms: median(samples.map((x) => x.latencyP50Ms)),
    latencyP99Ms: median(samples.map((x) => x.latencyP99Ms)),
    non2xx: allSamples.reduce((sum, x) => sum + x.non2xx, 0),
    errors: allSamples.reduce((sum, x) => sum + x.errors, 0),
    statusCodes,
    serverCpuPct: median(samples.map((x) => x.serverCpuPct)),
    serverCpuMsPerRequest: median(samples.map((x) => x.serverCpuMsPerRequest)),
    probe: probeResult.summary,
    problems: [...probeResult.problems, ...new Set(allSamples.flatMap((x) => x.problems))],
    generatorCpuPct: median(samples.map((x) => x.generatorCpuPct)),
    requestsPerSRounds: allSamples.map((x) => x.requestsPerS),
    otherCpuPctRounds: allSamples.map((x) => x.otherCpuPctRounds[0] ?? Number.NaN),
    cleanRounds: clean.length,
  };
}

export async function runWebhooks(args: WebhookArgs): Promise<WebhooksRun> {
  const servers: Array<{ name: string; kind: ServerKind; env: Record<string, string> }> = [
    { name: 'ours', kind: 'ours', env: { EDGE_THREADS: String(args.edgeThreads) } },
    { name: 'fastify', kind: 'webhooks-peer', env: {} },
  ];
  const out: EndpointResult[] = [];
  let port = args.portBase;
  const running: Array<{ name: string; server: RunningServer }> = [];
  try {
    for (const s of servers) {
      if (!isServerBuilt(s.kind)) { process.stderr.write(`bench:webhooks: ${s.name} is not built; skipped\n`); continue; }
      const server = await startServer(s.kind, {
        port: port++,
        // both at LOG_LEVEL=warn (startServer's default): neither writes a line per request
        env: { ...s.env, TWILIO_AUTH_TOKEN: BENCH_AUTH_TOKEN, PUBLIC_BASE_URL: BENCH_PUBLIC_BASE_URL },
      });
      running.push({ name: s.name, server });
    }
    for (const path of Object.keys(FORM)) {
      const probes = new Map<string, { summary: string; problems: string[] }>();
      const samples = new Map<string, EndpointResult[]>();
      for (const { name, server } of running) {
        probes.set(name, await probe(server.port, path));
        await hit(server.port, path, 1, args.connections);   // warm-up (JIT), not counted
        samples.set(name, []);
      }
      for (let round = 0; round < args.rounds; round++) {
        const order = round % 2 === 0 ? running : [...running].reverse();
        for (const { name, server } of order) {
          const e = await measure(name, server, path, args);
          samples.get(name)!.push(e);
          process.stdout.write(`${`${e.server} ${round + 1}/${args.rounds}`.padEnd(12)} ${e.endpoint.padEnd(30)} ${e.requestsPerS.toFixed(0).padStart(7)} req/s  ` +
            `p50 ${e.latencyP50Ms} ms p99 ${e.latencyP99Ms} ms  non-2xx ${e.non2xx} errors ${e.errors}  server ${e.serverCpuPct.toFixed(0)}% autocannon ${e.generatorCpuPct.toFixed(0)}% ` +
            `(${(e.serverCpuMsPerRequest * 1000).toFixed(1)} us/req) other ${(e.otherCpuPctRounds[0] ?? 0).toFixed(0)}% ${JSON.stringify(e.statusCodes)}\n`);
        }
      }
      for (const { name } of running) {
        const e = combine(samples.get(name)!, probes.get(name)!);
        out.push(e);
        process.stdout.write(`${`${e.server} median`.padEnd(12)} ${e.endpoint.padEnd(30)} ${e.requestsPerS.toFixed(0).padStart(7)} req/s  ` +
          `p99 ${e.latencyP99Ms} ms  server ${e.serverCpuPct.toFixed(0)}% (${(e.serverCpuMsPerRequest * 1000).toFixed(1)} us/req), over ${e.cleanRounds || 'all'} clean round(s) of ${args.rounds}\n` +
          (e.problems.length ? `             problems: ${e.problems.join('; ')}\n` : ''));
      }
    }
  } finally {
    for (const { server } of running) await server.stop();
  }
  const run: WebhooksRun = { endpoints: out };
  for (const path of args.profile && isServerBuilt('ours') ? ['/webhook/incoming_call', '/webhook/status'] : []) {
    const dir = mkdtempSync(join(tmpdir(), 'ai-crmd-prof-'));
    try {
      const server = await startServer('ours', {
        port: port++, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
        env: { EDGE_THREADS: String(args.edgeThreads), TWILIO_AUTH_TOKEN: BENCH_AUTH_TOKEN, PUBLIC_BASE_URL: BENCH_PUBLIC_BASE_URL },
      });
      try {
        await hit(server.port, path, Math.min(4, args.durationS), args.connections);
      } finally {
        await server.stop();
      }
      const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
      const markdown = profileMarkdown('ours', 0, summarizeProfiles(files, 12)).replace(' at N=0', ` under POST ${path} load`);
      run.profileMarkdown = run.profileMarkdown === undefined ? markdown : `${run.profileMarkdown}\n\n${markdown}`;
      process.stdout.write(markdown + '\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return run;
}

export function parseWebhookArgs(argv: string[]): WebhookArgs {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const args: WebhookArgs = {
    durationS: Number(get('duration-s') ?? 8),
    connections: Number(get('connections') ?? 50),
    edgeThreads: Number(get('edge-threads') ?? 1),
    write: !argv.includes('--no-write'),
    portBase: Number(get('port') ?? 18_180),
    rounds: Number(get('rounds') ?? 3),
    profile: argv.includes('--profile'),
  };
  const json = get('json');
  if (json) args.json = json;
  if (!(args.durationS >= 1 && args.durationS <= 120)) throw new RangeError('--duration-s must be between 1 and 120');
  if (!(args.connections >= 1 && args.connections <= 1000)) throw new RangeError('--connections must be between 1 and 1000');
  if (!(Number.isInteger(args.rounds) && args.rounds >= 1 && args.rounds <= 20)) throw new RangeError('--rounds must be an integer between 1 and 20');
  return args;
}

const USAGE = 'node dist/bench/webhooks/run.js [--duration-s 8] [--rounds 3] [--connections 50] [--edge-threads 1] [--port 18180] ' +
  '[--profile] [--no-write] [--json out.json]\n' +
  '  ours (EDGE_THREADS edge threads) and the Fastify peer (one process), both LOG_LEVEL=warn, measured in alternation;\n' +
  '  writes the webhooks section of bench/RESULTS.md unless --no-write.\n';

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(USAGE);
    return;
  }
  const args = parseWebhookArgs(process.argv.slice(2));
  const run = await runWebhooks(args);
  if (args.json) writeFileSync(args.json, JSON.stringify({ args, ...run }, null, 2));
  if (args.write && run.endpoints.length > 0) writeWebhooksReport(run, args);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:webhooks failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
