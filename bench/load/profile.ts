/**
 * Where a server's time goes: runs one load step against a server started with V8's --cpu-prof, then summarises the
 * .cpuprofile files it wrote at exit (one per thread) as the functions with the most self time.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type ServerKind } from './servers.js';
import { runStep, type LoadGenerator, type StepOptions, type StepResult } from './sweep.js';

interface ProfileNode { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

export interface HotFunction { name: string; where: string; selfMs: number; pct: number }
export interface ProfileSummary { threads: number; busyMs: number; idleMs: number; top: HotFunction[] }

export function summarizeProfiles(files: string[], topN = 15): ProfileSummary {
  const self = new Map<string, { name: string; where: string; us: number }>();
  let idleUs = 0;
  let busyUs = 0;
  for (const file of files) {
    const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
    const byId = new Map(prof.nodes.map((n) => [n.id, n]));
    for (let i = 0; i < prof.samples.length; i++) {
      const node = byId.get(prof.samples[i]!);
      const dt = prof.timeDeltas[i + 1] ?? 0;
      if (!node) continue;
      const { functionName, url, lineNumber } = node.callFrame;
      if (functionName === '(idle)') { idleUs += dt; continue; }
      busyUs += dt;
      const where = url ? `${url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/').replace(/^node:/, 'node:')}:${lineNumber + 1}` : '';
      const key = `${functionName}|${where}`;
      const e = self.get(key) ?? { name: functionName || '(anonymous)', where, us: 0 };
      e.us += dt;
      self.set(key, e);
    }
  }
  const top = [...self.values()].sort((a, b) => b.us - a.us).slice(0, topN)
    .map((e) => ({ name: e.name, where: e.where, selfMs: e.us / 1000, pct: busyUs > 0 ? (e.us / busyUs) * 100 : 0 }));
  return { threads: files.length, busyMs: busyUs / 1000, idleMs: idleUs / 1000, top };
}

/** One step at N against a freshly started, profiled server; the summary covers its whole life (start-up is small). */
export async function profileStep(gen: LoadGenerator, kind: ServerKind, name: string, port: number, env: Record<string, string>,
                                  n: number, opts: StepOptions): Promise<{ step: StepResult; profile: ProfileSummary }> {
  const dir = mkdtempSync(join(tmpdir(), 'ai-crmd-prof-'));
  try {
    const server = await startServer(kind, { port, env, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
    let step: StepResult;
    try {
      step = await runStep(gen, { name, pid: server.pid, port }, n, opts);
    } finally {
      await server.stop();
    }
    const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((f) => join(dir, f));
    return { step, profile: summarizeProfiles(files) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function profileMarkdown(name: string, n: number, p: ProfileSummary): string {
  const lines = [
    `CPU profile of ${name} at N=${n} (V8 --cpu-prof, ${p.threads} thread profile(s), ${(p.busyMs / 1000).toFixed(1)} s busy): functions by self time`,
    '',
    '| self % | self ms | function | where |',
    '|---:|---:|---|---|',
    ...p.top.map((f) => `| ${f.pct.toFixed(1)} | ${f.selfMs.toFixed(0)} | \`${f.name}\` | ${f.where} |`),
  ];
  return lines.join('\n');
}
