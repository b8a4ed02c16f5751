/**
 * bench/RESULTS.md is shared by several benchmarks: each writes only between its own markers
 * (`<!-- name:begin -->` ... `<!-- name:end -->`), appending the pair when it is missing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { cpus, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from './conversation.js';

export function resultsPath(): string {
  return join(findRepoRoot(), 'bench', 'RESULTS.md');
}

export function replaceSection(name: string, body: string, file = resultsPath()): void {
  const begin = `<!-- ${name}:begin -->`;
  const end = `<!-- ${name}:end -->`;
  let text = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n\nWritten by `npm run bench` (each part by its own script). Rerun to refresh.\n';
  const block = `${begin}\n${body.trimEnd()}\n${end}`;
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i >= 0 && j > i) text = text.slice(0, i) + block + text.slice(j + end.length);
  else text = text.trimEnd() + '\n\n' + block + '\n';
  writeFileSync(file, text);
}

export interface Machine { cpu: string; cores: number; memoryGb: number; node: string; kernel: string; date: string; commit: string }

export function machine(): Machine {
  const root = findRepoRoot();
  let commit = 'no commit yet';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    // the files a bench run writes itself (an earlier part of `npm run bench` may have written them) do not count
    const written = new Set(['bench/RESULTS.md', 'bench/load-pacing.svg']);
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString().split('\n').map((line) => line.slice(3).trim()).filter((path) => path !== '' && !written.has(path));
    if (dirty.length > 0) commit += ' (with uncommitted changes)';
  } catch { /* not a git checkout, or no commit */ }
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    memoryGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    kernel: `Linux ${release()}`,
    date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    commit,
  };
}

export function machineLine(m: Machine = machine()): string {
  return `${m.date} · commit ${m.commit} · ${m.cpu}, ${m.cores} cores, ${m.memoryGb} GB · ${m.kernel} · Node ${m.node}`;
}

export function fmt(x: number, digits = 2): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '–';
}
