/**
 * `npm run bench:load`: the simultaneous-calls benchmark. Sweeps N against ours and the `ws` peer in the same run
 * with the same generator, then writes the load section of bench/RESULTS.md and bench/load-pacing.svg.
 *
 *   node dist/bench/load/run.js [--ns 100,250,500,750,1000,1250,1500,2000,3000,4000] [--window-s 15] [--settle-s 1.5]
 *        [--workers 2] [--servers ours,peer] [--edge-threads 1] [--bound-ms 5] [--budget-s 300] [--profile] [--calibrate]
 *        [--no-write] [--json out.json]
 * --profile: one more step per server at the N where it broke, under V8 --cpu-prof; a summary of where the time went.
 * --calibrate: the same sweep against calibration-server.ts (a pure pacer, no parsing, no DSP): the machine's
 *   measurement floor at each N, and its ceiling: the largest N this machine and generator can measure at all.
 * --conversation listening|talk-over: what the sweep's callers say (default listening: silent while the echo plays).
 * --alternate R [--conversations listening,talk-over] [--servers ours,peer,calibration] [--note text]: no sweep;
 *   R rounds of every N, conversation and server in alternating order (bench/load/alternate.ts), medians and spread
 *   written to the load-talk-over section of bench/RESULTS.md.
 * --ours-node-args "ARGS": with --alternate, Node options for ours only, space-separated (a profiler of one step:
 *   `--alternate 1 --servers ours --ns 500 --no-write --ours-node-args "--perf-prof --perf-prof-unwinding-info"`, then
 *   `perf record -k mono -g -t <edge thread>` and `perf inject -j`; ours runs in the repository root, so the jit dumps
 *   land there and are to be deleted after).
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { LoadGenerator, sweepServer, judge, waitForQuiet, type SweepResult, type StepResult } from './sweep.js';
import { profileStep, profileMarkdown } from './profile.js';
import { isServerBuilt } from './servers.js';
import { loadConversation, CONVERSATION_KINDS, type ConversationKind, type LoadConversation } from './conversation.js';
import { alternateMarkdown, runAlternating } from './alternate.js';
import { replaceSection } from './results-file.js';
import { ENGINE_TURN_DEFAULTS, steadyTurns } from './turn-rule.js';
import { FRAME_MS } from '../../src/twilio/media-format.js';
import { writeLoadReport } from './report.js';

export interface LoadArgs {
  ns: number[];
  windowS: number;
  /** Seconds between the last call connected and the window (calls settle: first turns, buffers, JIT). */
  settleS: number;
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
  /** Also sweep the calibration server (a pure pacer): the machine's floor at each N and the largest N it can measure. */
  calibrate: boolean;
  conversation: ConversationKind;
  /** Rounds of the alternating comparison (0: sweep instead). */
  alternate: number;
  conversations: ConversationKind[];
  note: string;
  /** --ours-node-args: Node options for ours only (with --alternate). */
  oursNodeArgs: string[];
}

export interface LoadRun {
  sweeps: SweepResult[];
  profiles: Array<{ server: string; n: number; markdown: string }>;
  /** The calibration server's sweep (with --calibrate): its steps are the floor, its largest N the ceiling. */
  calibrationSweep?: SweepResult;
}

