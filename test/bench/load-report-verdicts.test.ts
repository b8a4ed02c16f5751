// The verdicts the load report (bench/load/report.ts loadMarkdown) writes into bench/RESULTS.md, from synthetic sweeps:
// the N ratio against the peer and its goal ("met", "not met", and "not measurable here" when 4x the peer is beyond
// what the calibration sweep shows the machine can measure), the p99-at-1,000 line and when it names the calibration
// floor, and the CPU-per-call-second ratio taken at the largest N both servers measured.
import { describe, expect, it } from 'vitest';
import { loadMarkdown, type LoadReportContext } from '../../bench/load/report.js';
import type { StepResult, SweepResult } from '../../bench/load/sweep.js';
import type { LoadRun } from '../../bench/load/run.js';
import { newFrameAccount } from '../../bench/load/protocol.js';

const CTX: LoadReportContext = { workers: 2, edgeThreads: 1, windowS: 15, settleS: 1.5, boundMs: 5 };
const BROKE = 'p99 pacing 7.00 ms > 5 ms';

/** A step that held, with every StepResult field filled; `over` sets what a test is about. */
function step(server: string, n: number, over: Partial<StepResult> = {}): StepResult {
  return {
    server, conversation: 'listening', n, windowMs: 15_000, rampMs: Math.max(500, n * 2), callsOpened: n, handshakeFailed: 0, handshakeFailReasons: {},
    subprotocolMissing: 0, callsDropped: 0, protocolErrors: 0, badPayloads: 0, mediaSent: n * 750, mediaReceived: n * 300,
    marksReceived: n, clearsReceived: 0, pacingP50Ms: 0.3, pacingP99Ms: 1.0, pacingMaxMs: 3.0, pacingSamples: n * 250,
    audibleGaps: 0, echoDelayP50Ms: 700, echoDelayP99Ms: 760, echoDelaySamples: n, playbacksCompleted: n,
    expectedFramesPerUtterance: [240, 193], framesLost: 0, framesDuplicated: 0, contentCheckedPlaybacks: n,
    contentUnmatchedFrames: 0, unexpectedPlaybacks: 0, interruptedPlaybacks: 0, frames: newFrameAccount(), serverCpuPct: n / 10,
    serverCpuMsPerCallSecond: 0.1, serverRssMb: 100, serverRssBeforeMb: 90, memoryPerCallKb: 10,
    serverThreadsCpuMs: { main: 100 }, generatorCpuPct: 20, generatorThreadCpuPct: [10, 10], generatorElu: [0.2, 0.2],
    generatorSendLagP99Ms: 1, otherCpuPct: 0, machineBusyPct: 30, attempts: 1, isGeneratorBound: false, held: true,
    failures: [], ...over,
  };
}

/** A sweep over `ns` that held each N until `brokeAt` (which broke on pacing), as sweep() reports it. */
function sweepOf(server: string, ns: number[], brokeAt?: number, per: (n: number) => Partial<StepResult> = () => ({})): SweepResult {
  const steps = ns.map((n) => step(server, n, n === brokeAt
    ? { held: false, failures: [BROKE], pacingP99Ms: 7, attempts: 2, generatorCpuPct: 40, ...per(n) }
    : per(n)));
  const held = steps.filter((s) => s.held);
  return {
    server,
    steps,
    largestHeldN: held.at(-1)?.n ?? 0,
    stoppedBecause: brokeAt !== undefined ? `N=${brokeAt}: ${BROKE}` : 'all steps held',
  };
}

function run(sweeps: SweepResult[], calibrationSweep?: SweepResult): LoadRun {
  return { sweeps, profiles: [], ...(calibrationSweep ? { calibrationSweep } : {}) };
}

/** The one line of the report that starts with `prefix`. */
function line(md: string, prefix: string): string {
  const found = md.split('\n').filter((l) => l.startsWith(prefix));
  expect(found, `lines starting with "${prefix}"`).toHaveLength(1);
  return found[0]!;
}

const NS = [100, 250, 500, 750, 1000, 1250, 1500, 2000];
const upTo = (max: number): number[] => NS.filter((n) => n <= max);

