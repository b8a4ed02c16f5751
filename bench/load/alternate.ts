/**
 * `npm run bench:load -- --alternate R`: the listening and the talk-over conversations side by side, against ours,
 * the peer and the calibration server, in R rounds that alternate the order of the servers (so that a machine's
 * drift hits each alike); each step gets a freshly started server. Reports, per server, conversation and N, the
 * median and the spread (min-max) over the rounds of the figures one step measures, and every frame of the playbacks
 * against the engine's turns and the plain energy rule (bench/load/turn-rule.ts). Written to its own section of
 * bench/RESULTS.md (`load-talk-over`).
 */
import { startServer, isServerBuilt, type ServerKind } from './servers.js';
import { runStep, waitForQuiet, judge, type LoadGenerator, type StepResult } from './sweep.js';
import { loadConversation, type ConversationKind } from './conversation.js';
import { steadyTurns, turnVsEnergy } from './turn-rule.js';
import { addFrameAccounts, newFrameAccount } from './protocol.js';
import { calibrationCycleEnv, formatStep } from './run.js';
import { fmt, machineLine } from './results-file.js';

export interface AlternateOptions {
  ns: number[];
  servers: string[];
  conversations: ConversationKind[];
  rounds: number;
  windowMs: number;
  settleMs: number;
  edgeThreads: number;
  boundMs: number;
  portBase: number;
  /** Extra environment for ours (e.g. to compare settings). */
  oursEnv?: Record<string, string>;
  /** Node options for ours only (a profiler: `--perf-prof`, `--cpu-prof`, `--trace-gc`). */
  oursNodeArgs?: string[];
}

export interface AlternateRun { options: AlternateOptions; steps: StepResult[]; startedAt: string }

function kindOf(server: string): ServerKind {
  return server === 'ours' ? 'ours' : server === 'peer' ? 'ws-peer' : 'calibration';
}

function envFor(server: string, conversation: ConversationKind, o: AlternateOptions): Record<string, string> {
  if (server === 'ours') return { EDGE_THREADS: String(o.edgeThreads), ...(o.oursEnv ?? {}) };
  if (server === 'calibration') return calibrationCycleEnv(loadConversation({ kind: conversation }));
  return {};
}

export async function runAlternating(gen: LoadGenerator, o: AlternateOptions, onStep: (r: StepResult) => void = () => undefined): Promise<AlternateRun> {
  const startedAt = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const servers = o.servers.filter((s) => isServerBuilt(kindOf(s)));
  const steps: StepResult[] = [];
  let port = o.portBase;
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 === 0 ? servers : [...servers].reverse();
    for (const n of o.ns) {
      for (const conversation of round % 2 === 0 ? o.conversations : [...o.conversations].reverse()) {
        for (const s of order) {
          await waitForQuiet();
          const nodeArgs = s === 'ours' ? o.oursNodeArgs ?? [] : [];
          const server = await startServer(kindOf(s), { port: port++, env: envFor(s, conversation, o), nodeArgs });
          try {
            const r = judge(await runStep(gen, { name: s, pid: server.pid, port: server.port }, n,
              { conversation, windowMs: o.windowMs, settleMs: o.settleMs }), { pacingP99Ms: o.boundMs });
            steps.push(r);
            onStep(r);
          } finally {
            await server.stop();
          }
        }
      }
    }
  }
  return { options: o, steps, startedAt };
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** "median (min-max)" of one figure over the rounds. */
function spread(xs: number[], digits = 2): string {
  const s = xs.filter(Number.isFinite);
  if (s.length === 0) return '–';
  const m = median(s);
  return s.length === 1 ? fmt(m, digits) : `${fmt(m, digits)} (${fmt(Math.min(...s), digits)}-${fmt(Math.max(...s), digits)})`;
}

/** The engine's turns of each conversation against the energy rule, one line per turn. */
export function turnRuleMarkdown(conversations: ConversationKind[]): string[] {
  const lines: string[] = [];
  for (const kind of conversations) {
    const conv = loadConversation({ kind });
    const parts = steadyTurns(conv).map((t) => {
      const u = conv.utterances[t.utterance];
      const d = turnVsEnergy(conv, t);
      const voiced = u ? u.voicedLastFrame - u.voicedFirstFrame + 1 : NaN;
      return `utterance ${t.utterance + 1}: ${voiced} voiced frames, turn ${t.frames} frames (starts ${-d.startDelta} before the first voiced frame, ends ${d.endDelta} after the last; ${d.voicedLeftOut} voiced frames left out)`;
    });
    lines.push(`- ${kind}: ${parts.join('; ')}.`);
  }
  return lines;
}