export function parseLoadArgs(argv: string[]): LoadArgs {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const args: LoadArgs = {
    ns: (get('ns') ?? '100,250,500,750,1000,1250,1500,2000,3000,4000').split(',').map(Number),
    windowS: Number(get('window-s') ?? 15),
    settleS: Number(get('settle-s') ?? 1.5),
    workers: Number(get('workers') ?? 2),
    servers: (get('servers') ?? 'ours,peer').split(','),
    edgeThreads: Number(get('edge-threads') ?? 1),
    boundMs: Number(get('bound-ms') ?? 5),
    budgetS: Number(get('budget-s') ?? 300),
    write: !argv.includes('--no-write'),
    portBase: Number(get('port') ?? 18_080),
    profile: argv.includes('--profile'),
    calibrate: argv.includes('--calibrate'),
    conversation: (get('conversation') ?? 'listening') as ConversationKind,
    alternate: Number(get('alternate') ?? 0),
    conversations: (get('conversations') ?? 'listening,talk-over').split(',') as ConversationKind[],
    note: get('note') ?? '',
    oursNodeArgs: (get('ours-node-args') ?? '').split(' ').filter((a) => a.length > 0),
  };
  const json = get('json');
  if (json) args.json = json;
  const problems: string[] = [];
  if (args.ns.some((n) => !Number.isInteger(n) || n < 1)) problems.push('--ns must be a comma-separated list of positive integers');
  if (!(args.windowS >= 1 && args.windowS <= 120)) problems.push('--window-s must be between 1 and 120');
  if (!(args.settleS >= 0 && args.settleS <= 60)) problems.push('--settle-s must be between 0 and 60');
  if (!(args.workers >= 1 && args.workers <= 8)) problems.push('--workers must be between 1 and 8');
  if (args.servers.some((s) => s !== 'ours' && s !== 'peer' && s !== 'calibration')) problems.push('--servers takes ours, peer and/or calibration');
  if (!CONVERSATION_KINDS.includes(args.conversation)) problems.push(`--conversation takes ${CONVERSATION_KINDS.join(' or ')}`);
  if (args.conversations.some((c) => !CONVERSATION_KINDS.includes(c))) problems.push(`--conversations takes ${CONVERSATION_KINDS.join(' and/or ')}`);
  if (!(Number.isInteger(args.alternate) && args.alternate >= 0 && args.alternate <= 50)) problems.push('--alternate must be an integer from 0 to 50');
  if (args.oursNodeArgs.some((a) => !a.startsWith('-'))) problems.push('--ours-node-args takes Node options only (each starts with -)');
  if (args.oursNodeArgs.length > 0 && args.alternate === 0) problems.push('--ours-node-args needs --alternate');
  if (problems.length > 0) throw new RangeError(problems.join('\n'));
  return args;
}

/**
 * The calibration server's play/silence cycle with the echo servers' duty: per loop of the load conversation they play
 * each utterance back once (an echo lasts as long as the utterance), so it plays the mean utterance, then the rest of
 * the mean loop share in silence. In the talk-over conversation every echo is cut by the caller's next utterance: the
 * engine's turn is handed over at its end of speech (bench/load/turn-rule.ts), and the barge-in clears it once the next
 * turn has BARGE_IN_MIN_SPEECH_MS of speech, by which time the playout has also sent its lead; so the calibration server
 * plays that many frames and ends each play with a clear.
 */
