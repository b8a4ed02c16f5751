/**
 * `npm run bench:records`: what call records cost per call-second. The same load (bench/load's generator: N simulated
 * Twilio calls in real time, the echo agent, turns, echoes, marks) against ours three ways in one run: records off,
 * records in SQLite (a fresh DATA_DIR), records in PostgreSQL (a fresh database created from BENCH_DATABASE_URL or
 * TEST_DATABASE_URL, dropped after; skipped, and said so, without one). Per N: server CPU ms per call-second (the
 * whole process: edge threads and the main thread's writer), p99 pacing and whether the step held, and the ratio of
 * each records run to records off. Rounds alternate the order of the three so that drift on a shared machine hits
 * each the same.
 *
 *   node dist/bench/records/run.js [--ns 250,500] [--window-s 10] [--rounds 2] [--no-write]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { machineLine, replaceSection } from '../load/results-file.js';
import { LoadGenerator, sweepServer, waitForQuiet, type StepResult } from '../load/sweep.js';

interface Args { ns: number[]; windowS: number; rounds: number; isWriting: boolean }

function parseArgs(argv: string[]): Args {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const ns = (value('--ns') ?? '250,500').split(',').map(Number);
  if (ns.some((n) => !Number.isInteger(n) || n < 1)) throw new RangeError('--ns takes positive integers, comma-separated');
  return { ns, windowS: Number(value('--window-s') ?? '10'), rounds: Number(value('--rounds') ?? '2'), isWriting: !argv.includes('--no-write') };
}

interface Variant { name: 'off' | 'sqlite' | 'postgres'; env: () => Promise<{ env: Record<string, string>; dispose(): Promise<void> }> }

function postgresVariant(adminUrl: string): Variant {
  return {
    name: 'postgres',
    env: async () => {
      const database = `aicrmd_bench_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      const url = new URL(adminUrl);
      url.pathname = `/${database}`;
      return {
        env: { RECORDS: 'on', DATABASE_URL: url.toString() },
        dispose: async () => {
          const drop = new pg.Client({ connectionString: adminUrl });
          await drop.connect();
          await drop.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
          await drop.end();
        },
      };
    },
  };
}

const VARIANTS_BASE: Variant[] = [
  { name: 'off', env: () => Promise.resolve({ env: { RECORDS: 'off' }, dispose: () => Promise.resolve() }) },
  {
    name: 'sqlite',
    env: () => {
      const dir = mkdtempSync(join(tmpdir(), 'ai-crmd-bench-records-'));
      return Promise.resolve({ env: { RECORDS: 'on', DATA_DIR: dir }, dispose: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) });
    },
  },
];

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const adminUrl = process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'];
  const variants = adminUrl !== undefined ? [...VARIANTS_BASE, postgresVariant(adminUrl)] : VARIANTS_BASE;
  const results = new Map<string, StepResult[]>(); // `${variant}:${n}` -> steps
  const gen = await LoadGenerator.create(2);
  let port = 19_400;
  try {
    for (let round = 0; round < args.rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const variant of order) {
        const prepared = await variant.env();
        try {
          // one server per N (a sweep stops at the first step that breaks; every N is wanted here)
          for (const n of args.ns) {
          await waitForQuiet();
          const sweep = await sweepServer(gen, 'ours', `records-${variant.name}`, port++, { EDGE_THREADS: '1', ...prepared.env }, {
            ns: [n], windowMs: args.windowS * 1000, settleMs: 1500, bound: { pacingP99Ms: 5 }, budgetMs: 600_000, retries: 0,
            onStep: (step) => process.stdout.write(`records ${variant.name.padEnd(8)} N=${String(step.n).padStart(4)} ${step.held ? 'held ' : 'BROKE'} ` +
              `p99 ${step.pacingP99Ms.toFixed(2)} ms, server ${step.serverCpuMsPerCallSecond.toFixed(3)} ms/call-s\n`),
          });
          for (const step of sweep.steps) {
            const key = `${variant.name}:${step.n}`;
            results.set(key, [...(results.get(key) ?? []), step]);
          }
          }
        } finally {
          await prepared.dispose();
        }
      }
    }
  } finally {
    await gen.close();
  }
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cpuOf = (variant: string, n: number): number => mean((results.get(`${variant}:${n}`) ?? []).map((s) => s.serverCpuMsPerCallSecond));
  const rows = variants.flatMap((variant) => args.ns.map((n) => {
    const steps = results.get(`${variant.name}:${n}`) ?? [];
    const cpu = cpuOf(variant.name, n);
    const off = cpuOf('off', n);
    return `| ${variant.name} | ${n} | ${cpu.toFixed(3)} | ${variant.name === 'off' ? '1.00x' : `${(cpu / off).toFixed(2)}x (${cpu - off >= 0 ? '+' : ''}${(cpu - off).toFixed(3)} ms)`} | ` +
      `${steps.map((s) => s.pacingP99Ms.toFixed(2)).join(', ')} | ${steps.filter((s) => s.held).length}/${steps.length} |`;
  }));
  const body = [
    '## What call records cost (bench/records)',
    '',
    machineLine(),
    '',
    `Ours (EDGE_THREADS=1, the echo agent) under bench/load's generator at each N, ${args.windowS} s windows, ${args.rounds} round(s) with the ` +
    'order of the three alternated: records off, in SQLite (a fresh DATA_DIR), in PostgreSQL (a fresh database on this machine' +
    `${adminUrl === undefined ? ': not run, no BENCH_DATABASE_URL or TEST_DATABASE_URL' : ''}). Server CPU is the whole process (edge thread and the main ` +
    'thread\'s one writer), per call-second, the mean of the rounds; the ratio is to records off at the same N.',
    '',
    '| records | N | server CPU ms per call-second | vs off | p99 pacing ms (each round) | held |',
    '|---|---:|---:|---:|---:|---:|',
    ...rows,
  ].join('\n');
  process.stdout.write(`\n${body}\n`);
  if (args.isWriting) replaceSection('records', body);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:records: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