export function alternateMarkdown(run: AlternateRun, note = ''): string {
  const o = run.options;
  const lines: string[] = [];
  lines.push('## Talking over the agent: listening and talk-over callers side by side (bench/load --alternate)', '');
  lines.push(machineLine(), '');
  if (note) lines.push(note, '');
  lines.push(
    `Started ${run.startedAt}; ${o.rounds} round(s), each N and conversation against ${o.servers.join(', ')} in alternating order, ` +
    `a fresh server per step, ${o.windowMs / 1000} s window after ${o.settleMs / 1000} s of settling; ours with EDGE_THREADS=${o.edgeThreads}. ` +
    'Listening: conv-en padded with silence so that every echo plays whole. Talk-over: conv-en looped as recorded (2 s between ' +
    'utterances), so the caller speaks again while every echo plays and the server clears it (the calibration server plays as many ' +
    'frames per cut playback and ends each with a clear). Figures are the median over the rounds (min-max).',
    '',
    '| server | conversation | N | pacing p50 (ms) | pacing p99 (ms) | gaps > 60 ms | server CPU ms per call-s | clears per call-minute | held |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  );
  const groups = new Map<string, StepResult[]>();
  for (const r of run.steps) {
    const key = `${r.server}|${r.conversation}|${r.n}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const sorted = [...groups.entries()].sort(([a], [b]) => {
    const [sa, ca, na] = a.split('|');
    const [sb, cb, nb] = b.split('|');
    return Number(na) - Number(nb) || ca!.localeCompare(cb!) || o.servers.indexOf(sa!) - o.servers.indexOf(sb!);
  });
  for (const [key, rs] of sorted) {
    const [server, conversation, n] = key.split('|');
    lines.push(`| ${server} | ${conversation} | ${n} | ${spread(rs.map((r) => r.pacingP50Ms))} | ${spread(rs.map((r) => r.pacingP99Ms))} ` +
      `| ${spread(rs.map((r) => r.audibleGaps), 0)} | ${spread(rs.map((r) => r.serverCpuMsPerCallSecond), 3)} ` +
      `| ${spread(rs.map((r) => (r.clearsReceived / Math.max(1, r.callsOpened)) / (r.windowMs / 60_000)), 1)} ` +
      `| ${rs.filter((r) => r.held).length}/${rs.length} |`);
  }
  lines.push('', '### Ratios to the calibration server (medians)', '');
  for (const [key, rs] of sorted) {
    const [server, conversation, n] = key.split('|');
    if (server === 'calibration') continue;
    const cal = groups.get(`calibration|${conversation}|${n}`);
    if (!cal) continue;
    const p99 = median(rs.map((r) => r.pacingP99Ms));
    const calP99 = median(cal.map((r) => r.pacingP99Ms));
    const cpu = median(rs.map((r) => r.serverCpuMsPerCallSecond));
    const calCpu = median(cal.map((r) => r.serverCpuMsPerCallSecond));
    lines.push(`- ${server}, ${conversation}, N=${n}: p99 ${fmt(p99)} ms against the calibration server's ${fmt(calP99)} ms ` +
      `(${p99 <= calP99 + 1 ? 'within' : 'beyond'} its median + 1 ms); CPU per call-second ${fmt(cpu / calCpu, 2)}x the calibration server's ` +
      `(${cpu / calCpu <= 1.3 ? 'within' : 'beyond'} 1.3x).`);
  }
  lines.push('', '### Every frame of the playbacks (all rounds, echo servers)', '',
    'Each playback that began in a window is named by its first echoed frame (the echoed payloads map back to the caller\'s frames) and ' +
    'counted against the turn ai-crmd\'s engine makes of that audio (its own VAD and turn detector run over the loop: bench/load/turn-rule.ts). ' +
    'A playback ended by its mark must carry the whole turn; one cut by a clear carries a gap-free prefix, the rest is what the clear dropped. ' +
    'The energy rule counts each utterance\'s voiced frames (not digital silence) as played, cut by a clear, or left out by the turn rule. ' +
    'The peer has its own turn rule (onset 60 ms, hangover 600 ms, untrimmed), so its playbacks mostly do not start where the engine\'s turns do ("off the rule").',
    '',
    '| server | conversation | playbacks (whole / cut / off the rule / unmapped) | whole: frames expected / received | cut: frames received / dropped by the clear | frames skipped inside / repeated | beyond the turn | voiced frames: played / cut / left out by the turn rule |',
    '|---|---|---:|---:|---:|---:|---:|---:|');
  const byConv = new Map<string, StepResult[]>();
  for (const r of run.steps) {
    if (r.server === 'calibration') continue;
    const key = `${r.server}|${r.conversation}`;
    byConv.set(key, [...(byConv.get(key) ?? []), r]);
  }
  for (const [key, rs] of byConv) {
    const [server, conversation] = key.split('|');
    const a = rs.reduce((acc, r) => addFrameAccounts(acc, r.frames), newFrameAccount());
    const lost = rs.reduce((x, r) => x + r.framesLost, 0);
    const dup = rs.reduce((x, r) => x + r.framesDuplicated, 0);
    lines.push(`| ${server} | ${conversation} | ${a.playbacks} (${a.playbacksWhole} / ${a.playbacksCut} / ${a.playbacksOffRule} / ${a.playbacksUnmapped}) ` +
      `| ${a.wholeFramesExpected} / ${a.wholeFramesReceived} | ${a.cutFramesReceived} / ${a.cutFramesDropped} | ${lost} / ${dup} | ${a.framesBeyondTurn} ` +
      `| ${a.voicedPlayed} / ${a.voicedCut} / ${a.voicedLeftOutByRule} (of ${a.voicedFrames}) |`);
  }
  lines.push('', 'The engine\'s turns against the energy rule (the same in both conversations, and from every call\'s starting point):', '',
    ...turnRuleMarkdown(o.conversations));
  lines.push('', 'Steps:', '', '```', ...run.steps.map((r) => `${r.conversation.padEnd(9)} ${formatStep(r)}`), '```');
  return lines.join('\n');
}
