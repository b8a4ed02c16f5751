/**
 * The load section of bench/RESULTS.md (between `<!-- load:begin -->` and `<!-- load:end -->`) and the chart
 * bench/load-pacing.svg: p99 (solid) and p50 (dashed) outbound pacing error against N, ours and the peer.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot, type ConversationKind } from './conversation.js';
import { replaceSection, machineLine, fmt } from './results-file.js';
import { DEFAULT_PACING_SKIP_FRAMES, type StepResult, type SweepResult } from './sweep.js';
import type { LoadRun } from './run.js';

export interface LoadReportContext { workers: number; edgeThreads: number; windowS: number; settleS?: number; boundMs: number; conversation?: ConversationKind }

const GOAL_N_RATIO = 4;
const GOAL_CPU_RATIO = 0.25;
const GOAL_P99_AT_1000_MS = 2;

function stepRow(r: StepResult): string {
  const elu = r.generatorElu.map((e) => fmt(e)).join('/');
  return `| ${r.n} | ${r.held ? 'yes' : '**no**'} | ${fmt(r.pacingP50Ms)} / ${fmt(r.pacingP99Ms)} / ${fmt(r.pacingMaxMs, 1)} | ${r.audibleGaps} ` +
    `| ${fmt(r.echoDelayP50Ms, 0)} / ${fmt(r.echoDelayP99Ms, 0)} | ${r.framesLost} / ${r.framesDuplicated} | ${r.handshakeFailed} / ${r.callsDropped} ` +
    `| ${fmt(r.serverCpuPct, 0)} | ${fmt(r.serverCpuMsPerCallSecond, 3)} | ${fmt(r.serverRssMb, 0)} | ${fmt(r.memoryPerCallKb, 0)} ` +
    `| ${fmt(r.generatorCpuPct, 0)} (${elu}) | ${fmt(r.otherCpuPct, 0)} |`;
}

function table(s: SweepResult): string {
  return [
    `**${s.server}**: largest N that held: **${s.largestHeldN || 'none'}** (stopped: ${s.stoppedBecause})`,
    '',
    '| N | held | pacing error p50 / p99 / max (ms) | gaps > 60 ms | echo start p50 / p99 (ms) | frames lost / dup | handshakes failed / calls dropped | server CPU % | server CPU ms per call-s | server RSS MB | KB per call | generator CPU % (ELU per thread) | other CPU % |',
    '|---:|:---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...s.steps.map(stepRow),
  ].join('\n');
}

function threadsSummary(r: StepResult): string {
  const total = Object.values(r.serverThreadsCpuMs).reduce((a, b) => a + b, 0);
  if (total <= 0) return 'no thread figures';
  return Object.entries(r.serverThreadsCpuMs)
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k.replace(/^node:\d+$/, 'a JS thread').replace(/:\d+$/, '')} ${fmt((v / total) * 100, 0)}%`)
    .join(', ');
}

export function loadMarkdown(run: LoadRun, ctx: LoadReportContext): string {
  const results = run.sweeps;
  const ours = results.find((r) => r.server === 'ours');
  const peer = results.find((r) => r.server === 'peer');
  const lines: string[] = [];
  lines.push('## Simultaneous calls (bench/load)', '');
  lines.push(machineLine(), '');
  lines.push(
    `Each call is a simulated Twilio stream on a raw TCP socket (pre-built masked frames, ${ctx.workers} generator thread(s)): ` +
    'connected, start, a media frame every 20 ms on an absolute schedule (calls spread over the 20 ms period), marks echoed, stop. ' +
    (ctx.conversation === 'talk-over'
      ? 'The audio is conv-en looped as recorded (the talk-over conversation: the caller speaks again 2 s after each utterance, over its echo, so every echo is cut by a barge-in); '
      : 'The audio is conv-en in a loop, with silence after each utterance long enough for its echo to play whole (so no barge-in); ') +
    `calls start at spread points of the loop, so about half of them are playing at any moment. Per step: ramp-up (500 calls/s), ${ctx.settleS ?? 1.5} s to settle, then a ${ctx.windowS} s window. ` +
    `A step holds when p99 pacing error is at most ${ctx.boundMs} ms and nothing is lost, duplicated, refused or dropped. ` +
    `Ours ran with EDGE_THREADS=${ctx.edgeThreads}; the peer (bench/peers/ws-echo-peer.ts: ws, JSON.parse, alawmulaw, setInterval per call) is one thread. ` +
    'Pacing error is |inter-arrival − 20 ms| between consecutive frames of one playback, timed on arrival at the generator; ' +
    `the first ${DEFAULT_PACING_SKIP_FRAMES} inter-arrivals of each playback are left out for both servers (ours sends a lead of PLAYOUT_LEAD_FRAMES=3 frames at once by design, which Twilio buffers). ` +
    'Frames lost / duplicated: each echo of the same utterance must carry as many frames as the most common echo of it, and each echoed payload is mapped back to the caller\'s frame it came from, so skips and repeats inside a playback show. ' +
    'Echo start is from the send of the utterance\'s last frame (labels.json) to the first echoed frame, so it includes the VAD hangover. ' +
    'Server CPU and RSS come from /proc/<pid> (all threads); memory per call is the RSS growth over the step divided by N. ' +
    'CPU percentages are of one core; "other" is what the rest of the machine used during the window (/proc/stat less server and generator). ' +
    'A step that breaks is run a second time and counts as broken only if it breaks again (the machine is shared); the table shows the last attempt.',
    '',
  );
  for (const s of results) lines.push(table(s), '');

  const ceiling = run.calibrationSweep;
  const calibration = ceiling?.steps ?? [];
  if (ceiling) {
    lines.push(table({ ...ceiling, server: 'calibration (a server that only paces: the machine\'s floor and ceiling)' }), '');
  }

  lines.push('### Ratios and goals', '');
  if (ceiling) {
    const broke = ceiling.steps.find((x) => !x.held);
    lines.push(`- **What this machine can measure**: the calibration server (bench/load/calibration-server.ts: no parsing, no DSP, pre-built frames ` +
      `on one 1 ms sub-tick clock, playing as large a share of the time as the echo servers do) held up to N=${ceiling.largestHeldN || 'none'}` +
      (broke ? `; at N=${broke.n} it broke too (${broke.failures.join('; ')}; generator ${fmt(broke.generatorCpuPct, 0)}% CPU), ` +
        'so no server can be shown to hold that N here: the generator and the server share the 2 cores.' : ' (every step held).'));
  }
  if (ours && peer) {
    const ratio = peer.largestHeldN > 0 ? ours.largestHeldN / peer.largestHeldN : Number.POSITIVE_INFINITY;
    const oursTop = ours.steps.at(-1);
    const oursCapped = ours.stoppedBecause === 'all steps held' || ours.stoppedBecause === 'time budget spent';
    const target = GOAL_N_RATIO * peer.largestHeldN;
    const measurable = ceiling === undefined || ceiling.stoppedBecause === 'all steps held' || target <= ceiling.largestHeldN;
    lines.push(`- Largest N held: ours ${ours.largestHeldN}, peer ${peer.largestHeldN}: **${Number.isFinite(ratio) ? fmt(ratio, 1) + 'x' : 'peer held none'}** ` +
      `(goal ≥ ${GOAL_N_RATIO}x: ${ratio >= GOAL_N_RATIO ? 'met' : oursCapped ? 'not shown: ours never broke inside the sweep' : measurable ? 'not met' : 'not met, and not measurable here'})` +
      (oursCapped ? ` — ours did not break up to N=${oursTop?.n}; the sweep or the machine ended first, so the true ratio is higher.` : '') +
      (!measurable && ceiling ? ` — ${GOAL_N_RATIO}x the peer is N=${target}, beyond the ${ceiling.largestHeldN} this machine can measure; ` +
        `ours held ${fmt((ours.largestHeldN / Math.max(1, ceiling.largestHeldN)) * 100, 0)}% of that ceiling, the peer ${fmt((peer.largestHeldN / Math.max(1, ceiling.largestHeldN)) * 100, 0)}%.` : ''));
    // CPU per call-second, compared at the largest N that both measured (held or not, same N).
    const common = peer.steps.map((p) => p.n).filter((n) => ours.steps.some((o) => o.n === n));
    const n = common.at(-1);
    if (n !== undefined) {
      const o = ours.steps.find((x) => x.n === n)!;
      const p = peer.steps.find((x) => x.n === n)!;
      const cpuRatio = o.serverCpuMsPerCallSecond / p.serverCpuMsPerCallSecond;
      lines.push(`- Server CPU per call-second at N=${n}: ours ${fmt(o.serverCpuMsPerCallSecond, 3)} ms, peer ${fmt(p.serverCpuMsPerCallSecond, 3)} ms: ` +
        `**${fmt(cpuRatio, 2)}x** of the peer's (goal ≤ ${GOAL_CPU_RATIO}: ${cpuRatio <= GOAL_CPU_RATIO ? 'met' : 'not met'}); ` +
        `memory per call ${fmt(o.memoryPerCallKb, 0)} KB vs ${fmt(p.memoryPerCallKb, 0)} KB.`);
      const capacity = (x: StepResult): number => 1000 / x.serverCpuMsPerCallSecond;
      lines.push(`- CPU capacity estimate (one core, CPU alone): ours ≈ ${fmt(capacity(o), 0)} calls per core, peer ≈ ${fmt(capacity(p), 0)}.`);
    }
  }
  if (ours) {
    const at1000 = ours.steps.find((x) => x.n === 1000);
    const largest = ours.steps.filter((x) => x.pacingSamples > 0).at(-1);
    const probe = at1000 ?? largest;
    if (probe) {
      const ok = probe.pacingP99Ms < GOAL_P99_AT_1000_MS && probe.audibleGaps === 0;
      const floorHere = calibration.find((c) => c.n === probe.n && c.pacingSamples > 0);
      lines.push(`- Ours at N=${probe.n}${at1000 ? '' : ' (largest N measured; 1,000 was not reached)'}: p99 pacing ${fmt(probe.pacingP99Ms)} ms, ` +
        `${probe.audibleGaps} audible gaps (goal < ${GOAL_P99_AT_1000_MS} ms and none at 1,000: ${ok ? 'met' : 'not met'})` +
        (probe.isGeneratorBound ? '; the generator was saturated at this N (ELU > 0.9 or send lag p99 > 5 ms), so this N measures the machine, not the server' : '') +
        (floorHere && floorHere.pacingP99Ms >= GOAL_P99_AT_1000_MS
          ? `; the calibration server measures p99 ${fmt(floorHere.pacingP99Ms)} ms at this N, so under ${GOAL_P99_AT_1000_MS} ms is below what this machine and generator can measure.`
          : '.'));
    }
    const breaking = ours.steps.find((x) => !x.held) ?? ours.steps.at(-1);
    if (breaking) lines.push(`- Where ours spends its CPU at N=${breaking.n}: ${threadsSummary(breaking)} (share of the process's CPU per thread, from /proc/<pid>/task; "a JS thread" is a worker thread: edge or DSP pool).`);
  }
  if (peer) {
    const breaking = peer.steps.find((x) => !x.held) ?? peer.steps.at(-1);
    if (breaking) lines.push(`- Where the peer spends its CPU at N=${breaking.n}: ${threadsSummary(breaking)}.`);
  }
  const noisy = results.flatMap((s) => s.steps).filter((x) => x.otherCpuPct > 25);
  if (noisy.length > 0) {
    lines.push(`- **The machine was not quiet**: in ${noisy.length} step(s) other processes used more than 25% of a core ` +
      `(up to ${fmt(Math.max(...noisy.map((x) => x.otherCpuPct)), 0)}%) while we measured; pacing figures in those steps are pessimistic for both servers. Rerun on an idle machine.`);
  }
  const anyGeneratorBound = results.some((s) => s.steps.some((x) => x.isGeneratorBound));
  lines.push(`- Generator: ${anyGeneratorBound ? 'saturated in at least one step (flagged above by ELU > 0.9); read those steps as machine-bound' : 'never saturated (every generator thread ELU ≤ 0.9, send lag p99 ≤ 5 ms)'}; ` +
    'it shares the 2 cores with the server, so at large N both compete for CPU.');
  // the floor where it matters: where ours and the peer broke, and at 1,000 calls
  const keyNs = new Set([1000, ours?.steps.find((x) => !x.held)?.n, peer?.steps.find((x) => !x.held)?.n].filter((n): n is number => n !== undefined));
  const keyFloor = calibration.filter((c) => keyNs.has(c.n));
  for (const c of keyFloor) {
    lines.push(`- Measurement floor at N=${c.n}: the same generator against bench/load/calibration-server.ts (a server that only paces, ` +
      `pre-built frames on one 1 ms sub-tick clock) measures p50 / p99 / max ${fmt(c.pacingP50Ms)} / ${fmt(c.pacingP99Ms)} / ${fmt(c.pacingMaxMs, 1)} ms ` +
      `with ${c.audibleGaps} gaps (server ${fmt(c.serverCpuPct, 0)}% CPU, generator ${fmt(c.generatorCpuPct, 0)}%): pacing error up to about this much belongs to the machine and the generator.`);
  }
  const peerSweep = results.find((r) => r.server === 'peer');
  const oursSweep = results.find((r) => r.server === 'ours');
  for (const c of keyFloor) {
    const o = oursSweep?.steps.find((x) => x.n === c.n);
    const p = peerSweep?.steps.find((x) => x.n === c.n);
    if (!o && !p) continue;
    const floor = c.serverCpuMsPerCallSecond;
    lines.push(`- CPU floor at N=${c.n}: the pacer alone (kernel reads and writes, no parsing, no DSP) costs ${fmt(floor, 3)} ms per call-second` +
      (o ? `; ours ${fmt(o.serverCpuMsPerCallSecond, 3)} (${fmt(o.serverCpuMsPerCallSecond / floor, 2)}x the floor)` : '') +
      (p ? `; the peer ${fmt(p.serverCpuMsPerCallSecond, 3)} (${fmt(p.serverCpuMsPerCallSecond / floor, 2)}x)` : '') +
      (p && floor / p.serverCpuMsPerCallSecond > GOAL_CPU_RATIO
        ? `. The floor alone is ${fmt(floor / p.serverCpuMsPerCallSecond, 2)}x the peer's cost, so a quarter of the peer's CPU is below what the socket syscalls cost on this machine.`
        : '.'));
  }
  for (const p of run.profiles) lines.push('', p.markdown);
  lines.push('', '![pacing error against N](load-pacing.svg)');
  return lines.join('\n');
}

/** Hand-built SVG: p99 (solid) and p50 (dashed) pacing error against N (log scale), one colour per server. */
export function pacingSvg(results: SweepResult[], boundMs: number, calibration: StepResult[] = []): string {
  const W = 640, H = 440, L = 60, R = 20, T = 40, B = 110;   // the legend sits under the x axis
  const pts = results.flatMap((s) => s.steps.filter((x) => x.pacingSamples > 0));
  const ns = pts.map((x) => x.n);
  const minN = Math.min(100, ...ns), maxN = Math.max(1000, ...ns);
  const maxY = Math.max(boundMs * 1.5, ...pts.map((x) => Math.min(x.pacingP99Ms, boundMs * 4)));
  const x = (n: number): number => L + ((Math.log10(n) - Math.log10(minN)) / (Math.log10(maxN) - Math.log10(minN) || 1)) * (W - L - R);
  const y = (ms: number): number => T + (1 - Math.min(ms, maxY) / maxY) * (H - T - B);
  const colours: Record<string, string> = { ours: '#1f6feb', peer: '#d1242f' };
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Outbound pacing error vs simultaneous calls</text>`);
  // axes and grid
  out.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`);
  const ticksN = [100, 250, 500, 750, 1000, 1500, 2000, 3000, 4000, 8000, 16000].filter((n) => n >= minN && n <= maxN);
  for (const n of ticksN) {
    out.push(`<line x1="${x(n).toFixed(1)}" y1="${T}" x2="${x(n).toFixed(1)}" y2="${H - B}" stroke="#eee"/>`);
    out.push(`<text x="${x(n).toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${n}</text>`);
  }
  const stepY = maxY > 10 ? 5 : maxY > 4 ? 1 : 0.5;
  for (let v = 0; v <= maxY + 1e-9; v += stepY) {
    out.push(`<line x1="${L}" y1="${y(v).toFixed(1)}" x2="${W - R}" y2="${y(v).toFixed(1)}" stroke="#eee"/>`);
    out.push(`<text x="${L - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`);
  }
  out.push(`<text x="${(L + W - R) / 2}" y="${H - B + 34}" text-anchor="middle">simultaneous calls N (log scale)</text>`);
  out.push(`<text x="16" y="${(T + H - B) / 2}" text-anchor="middle" transform="rotate(-90 16 ${(T + H - B) / 2})">|inter-arrival − 20 ms| (ms)</text>`);
  // the bound
  out.push(`<line x1="${L}" y1="${y(boundMs).toFixed(1)}" x2="${W - R}" y2="${y(boundMs).toFixed(1)}" stroke="#999" stroke-dasharray="2,3"/>`);
  out.push(`<text x="${W - R - 4}" y="${(y(boundMs) - 4).toFixed(1)}" text-anchor="end" fill="#666">p99 bound ${boundMs} ms</text>`);
  let legendY = H - B + 56;
  for (const s of results) {
    const c = colours[s.server] ?? '#444';
    const steps = s.steps.filter((p) => p.pacingSamples > 0);
    const line = (f: (p: StepResult) => number): string => steps.map((p, i) => `${i ? 'L' : 'M'}${x(p.n).toFixed(1)},${y(f(p)).toFixed(1)}`).join(' ');
    if (steps.length > 0) {
      out.push(`<path d="${line((p) => p.pacingP99Ms)}" fill="none" stroke="${c}" stroke-width="2"/>`);
      out.push(`<path d="${line((p) => p.pacingP50Ms)}" fill="none" stroke="${c}" stroke-width="1.5" stroke-dasharray="5,4"/>`);
      for (const p of steps) {
        out.push(`<circle cx="${x(p.n).toFixed(1)}" cy="${y(p.pacingP99Ms).toFixed(1)}" r="3.5" fill="${p.held ? c : '#fff'}" stroke="${c}" stroke-width="1.5"><title>${s.server} N=${p.n}: p99 ${fmt(p.pacingP99Ms)} ms, p50 ${fmt(p.pacingP50Ms)} ms${p.held ? '' : ' (did not hold)'}</title></circle>`);
      }
    }
    out.push(`<line x1="${L + 12}" y1="${legendY}" x2="${L + 36}" y2="${legendY}" stroke="${c}" stroke-width="2"/>`);
    out.push(`<text x="${L + 42}" y="${legendY + 4}">${s.server} p99 (dashed: p50; hollow: did not hold), largest N held ${s.largestHeldN}</text>`);
    legendY += 16;
  }
  const floor = calibration.filter((c) => c.pacingSamples > 0);
  if (floor.length > 0) {
    for (const c of floor) {
      out.push(`<path d="M${(x(c.n) - 4).toFixed(1)},${(y(c.pacingP99Ms) - 4).toFixed(1)} l8,8 m0,-8 l-8,8" stroke="#666" stroke-width="1.5"><title>measurement floor N=${c.n}: p99 ${fmt(c.pacingP99Ms)} ms</title></path>`);
    }
    out.push(`<path d="M${L + 20},${legendY - 4} l8,8 m0,-8 l-8,8" stroke="#666" stroke-width="1.5"/>`);
    out.push(`<text x="${L + 42}" y="${legendY + 4}">measurement floor p99 (a server that only paces, same generator)</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export function writeLoadReport(run: LoadRun, ctx: LoadReportContext): void {
  replaceSection('load', loadMarkdown(run, ctx));
  writeFileSync(join(findRepoRoot(), 'bench', 'load-pacing.svg'), pacingSvg(run.sweeps, ctx.boundMs, run.calibrationSweep?.steps));
}