describe('the N ratio against the peer', () => {
  it('ours 1000 against the peer\'s 250 is 4.0x: met', () => {
    const md = loadMarkdown(run([sweepOf('ours', upTo(1250), 1250), sweepOf('peer', upTo(500), 500)]), CTX);
    expect(line(md, '- Largest N held:')).toBe('- Largest N held: ours 1000, peer 250: **4.0x** (goal ≥ 4x: met)');
  });

  it('ours 750 against the peer\'s 500, with a machine that measures up to 1000, is not met and not measurable here', () => {
    const calibration = sweepOf('calibration', upTo(1250), 1250);
    const md = loadMarkdown(run([sweepOf('ours', upTo(1000), 1000), sweepOf('peer', upTo(750), 750)], calibration), CTX);
    expect(line(md, '- Largest N held:')).toBe(
      '- Largest N held: ours 750, peer 500: **1.5x** (goal ≥ 4x: not met, and not measurable here)' +
      ' — 4x the peer is N=2000, beyond the 1000 this machine can measure; ours held 75% of that ceiling, the peer 50%.');
    const ceiling = line(md, '- **What this machine can measure**:');
    expect(ceiling).toContain('held up to N=1000; at N=1250 it broke too (p99 pacing 7.00 ms > 5 ms; generator 40% CPU), ');
    expect(ceiling).toContain('so no server can be shown to hold that N here');
  });

  it('the same sweeps without a calibration sweep are plainly not met, with no claim about the machine', () => {
    const md = loadMarkdown(run([sweepOf('ours', upTo(1000), 1000), sweepOf('peer', upTo(750), 750)]), CTX);
    expect(line(md, '- Largest N held:')).toBe('- Largest N held: ours 750, peer 500: **1.5x** (goal ≥ 4x: not met)');
    expect(md).not.toContain('What this machine can measure');
    expect(md).not.toContain('not measurable');
    expect(md).not.toContain('calibration');
  });

  it('is plainly not met when the calibration server held every step (no ceiling was found)', () => {
    const md = loadMarkdown(run([sweepOf('ours', upTo(1000), 1000), sweepOf('peer', upTo(750), 750)], sweepOf('calibration', upTo(1250))), CTX);
    expect(line(md, '- Largest N held:')).toBe('- Largest N held: ours 750, peer 500: **1.5x** (goal ≥ 4x: not met)');
    expect(line(md, '- **What this machine can measure**:')).toContain('held up to N=1250 (every step held).');
  });

  it('is plainly not met when 4x the peer is within what the machine measured', () => {
    // 4x the peer's 250 is 1000, within the 1500 the calibration server held
    const md = loadMarkdown(run([sweepOf('ours', upTo(500), 500), sweepOf('peer', upTo(500), 500)], sweepOf('calibration', upTo(2000), 2000)), CTX);
    expect(line(md, '- Largest N held:')).toBe('- Largest N held: ours 250, peer 250: **1.0x** (goal ≥ 4x: not met)');
    // 4x the peer's 250 is exactly the 1000 the calibration server held: still measurable
    const edge = loadMarkdown(run([sweepOf('ours', upTo(1000), 1000), sweepOf('peer', upTo(500), 500)], sweepOf('calibration', upTo(1250), 1250)), CTX);
    expect(line(edge, '- Largest N held:')).toBe('- Largest N held: ours 750, peer 250: **3.0x** (goal ≥ 4x: not met)');
  });

  it('says the true ratio is higher when ours never broke inside the sweep', () => {
    const md = loadMarkdown(run([sweepOf('ours', upTo(1000)), sweepOf('peer', upTo(750), 750)]), CTX);
    expect(line(md, '- Largest N held:')).toBe(
      '- Largest N held: ours 1000, peer 500: **2.0x** (goal ≥ 4x: not shown: ours never broke inside the sweep)' +
      ' — ours did not break up to N=1000; the sweep or the machine ended first, so the true ratio is higher.');
  });
});