export function calibrationCycleEnv(conversation: LoadConversation = loadConversation()): Record<string, string> {
  const count = Math.max(1, conversation.utterances.length);
  let play: number;
  if (conversation.kind === 'talk-over') {
    const turns = steadyTurns(conversation);
    const leadInFrames = 2;
    const bargeInFrames = Math.ceil(ENGINE_TURN_DEFAULTS.bargeInMinSpeechMs / FRAME_MS);
    let sum = 0;
    turns.forEach((t, i) => {
      const next = turns[(i + 1) % turns.length]!;
      const nextFirst = next.firstFrame + (i + 1 === turns.length ? conversation.loopFrames : 0);
      const handed = t.firstFrame + t.handedAfterFrames;
      sum += Math.min(t.frames, nextFirst + leadInFrames + bargeInFrames - handed + ENGINE_TURN_DEFAULTS.leadFrames);
    });
    play = Math.max(1, Math.round(sum / Math.max(1, turns.length)));
  } else {
    const spoken = conversation.utterances.reduce((sum, u) => sum + (u.endFrame - u.startFrame + 1), 0);
    play = Math.max(1, Math.round(spoken / count));
  }
  const silent = Math.max(1, Math.round(conversation.loopFrames / count) - play);
  return {
    CALIBRATION_PLAY_FRAMES: String(play), CALIBRATION_SILENT_FRAMES: String(silent),
    CALIBRATION_CUT: conversation.kind === 'talk-over' ? 'clear' : 'mark',
  };
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
  let calibrationSweep: SweepResult | undefined;
  const conversation = loadConversation({ kind: args.conversation });
  try {
    let port = args.portBase;
    for (const s of args.servers) {
      const kind = s === 'ours' ? 'ours' : s === 'peer' ? 'ws-peer' : 'calibration';
      if (!isServerBuilt(kind)) {
        process.stderr.write(`bench:load: ${s} is not built; skipped\n`);
        continue;
      }
      const env: Record<string, string> = s === 'ours' ? { EDGE_THREADS: String(args.edgeThreads) } : s === 'calibration' ? calibrationCycleEnv(conversation) : {};
      const r = await sweepServer(gen, kind, s, port++, env, {
        conversation: args.conversation,
        ns: args.ns,
        windowMs: args.windowS * 1000,
        settleMs: args.settleS * 1000,
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
          await waitForQuiet();
          const { step, profile } = await profileStep(gen, kind, s, port++, env, n, { conversation: args.conversation, windowMs: Math.min(10_000, args.windowS * 1000) });
          process.stdout.write(formatStep(judge(step, { pacingP99Ms: args.boundMs })) + ' (profiled)\n');
          const markdown = profileMarkdown(s, n, profile);
          process.stdout.write(markdown + '\n');
          profiles.push({ server: s, n, markdown });
        }
      }
    }
    if (args.calibrate && isServerBuilt('calibration')) {
      // The floor and the ceiling: the same generator and sweep against a server that only paces. Where it breaks,
      // the machine (generator and server sharing its cores) breaks, whatever the server does.
      await waitForQuiet();
      calibrationSweep = await sweepServer(gen, 'calibration', 'calibration', port++, calibrationCycleEnv(conversation), {
        conversation: args.conversation,
        ns: args.ns,
        windowMs: Math.min(10_000, args.windowS * 1000),
        settleMs: args.settleS * 1000,
        bound: { pacingP99Ms: args.boundMs },
        budgetMs: args.budgetS * 1000,
        onStep: (step) => process.stdout.write(formatStep(step) + ' (measurement floor)\n'),
      });
      process.stdout.write(`calibration: largest N the machine can measure: ${calibrationSweep.largestHeldN} (${calibrationSweep.stoppedBecause})\n`);
    }
  } finally {
    await gen.close();
  }
  return { sweeps: results, profiles, ...(calibrationSweep !== undefined ? { calibrationSweep } : {}) };
}

async function mainAlternate(args: LoadArgs): Promise<void> {
  const gen = await LoadGenerator.create(args.workers);
  try {
    const run = await runAlternating(gen, {
      ns: args.ns, servers: args.servers, conversations: args.conversations, rounds: args.alternate,
      windowMs: args.windowS * 1000, settleMs: args.settleS * 1000, edgeThreads: args.edgeThreads, boundMs: args.boundMs,
      portBase: args.portBase, oursNodeArgs: args.oursNodeArgs,
    }, (r) => process.stdout.write(`${r.conversation.padEnd(9)} ${formatStep(r)}\n`));
    if (args.json) writeFileSync(args.json, JSON.stringify({ args, ...run }, null, 2));
    const markdown = alternateMarkdown(run, args.note);
    process.stdout.write(`\n${markdown}\n`);
    if (args.write) replaceSection('load-talk-over', markdown);
  } finally {
    await gen.close();
  }
}

async function main(): Promise<void> {
  const args = parseLoadArgs(process.argv.slice(2));
  if (args.alternate > 0) {
    await mainAlternate(args);
    return;
  }
  const run = await runLoad(args);
  if (args.json) writeFileSync(args.json, JSON.stringify({ args, ...run }, null, 2));
  if (args.write && run.sweeps.length > 0) {
    writeLoadReport(run, { workers: args.workers, edgeThreads: args.edgeThreads, windowS: args.windowS, settleS: args.settleS, boundMs: args.boundMs, conversation: args.conversation });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench:load failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}
