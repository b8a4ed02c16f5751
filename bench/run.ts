/**
 * `npm run bench`: every benchmark, ours against its peer in the same run, sized to fit in about 10 minutes on 2 cores.
 * dsp (dist/bench/dsp/run.js, as a child process, when it is built), then load (simultaneous calls), then webhooks,
 * then hotpath (the per-frame cost of the hardening guards, before and after; dist/bench/hotpath/run.js, a child).
 * Each part writes its own section of bench/RESULTS.md; load also draws bench/load-pacing.svg.
 *
 *   node dist/bench/run.js [--only dsp,load,webhooks,hotpath] [--quick]
 * --quick: a smoke run (small N, short windows) that still writes the report.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cpus } from 'node:os';
import { findRepoRoot } from './load/conversation.js';
import { machineCpuMs } from './load/procstat.js';
import { parseLoadArgs, runLoad } from './load/run.js';
import { writeLoadReport } from './load/report.js';
import { parseWebhookArgs, runWebhooks } from './webhooks/run.js';
import { writeWebhooksReport } from './webhooks/report.js';

function runChild(script: string, args: string[], timeoutMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
    const timer = setTimeout(() => { process.stderr.write(`bench: ${script} ran over ${timeoutMs / 1000} s; stopped\n`); child.kill('SIGKILL'); }, timeoutMs);
    child.once('exit', (code) => { clearTimeout(timer); resolve(code); });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const onlyArg = argv.indexOf('--only');
  const only = new Set((onlyArg >= 0 ? argv[onlyArg + 1] ?? '' : 'dsp,load,webhooks,hotpath').split(','));
  const isQuick = argv.includes('--quick');
  const started = Date.now();
  const failures: string[] = [];
  const m0 = machineCpuMs();
  await new Promise((r) => setTimeout(r, 2000));
  const m1 = machineCpuMs();
  const busyPct = ((m1.busyMs - m0.busyMs) / (m1.totalMs - m0.totalMs)) * 100;
  process.stdout.write(`bench: machine ${busyPct.toFixed(0)}% busy before starting (${cpus().length} cores)\n`);
  if (busyPct > 15) process.stdout.write('bench: WARNING: the machine is not idle; the figures will be pessimistic and noisy\n');
  const section = (name: string): void => {
    process.stdout.write(`\n=== ${name} (${((Date.now() - started) / 1000).toFixed(0)} s in) ===\n`);
  };

  if (only.has('dsp')) {
    section('dsp');
    const dsp = join(findRepoRoot(), 'dist', 'bench', 'dsp', 'run.js');
    if (existsSync(dsp)) {
      const code = await runChild(dsp, isQuick ? ['--quick'] : [], 300_000);
      if (code !== 0) failures.push(`dsp exited with ${code}`);
    } else {
      process.stdout.write('dist/bench/dsp/run.js is not built; skipped\n');
    }
  }

  if (only.has('load')) {
    section('load');
    const args = parseLoadArgs(isQuick
      ? ['--ns', '50,100', '--window-s', '4', '--budget-s', '60']
      : ['--ns', '100,250,500,750,1000,1250,1500,2000,3000,4000', '--window-s', '15', '--budget-s', '200', '--profile', '--calibrate']);
    try {
      const run = await runLoad(args);
      if (run.sweeps.length > 0) writeLoadReport(run, { workers: args.workers, edgeThreads: args.edgeThreads, windowS: args.windowS, settleS: args.settleS, boundMs: args.boundMs });
    } catch (err) {
      failures.push(`load: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  if (only.has('webhooks')) {
    section('webhooks');
    const args = parseWebhookArgs(isQuick ? ['--duration-s', '2'] : ['--duration-s', '8', '--profile']);
    try {
      const run = await runWebhooks(args);
      if (run.endpoints.length > 0) writeWebhooksReport(run, args);
    } catch (err) {
      failures.push(`webhooks: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  if (only.has('hotpath')) {
    section('hotpath');
    const hotpath = join(findRepoRoot(), 'dist', 'bench', 'hotpath', 'run.js');
    const childArgs = isQuick ? ['--expose-gc', hotpath, '--rounds', '3', '--no-callgrind'] : ['--expose-gc', hotpath];
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, childArgs, { stdio: 'inherit' });
      child.once('exit', (exitCode) => resolve(exitCode));
    });
    if (code !== 0) failures.push(`hotpath exited with ${code}`);
  }

  process.stdout.write(`\nbench: done in ${((Date.now() - started) / 1000).toFixed(0)} s; bench/RESULTS.md updated\n`);
  if (failures.length > 0) {
    process.stderr.write(`bench: ${failures.length} part(s) failed:\n  ${failures.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