describe('the p99 pacing line at 1,000 calls', () => {
  const sweeps = (oursP99At1000: number): SweepResult[] => [
    sweepOf('ours', upTo(1250), 1250, (n) => (n === 1000 ? { pacingP99Ms: oursP99At1000 } : {})),
    sweepOf('peer', upTo(500), 500),
  ];
  const calibrationWith = (p99At1000: number): SweepResult =>
    sweepOf('calibration', upTo(1500), 1500, (n) => (n === 1000 ? { pacingP99Ms: p99At1000 } : {}));

  it('names the calibration floor when the calibration server itself measures p99 ≥ 2 ms at 1,000', () => {
    const md = loadMarkdown(run(sweeps(1.5), calibrationWith(2.4)), CTX);
    expect(line(md, '- Ours at N=1000')).toBe(
      '- Ours at N=1000: p99 pacing 1.50 ms, 0 audible gaps (goal < 2 ms and none at 1,000: met); ' +
      'the calibration server measures p99 2.40 ms at this N, so under 2 ms is below what this machine and generator can measure.');
  });

  it('names it at exactly 2 ms too, and with a miss', () => {
    const md = loadMarkdown(run(sweeps(2.6), calibrationWith(2.0)), CTX);
    expect(line(md, '- Ours at N=1000')).toBe(
      '- Ours at N=1000: p99 pacing 2.60 ms, 0 audible gaps (goal < 2 ms and none at 1,000: not met); ' +
      'the calibration server measures p99 2.00 ms at this N, so under 2 ms is below what this machine and generator can measure.');
  });

  it('leaves the floor out when the calibration server measures under 2 ms at 1,000, or was not run', () => {
    const low = loadMarkdown(run(sweeps(1.5), calibrationWith(1.2)), CTX);
    expect(line(low, '- Ours at N=1000')).toBe('- Ours at N=1000: p99 pacing 1.50 ms, 0 audible gaps (goal < 2 ms and none at 1,000: met).');
    const none = loadMarkdown(run(sweeps(1.5)), CTX);
    expect(line(none, '- Ours at N=1000')).toBe('- Ours at N=1000: p99 pacing 1.50 ms, 0 audible gaps (goal < 2 ms and none at 1,000: met).');
  });

  it('is not met with an audible gap, and falls back to the largest N measured when 1,000 was not reached', () => {
    const gap = loadMarkdown(run([sweepOf('ours', upTo(1250), 1250, (n) => (n === 1000 ? { audibleGaps: 2 } : {})), sweepOf('peer', upTo(500), 500)]), CTX);
    expect(line(gap, '- Ours at N=1000')).toBe('- Ours at N=1000: p99 pacing 1.00 ms, 2 audible gaps (goal < 2 ms and none at 1,000: not met).');
    const short = loadMarkdown(run([sweepOf('ours', upTo(750), 750), sweepOf('peer', upTo(500), 500)]), CTX);
    expect(line(short, '- Ours at N=750')).toBe(
      '- Ours at N=750 (largest N measured; 1,000 was not reached): p99 pacing 7.00 ms, 0 audible gaps (goal < 2 ms and none at 1,000: not met).');
  });

  it('flags a saturated generator at that N', () => {
    const md = loadMarkdown(run([sweepOf('ours', upTo(1000), undefined, (n) => (n === 1000 ? { isGeneratorBound: true } : {})), sweepOf('peer', upTo(500), 500)]), CTX);
    expect(line(md, '- Ours at N=1000')).toContain('; the generator was saturated at this N (ELU > 0.9 or send lag p99 > 5 ms), so this N measures the machine, not the server');
    expect(line(md, '- Generator:')).toContain('saturated in at least one step');
  });
});

