/**
 * `npm run bench:dsp`: the native DSP against the JS/WASM packages people use today, side by side in one run on one
 * machine (issue 2 section 5). Every case is warmed up, then timed in several repetitions; the median is reported per
 * 20 ms frame. Prints the tables and rewrites the DSP section of bench/RESULTS.md. Options: --quick (shorter runs,
 * for a smoke test), --no-write (print only), --only=<section> (one of mu-law, resampling, vad, batcher, pool; print
 * only).
 */

import os from 'node:os';
import path from 'node:path';

import { benchBatcher } from './batcher.js';
import { benchMulaw } from './mulaw.js';
import { REPO_ROOT, type SectionResult } from './report.js';
import { benchResample } from './resample.js';
import { machineInfo, markdownTable, textTable, writeSection } from './results-md.js';
import { DEFAULT_TIMING, sink, type TimingOptions } from './timing.js';
import { benchVad } from './vad.js';

const args = new Set(process.argv.slice(2));
const isQuick = args.has('--quick');
const onlySection = [...args].find((a) => a.startsWith('--only='))?.slice('--only='.length);
const timing: TimingOptions = isQuick ? { warmupMs: 20, repMs: 30, reps: 3 } : DEFAULT_TIMING;

function printSection(s: SectionResult): void {
  console.log(`\n## ${s.title}\n`);
  console.log(textTable(s.table.header, s.table.rows, s.table.align));
  for (const t of s.targets) console.log(`${t.isMet ? 'MET    ' : 'NOT MET'}  ${t.target}: ${t.measured}`);
  for (const n of s.notes) console.log(`note: ${n}`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = os.loadavg()[0]!;
  const machine = machineInfo(REPO_ROOT);
  console.log(`bench:dsp on ${machine.cpuModel}, ${machine.cores} cores, node ${machine.node}, ${machine.commit}${isQuick ? ' (--quick)' : ''}`);

  const sections: SectionResult[] = [];
  const run = async (name: string, fn: () => SectionResult | Promise<SectionResult>): Promise<void> => {
    if (onlySection !== undefined && name !== onlySection) return;
    const t0 = Date.now();
    const s = await fn();
    sections.push(s);
    printSection(s);
    console.log(`(${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  };
  await run('mu-law', () => benchMulaw(timing));
  await run('resampling', () => benchResample(timing));
  await run('vad', () => benchVad(timing));
  await run('batcher', () => benchBatcher(timing));
  // Loaded lazily so the other sections still run if the pool module is missing or broken.
  try {
    const { benchPool } = await import('./pool.js');
    await run('pool', () => benchPool(isQuick));
  } catch (err) {
    console.error('pool section failed:', err);
    sections.push({ title: 'Pool round trip vs inline', table: { header: ['Case'], rows: [], align: ['l'] }, targets: [],
      notes: [`Not measured in this run: ${err instanceof Error ? err.message : String(err)}`] });
  }

  const elapsedS = (Date.now() - started) / 1000;
  const loadEnd = os.loadavg()[0]!;
  const targets = sections.flatMap((s) => s.targets);
  console.log(`\n## Targets\n`);
  for (const t of targets) console.log(`${t.isMet ? 'MET    ' : 'NOT MET'}  ${t.target}: ${t.measured}`);
  console.log(`\nbench:dsp took ${elapsedS.toFixed(0)} s (sink ${sink})`);

  if (args.has('--no-write') || onlySection !== undefined) return;
  const md: string[] = [
    '## DSP: native addon vs JS/WASM peers (`npm run bench:dsp`)',
    '',
    `Machine: ${machine.cpuModel}, ${machine.cores} cores; Node ${machine.node}; ${machine.date}; commit ${machine.commit}.` +
      (isQuick ? ' **Quick run (--quick): short repetitions, figures are rough.**' : ''),
    '',
    `Method: each case warmed up (${timing.warmupMs} ms), then ${timing.reps} repetitions of ~${timing.repMs} ms; the median per 20 ms frame is shown. ` +
      '"frames/s (1 core)" is 1 s divided by that time. "native speedup" = fastest eligible peer\'s time / native time. ' +
      `The whole run took ${elapsedS.toFixed(0)} s; 1-minute load average ${loadStart.toFixed(1)} at the start and ${loadEnd.toFixed(1)} at the end ` +
      `(${machine.cores} cores: above ${machine.cores} means other processes competed for the CPU, and per-frame figures can move by 2x between runs).`,
    '',
    '### Targets',
    '',
    markdownTable(['Target', 'Measured', 'Met?'], targets.map((t) => [t.target, t.measured, t.isMet ? 'yes' : '**no**'])),
  ];
  for (const s of sections) {
    md.push('', `### ${s.title}`, '', markdownTable(s.table.header, s.table.rows, s.table.align));
    if (s.notes.length > 0) md.push('', ...s.notes.map((n) => `- ${n}`));
  }
  const resultsPath = path.join(REPO_ROOT, 'bench', 'RESULTS.md');
  writeSection(resultsPath, 'dsp', md.join('\n'));
  console.log(`wrote the dsp section of ${path.relative(process.cwd(), resultsPath) || resultsPath}`);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
