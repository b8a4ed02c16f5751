/**
 * `npm run bench:load`: the simultaneous-calls benchmark. Sweeps N against ours and the `ws` peer in the same run
 * with the same generator, then writes the load section of bench/RESULTS.md and bench/load-pacing.svg.
 *
 *   node dist/bench/load/run.js [--ns 100,250,500,1000,2000,4000] [--window-s 15] [--workers 2]
 *        [--servers ours,peer] [--edge-threads 1] [--bound-ms 5] [--budget-s 300] [--no-write] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { LoadGenerator, sweepServer, judge, type SweepResult, type StepResult } from './sweep.js';
import { profileStep, profileMarkdown } from './profile.js';
import { isServerBuilt } from './servers.js';
import { writeLoadReport } from './report.js';

export interface LoadArgs {
  ns: number[];
  windowS: number;
  workers: number;
  servers: string[];
  edgeThreads: number;
  boundMs: number;
  budgetS: number;
  write: boolean;
  json?: string;
  portBase: number;
  /** Profile ours (and the peer) with V8 --cpu-prof in one extra step at the N where each broke. */
  profile: boolean;
}

export interface LoadRun { sweeps: SweepResult[]; profiles: Array<{ server: string; n: number; markdown: string }> }

export function parseLoadArgs(argv: string[]): LoadArgs {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const args: LoadArgs = {
    ns: (get('ns') ?? '100,250,500,1000,2000,4000').split(',').map(Number),
    windowS: Number(get('window-s') ?? 15),
    workers: Number(get('workers') ?? 2),
    servers: (get('servers') ?? 'ours,peer').split(','),
    edgeThreads: Number(get('edge-threads') ?? 1),
    boundMs: Number(get('bound-ms') ?? 5),
    budgetS: Number(get('budget-s') ?? 300),
    write: !argv.includes('--no-write'),
    portBase: Number(get('port') ?? 18_080),
    profile: argv.includes('--profile'),
  };
  const json = get('json');
  if (json) args.json = json;
  const problems: string[] = [];
  if (args.ns.some((n) => !Number.isInteger(n) || n < 1)) problems.push('--ns must be a comma-separated list of positive integers');
  if (!(args.windowS >= 1 && args.windowS <= 120)) problems.push('--window-s must be between 1 and 120');
  if (!(args.workers >= 1 && args.workers <= 8)) problems.push('--workers must be between 1 and 8');
  if (args.servers.some((s) => s !== 'ours' && s !== 'peer')) problems.push('--servers takes ours and/or peer');
  if (problems.length > 0) throw new RangeError(problems.join('\n'));
  return args;
}

export function formatStep(r: StepResult): string {
  const f = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '-');
  return `${r.server.padEnd(5)} N=${String(r.n).padStart(5)} ${r.held ? 'held ' : 'BROKE'} ` +
    `pacing p50/p99/max ${f(r.pacingP50Ms)}/${f(r.pacingP99Ms)}/${f(r.pacingMaxMs, 1)} ms (${r.pacingSamples}), gaps ${r.audibleGaps}, ` +
    `echo p50/p99 ${f(r.echoDelayP50Ms, 0)}/${f(r.echoDelayP99Ms, 0)} ms, lost ${r.framesLost} dup ${r.framesDuplicated}, ` +
    `hs-fail ${r.handshakeFailed} drop ${r.callsDropped}, server ${f(r.serverCpuPct, 0)}% CPU ${f(r.serverCpuMsPerCallSecond, 3)} ms/call-s ` +
    `${f(r.serverRssMb, 0)} MB (${f(r.memoryPerCallKb, 0)} KB/call), gen ${f(r.generatorCpuPct, 0)}% ` +
    `[${r.generatorElu.map((e) => f(e)).join(',')}] lag p99 ${f(r.generatorSendLagP99Ms)} ms, other ${f(r.otherCpuPct, 0)}%` + (r.attempts > 1 ? ` (attempt ${r.attempts})` : '') +
    (r.failures.length ? `\n      ${r.failures.join('; ')}` : '');
}

export async function runLoad(args: LoadArgs): Promise<LoadRun> {
  const gen = await LoadGenerator.create(args.workers);
  const results: SweepResult[] = [];
  const profiles: LoadRun['profiles'] = [];
  try {
    let port = args.portBase;
    for (const s of args.servers) {
      const kind = s === 'ours' ? 'ours' : 'ws-peer';
      if (!isServerBuilt(kind)) {
        process.stderr.write(`bench:load: ${s} is not built; skipped\n`);
        continue;
      }
      const env: Record<string, string> = s === 'ours' ? { EDGE_THREADS: String(args.edgeThreads) } : {};
      const r = await sweepServer(gen, kind, s, port++, env, {
        ns: args.ns,
        windowMs: args.windowS * 1000,
        bound: { pacingP99Ms: args.boundMs },
        budgetMs: args.budgetS * 1000,
        onStep: (step) => process.stdout.write(formatStep(step) + '\n'),
      });
      process.stdout.write(`${s}: largest N that held: ${r.largestHeldN} (${r.stoppedBecause})\n`);
      results.push(r);
      if (args.profile) {
        const n = (r.steps.find((x) => !x.held) ?? r.steps.at(-1))?.n;
        if (n !== undefined) {
          process.stdout.write(`${s}: profiling one step at N=${n}\n`);
          const { step, profile } = await profileStep(gen, kind, s, port++, env, n, { windowMs: Math.min(10_000, args.windowS * 1000) });
          process.stdout.write(formatStep(judge(step, { pacingP99Ms: args.boundMs })) + ' (profiled)\n');
          const markdown = profileMarkdown(s, n, profile);
          process.stdout.write(markdown + '\n');
          profiles.push({ server: s, n, markdown });
        }
      }
    }
  } finally {
    await gen.close();
  }
  return { sweeps: results, profiles };
}

async function main(): Promise<void> {
  const args = parseLoadArgs(process.argv.slice(2));
  const run = await runLoad(args);
  if (args.json) writeFileSync(args.json, JSON.stringify({ args, ...run }, null, 2));
  if (args.write && run.sweeps.length > 0) writeLoadReport(run, { workers: args.workers, edgeThreads: args.edgeThreads, windowS: args.windowS, boundMs: args.boundMs });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:load failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