describe('the CPU ratio', () => {
  it('is taken at the largest N both servers measured, held or not', () => {
    const ours = sweepOf('ours', [250, 500, 1000, 1250], 1250, (n) => ({ serverCpuMsPerCallSecond: n / 2500, memoryPerCallKb: 12 }));
    const peer = sweepOf('peer', [250, 500, 750], 750, (n) => ({ serverCpuMsPerCallSecond: n / 500, memoryPerCallKb: 40 }));
    const md = loadMarkdown(run([ours, peer]), CTX);
    // 750 is only the peer's, 1000 and 1250 only ours: 500 is the largest both measured
    expect(line(md, '- Server CPU per call-second')).toBe(
      '- Server CPU per call-second at N=500: ours 0.200 ms, peer 1.000 ms: **0.20x** of the peer\'s (goal ≤ 0.25: met); memory per call 12 KB vs 40 KB.');
    expect(line(md, '- CPU capacity estimate')).toBe('- CPU capacity estimate (one core, CPU alone): ours ≈ 5000 calls per core, peer ≈ 1000.');
  });

  it('uses the peer\'s broken step when ours measured that N too', () => {
    const ours = sweepOf('ours', upTo(1250), 1250, (n) => ({ serverCpuMsPerCallSecond: n / 2000 }));
    const peer = sweepOf('peer', upTo(750), 750, (n) => ({ serverCpuMsPerCallSecond: n / 1000 }));
    const md = loadMarkdown(run([ours, peer]), CTX);
    expect(line(md, '- Server CPU per call-second')).toBe(
      '- Server CPU per call-second at N=750: ours 0.375 ms, peer 0.750 ms: **0.50x** of the peer\'s (goal ≤ 0.25: not met); memory per call 10 KB vs 10 KB.');
  });

  it('is left out when the two sweeps share no N', () => {
    const md = loadMarkdown(run([sweepOf('ours', [300, 600], 600), sweepOf('peer', [250, 500], 500)]), CTX);
    expect(md).not.toContain('- Server CPU per call-second');
    expect(md).not.toContain('- CPU capacity estimate');
  });
});

describe('the measurement floor lines', () => {
  it('are written for 1,000 calls and for the N where each server broke, and nowhere else', () => {
    const calibration = sweepOf('calibration', upTo(1500), 1500, () => ({ serverCpuMsPerCallSecond: 0.05 }));
    const md = loadMarkdown(run([sweepOf('ours', upTo(1250), 1250), sweepOf('peer', upTo(500), 500, () => ({ serverCpuMsPerCallSecond: 1 }))], calibration), CTX);
    const floors = md.split('\n').filter((l) => l.startsWith('- Measurement floor at N=')).map((l) => /N=(\d+)/.exec(l)![1]);
    expect(floors.sort()).toEqual(['1000', '1250', '500']);
    expect(line(md, '- Measurement floor at N=1000')).toContain('measures p50 / p99 / max 0.30 / 1.00 / 3.0 ms with 0 gaps');
    expect(line(md, '- CPU floor at N=500')).toBe(
      '- CPU floor at N=500: the pacer alone (kernel reads and writes, no parsing, no DSP) costs 0.050 ms per call-second; ' +
      'ours 0.100 (2.00x the floor); the peer 1.000 (20.00x).');
    // where only ours measured that N, the peer is left out
    expect(line(md, '- CPU floor at N=1250')).toBe(
      '- CPU floor at N=1250: the pacer alone (kernel reads and writes, no parsing, no DSP) costs 0.050 ms per call-second; ' +
      'ours 0.100 (2.00x the floor).');
  });

  it('say when the floor alone is more than a quarter of the peer\'s CPU', () => {
    const calibration = sweepOf('calibration', upTo(1500), 1500, () => ({ serverCpuMsPerCallSecond: 0.3 }));
    const md = loadMarkdown(run([sweepOf('ours', upTo(1250), 1250), sweepOf('peer', upTo(500), 500, () => ({ serverCpuMsPerCallSecond: 1 }))], calibration), CTX);
    expect(line(md, '- CPU floor at N=500')).toBe(
      '- CPU floor at N=500: the pacer alone (kernel reads and writes, no parsing, no DSP) costs 0.300 ms per call-second; ' +
      'ours 0.100 (0.33x the floor); the peer 1.000 (3.33x). ' +
      'The floor alone is 0.30x the peer\'s cost, so a quarter of the peer\'s CPU is below what the socket syscalls cost on this machine.');
  });
});
