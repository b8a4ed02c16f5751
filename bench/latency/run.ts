/**
 * `npm run bench:latency`: voice-to-voice latency of the AI agent. The real server (dist/src/main.js, AGENT=ai) with
 * its real SDKs pointed at the local fakes (test/fakes/), which answer after settable delays (ASR, time to the first
 * chat chunk, TTS); N simultaneous Twilio-like callers (src/cli/caller.ts, `listen`: each waits for the reply to play
 * before it goes on) each play the English reference conversation (test/fixtures conv-en and its labels). Per turn:
 * from the end of the caller's speech (the send time of the last frame of a labelled utterance) to the first frame of
 * the reply playback that follows, split into stages by the server's own REPLY_FIRST_FRAME log line (TurnLatency
 * fields). "server-added" = total − hangover − the providers' configured waits. Also the server process's CPU per
 * call-second (/proc) and the callers' p99 frame pacing error.
 *
 *   node dist/bench/latency/run.js [--ns 1,20] [--asr-ms 300] [--llm-ms 400] [--tts-ms 250] [--turn-deadline-ms 4000]
 *     [--configs echo,batch,stream,early,early-no-prefetch] [--spread-ms 2000] [--no-write] [--verbose] [--server-log PREFIX]
 *     [--cpu-prof-dir DIR]
 *
 * The N calls start evenly over --spread-ms (so their turns end as evenly: 2 s at N=300 is 150 turn ends a second, a
 * burst; a spread near the call's length is closer to a steady state). Pacing: the callers' inter-arrival error
 * within each playback, all callers' intervals pooled, without the playout's lead burst (bench/load's rule), and the
 * gaps over 60 ms inside a playback counted apart (the line ran dry between two sentences, or the clock stalled).
 * --configs echo runs the keyless echo agent on the same callers: the cost of a call without the AI, beside it.
 * --server-log PREFIX writes every line each route's server logged to PREFIX.<route>.jsonl; --cpu-prof-dir DIR has
 * each server write V8 CPU profiles of its threads there (the profiler's own cost is in the figures of that run).
 *
 * --configs runs each ASR route with its own server, one after the other, in one run: batch (whisper-1, the WAV
 * uploaded at the turn's end), stream (gpt-4o-mini-transcribe over the realtime socket, committed at the turn's
 * end; EARLY_REPLY_PAUSE_MS=0), early (streaming, and the reply asked for at a 240 ms pause, its first sentence
 * synthesized while held) and early-no-prefetch (the same with EARLY_REPLY_AUDIO=0). The realtime fake
 * answers a commit after the same --asr-ms as the batch route.
 * --verbose prints the server's per-turn log lines and the callers' measured turns (to check the matching).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Caller, newSid, type CallerResult } from '../../src/cli/caller.js';
import { resolveVadOptions } from '../../src/audio/dsp.js';
import { aiServerEnv } from '../../test/fakes/ai-server-env.js';
import { fakeServiceAccount, startFakeGoogleTts } from '../../test/fakes/google-tts-server.js';
import { startFakeOpenAI } from '../../test/fakes/openai-server.js';
import { findRepoRoot } from '../load/conversation.js';
import { processCpuMs } from '../load/procstat.js';
import { fmt, machineLine, replaceSection } from '../load/results-file.js';
import { DEFAULT_PACING_SKIP_FRAMES } from '../load/sweep.js';
import { latenessBetween, readLatenessBuckets, type ClockLateness } from './clock-lateness.js';
import { firstReplyFrameMs, replyPacing, splitTurn, STAGE_NAMES, summarize, type ProviderWaitsMs, type ReplyPacing, type ServerTurnFields, type StageSummary, type TurnStagesMs } from './stages.js';

const FRAME_MS = 20;
const FRAME_BYTES = 160;
/** The fake chat stream's pause before each content chunk (its default): part of the wait for the first token. */
const CHUNK_DELAY_MS = 5;
/** How long the idle server's CPU is sampled before each step. */
const IDLE_SAMPLE_MS = 2000;

/** The ASR routes compared (see --configs), and the server settings that make each. */
const CONFIGS = {
  // the keyless echo agent on the same callers: what a call costs without the AI (the issue's side-by-side figure)
  echo: { AGENT: 'echo' },
  batch: { OPENAI_ASR_MODEL: 'whisper-1' },
  stream: { OPENAI_ASR_MODEL: 'gpt-4o-mini-transcribe', EARLY_REPLY_PAUSE_MS: '0' },
  early: { OPENAI_ASR_MODEL: 'gpt-4o-mini-transcribe', EARLY_REPLY_PAUSE_MS: '240' },
  // early replies without the first sentence's audio synthesized while held (the before of EARLY_REPLY_AUDIO)
  'early-no-prefetch': { OPENAI_ASR_MODEL: 'gpt-4o-mini-transcribe', EARLY_REPLY_PAUSE_MS: '240', EARLY_REPLY_AUDIO: '0' },
} as const;
type ConfigName = keyof typeof CONFIGS;

interface Args { spreadMs: number; ns: number[]; asrMs: number; llmMs: number; ttsMs: number; turnDeadlineMs: number; configs: ConfigName[]; isWriting: boolean; isVerbose: boolean; serverLogPath: string | undefined; cpuProfileDir: string | undefined }

function parseArgs(argv: string[]): Args {
  const value = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] ?? fallback : fallback;
  };
  const ns = value('--ns', '1,20').split(',').map(Number);
  if (ns.some((n) => !Number.isInteger(n) || n < 1)) throw new RangeError('--ns takes positive integers, comma-separated');
  const ms = (name: string, fallback: number): number => {
    const n = Number(value(name, String(fallback)));
    if (!Number.isFinite(n) || n < 0) throw new RangeError(`${name} takes a number of milliseconds`);
    return n;
  };
  const configs = value('--configs', 'batch').split(',') as ConfigName[];
  const unknown = configs.filter((c) => !(c in CONFIGS));
  if (unknown.length > 0) throw new RangeError(`--configs takes ${Object.keys(CONFIGS).join(', ')} (got ${unknown.join(', ')})`);
  return {
    spreadMs: ms('--spread-ms', 2000), ns, configs, asrMs: ms('--asr-ms', 300), llmMs: ms('--llm-ms', 400), ttsMs: ms('--tts-ms', 250),
    turnDeadlineMs: ms('--turn-deadline-ms', 4000), isWriting: !argv.includes('--no-write'), isVerbose: argv.includes('--verbose'),
    serverLogPath: argv.includes('--server-log') ? value('--server-log', '') || undefined : undefined,
    cpuProfileDir: argv.includes('--cpu-prof-dir') ? value('--cpu-prof-dir', '') || undefined : undefined,
  };
}

interface ReferenceCall { audio: Uint8Array; utteranceFrames: Array<[number, number]> }

function loadConvEn(root: string): ReferenceCall {
  const fixtures = join(root, 'test', 'fixtures');
  const labels = JSON.parse(readFileSync(join(fixtures, 'labels.json'), 'utf8')) as Record<string, { utterances_s: Array<[number, number]> }>;
  const entry = labels['conv-en'];
  if (entry === undefined) throw new Error('labels.json has no conv-en');
  const toFrame = (s: number): number => Math.round((s * 1000) / FRAME_MS);
  return {
    audio: new Uint8Array(readFileSync(join(fixtures, 'conv-en.8k.ul'))),
    utteranceFrames: entry.utterances_s.map(([a, b]) => [toFrame(a), toFrame(b)]),
  };
}

interface Server { pid: number; port: number; lines: Array<Record<string, unknown>>; stop(): Promise<void> }

async function startServer(root: string, env: Record<string, string>, cpuProfileDir: string | undefined): Promise<Server> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-latency-data-'));
  // only what node needs from the shell: a developer's settings must not change the figures
  const base: Record<string, string> = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? tmpdir() };
  // --cpu-prof-dir: V8 writes one .cpuprofile per thread (main, edge, DSP) when the server exits
  const profileArgs = cpuProfileDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', cpuProfileDir] : [];
  const child = spawn(process.execPath, [...profileArgs, join(root, 'dist', 'src', 'main.js')], {
    cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...base, INSECURE_DEV_MODE: '1', DATA_DIR: dataDir, CALL_SUMMARIES: 'off', ...env, PORT: String(port), HOST: '127.0.0.1' },
  });
  const lines: Array<Record<string, unknown>> = [];
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) !== -1) {
        const text = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        try { lines.push(JSON.parse(text) as Record<string, unknown>); } catch { lines.push({ raw: text }); }
      }
    });
  }
  let hasExited = false;
  const exited = new Promise<void>((done) => child.once('exit', () => { hasExited = true; done(); }));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (hasExited) throw new Error(`server exited during start-up:\n${lines.slice(-20).map((l) => JSON.stringify(l)).join('\n')}`);
    try {
      const res = await fetch(`http://127.0.0.1:${port}/version`);
      const body = (await res.json()) as { edgeThreadsReady?: number };
      if (res.status === 200 && Number(body.edgeThreadsReady) >= Number(env['EDGE_THREADS'] ?? 1)) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) { child.kill('SIGKILL'); throw new Error('server did not become ready'); }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    pid: child.pid as number, port, lines,
    async stop() {
      if (!hasExited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

interface MeasuredTurn { callSid: string; endMs: number; endEpochMs: number; replyMs: number | undefined; replyEpochMs: number | undefined }

/** One listening caller through the conversation: each labelled utterance's end and the first reply frame after it. */
async function runOneCall(url: string, call: ReferenceCall): Promise<{ turns: MeasuredTurn[]; result: CallerResult }> {
  const callSid = newSid('CA');
  const audioFrameSentAtMs: number[] = [];
  let isWaiting = false;
  let openEpochMs = 0;
  const caller = new Caller({
    url, audio: call.audio, callSid, listen: true, tailMs: 1500,
    onEvent: (event) => {
      if (event.type === 'open') openEpochMs = performance.timeOrigin + performance.now() - event.tMs;
      else if (event.type === 'listen-start') isWaiting = true;
      else if (event.type === 'listen-end') isWaiting = false;
    },
    // a waiting caller sends silence that is not part of the audio: only the audio's own frames are indexed
    onMediaSent: (_index, sentAtMs) => { if (!isWaiting) audioFrameSentAtMs.push(sentAtMs); },
  });
  const result = await caller.run();
  const turns: MeasuredTurn[] = [];
  call.utteranceFrames.forEach(([, endFrame], i) => {
    const endMs = audioFrameSentAtMs[Math.min(endFrame, audioFrameSentAtMs.length) - 1];
    if (endMs === undefined) return;
    const nextStart = call.utteranceFrames[i + 1]?.[0];
    const beforeMs = nextStart !== undefined ? audioFrameSentAtMs[nextStart] ?? Infinity : Infinity;
    const replyMs = firstReplyFrameMs(result.playbacks, endMs, beforeMs);
    turns.push({ callSid, endMs, endEpochMs: openEpochMs + endMs, replyMs, replyEpochMs: replyMs !== undefined ? openEpochMs + replyMs : undefined });
  });
  return { turns, result };
}

/**
 * The server's REPLY_FIRST_FRAME line of that call logged after the end of speech and last before the caller received
 * the frame; none when the turn was answered otherwise (a fallback line has no such line).
 */
function serverFieldsFor(turn: MeasuredTurn, lines: ReadonlyArray<Record<string, unknown>>): { fields: ServerTurnFields; loggedAtEpochMs: number } | undefined {
  if (turn.replyEpochMs === undefined) return undefined;
  let best: Record<string, unknown> | undefined;
  for (const line of lines) {
    if (line['event'] !== 'REPLY_FIRST_FRAME' || line['stage'] !== 'first_frame' || line['callSid'] !== turn.callSid) continue;
    const time = logTimeMs(line);
    // pino's clock and ours are the same wall clock, to the millisecond; a little slack for the rounding
    if (time >= turn.endEpochMs && time <= turn.replyEpochMs + 5 && (best === undefined || time > logTimeMs(best))) best = line;
  }
  if (best === undefined) return undefined;
  const fields = { transcriptMs: Number(best['transcriptMs']), firstTokenMs: Number(best['firstTokenMs']), firstAudioMs: Number(best['firstAudioMs']), firstFrameMs: Number(best['firstFrameMs']) };
  return Object.values(fields).every(Number.isFinite) ? { fields, loggedAtEpochMs: logTimeMs(best) } : undefined;
}

/** A pino line's time (ISO string in this server's logs, epoch ms in pino's default). */
function logTimeMs(line: Record<string, unknown>): number {
  const time = line['time'];
  return typeof time === 'string' ? Date.parse(time) : Number(time);
}

interface StepResult {
  config: ConfigName;
  /** Replies asked for at a pause: used, thrown away (early only). */
  earlyReplies: { used: number; discarded: number };
  n: number; turnsExpected: number; turnsMeasured: number; turnsUnanswered: number; turnsUnmatched: number;
  summary: StageSummary; cpuMsPerCallSecond: number; pacing: ReplyPacing;
  /** The process's CPU less its idle rate over the step's wall time, per call-second: what the calls cost. */
  cpuAboveIdleMsPerCallSecond: number;
  /** The server's CPU ms per second while no call ran, just before the step. */
  idleCpuMsPerS: number; maxSendLateMs: number;
  /** AGENT_FALLBACK lines (a turn given the fallback line: a provider failed or the turn's deadline passed), by error kind. */
  fallbacks: Record<string, number>;
  /** This process's CPU (callers and fakes) as a share of one core: near 100 % the figures are the generator's, not the server's. */
  generatorCorePercent: number;
  /** The server's own clock over the step (its /metrics histogram): undefined when /metrics did not answer. */
  serverClock: ClockLateness | undefined;
}

async function runStep(config: ConfigName, server: Server, n: number, call: ReferenceCall, hangoverMs: number, waits: ProviderWaitsMs, spreadMs: number, isVerbose: boolean): Promise<StepResult> {
  const url = `ws://127.0.0.1:${server.port}/ws/twilio-media`;
  const fromLine = server.lines.length;
  // the process's own idle rate (timers, metrics, GC of an idle heap), taken out of the per-call figure below: at
  // small N it is most of the CPU, and it is no call's cost
  const idleBefore = processCpuMs(server.pid);
  const idleFromMs = performance.now();
  await new Promise((r) => setTimeout(r, IDLE_SAMPLE_MS));
  const idleCpuMsPerS = ((processCpuMs(server.pid) - idleBefore) / (performance.now() - idleFromMs)) * 1000;
  const clockBefore = await readLatenessBuckets(server.port);
  const cpuBefore = processCpuMs(server.pid);
  const generatorBefore = process.cpuUsage();
  const wallBefore = performance.now();
  const outcomes = await Promise.all(Array.from({ length: n }, async (_, i) => {
    await new Promise((r) => setTimeout(r, (i * spreadMs) / n)); // the starts evenly over spreadMs, as calls arrive
    return runOneCall(url, call);
  }));
  await new Promise((r) => setTimeout(r, 500)); // the last log lines
  const cpuMs = processCpuMs(server.pid) - cpuBefore;
  const wallS = (performance.now() - wallBefore) / 1000;
  const generatorUsage = process.cpuUsage(generatorBefore);
  const generatorCorePercent = ((generatorUsage.user + generatorUsage.system) / 1000 / (performance.now() - wallBefore)) * 100;
  const clockAfter = await readLatenessBuckets(server.port);
  const serverClock = clockBefore !== undefined && clockAfter !== undefined ? latenessBetween(clockBefore, clockAfter) : undefined;
  const callSeconds = outcomes.reduce((sum, o) => sum + o.result.durationMs / 1000, 0);
  const lines = server.lines.slice(fromLine);
  if (isVerbose) {
    for (const line of lines) if (/REPLY_FIRST_FRAME|ASR_TEXT|LLM_TEXT/.test(String(line['event']))) console.log(JSON.stringify(line));
    for (const o of outcomes) console.log(JSON.stringify(o.turns));
  }
  const turns: TurnStagesMs[] = [];
  let echoed = 0;
  let unanswered = 0;
  let unmatched = 0;
  for (const { turns: measured } of outcomes) {
    for (const turn of measured) {
      if (turn.replyMs === undefined) { unanswered++; continue; }
      if (config === 'echo') { echoed++; continue; } // the echo is the turn itself: no stages
      const matched = serverFieldsFor(turn, lines);
      if (matched === undefined || turn.replyEpochMs === undefined) { unmatched++; continue; }
      // the log line is written on the tick that sends the frame: its time is the send time, to the millisecond
      const deliveryMs = Math.max(0, Math.round(turn.replyEpochMs - matched.loggedAtEpochMs));
      turns.push(splitTurn(Math.round(turn.replyMs - turn.endMs), matched.fields, hangoverMs, deliveryMs, waits));
    }
  }
  const pacing = replyPacing(outcomes.flatMap((o) => o.result.playbacks), DEFAULT_PACING_SKIP_FRAMES);
  const early = lines.filter((line) => line['event'] === 'EARLY_REPLY');
  return {
    config, earlyReplies: { used: early.filter((l) => l['outcome'] === 'used').length, discarded: early.filter((l) => l['outcome'] === 'discarded').length },
    n, turnsExpected: n * call.utteranceFrames.length, turnsMeasured: config === 'echo' ? echoed : turns.length, turnsUnanswered: unanswered, turnsUnmatched: unmatched,
    summary: summarize(turns), cpuMsPerCallSecond: callSeconds > 0 ? cpuMs / callSeconds : Number.NaN,
    cpuAboveIdleMsPerCallSecond: callSeconds > 0 ? (cpuMs - idleCpuMsPerS * wallS) / callSeconds : Number.NaN, idleCpuMsPerS,
    pacing,
    maxSendLateMs: Math.max(...outcomes.map((o) => o.result.maxSendLateMs)),
    fallbacks: countFallbacks(lines), generatorCorePercent, serverClock,
  };
}

function countFallbacks(lines: ReadonlyArray<Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of lines) {
    if (line['event'] !== 'AGENT_FALLBACK') continue;
    const kind = `${String(line['reason'] ?? '?')}/${String(line['errKind'] ?? '?')}`;
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return out;
}

const describeFallbacks = (fallbacks: Record<string, number>): string =>
  Object.keys(fallbacks).length === 0 ? 'none' : Object.entries(fallbacks).map(([kind, count]) => `${count} ${kind}`).join(', ');

const describeServerClock = (clock: ClockLateness | undefined): string => (clock === undefined || clock.passes === 0 ? 'n/a'
  : `${fmt(clock.percentLaterThan.get(5) ?? Number.NaN, 2)} % / ${fmt(clock.percentLaterThan.get(20) ?? Number.NaN, 2)} % (${clock.p99UpperBoundMs} ms)`);

const LABELS: Record<(typeof STAGE_NAMES)[number], string> = {
  total: 'total', hangover: 'hangover', asr: 'ASR', firstToken: 'first token', firstAudio: 'first audio', firstFrame: 'first frame', delivery: 'delivery', serverAdded: 'server-added',
};

function table(steps: StepResult[]): string {
  const head = `| route | calls | turns measured | ${STAGE_NAMES.map((s) => `${LABELS[s]} p50 / p95`).join(' | ')} | server CPU ms per call-s (above idle; idle ms/s) | callers' p99 pacing error | server clock passes late > 5 / > 20 ms (p99 ≤) | gaps > 60 ms in a playback | fallback turns | early replies | generator CPU |`;
  const rule = `|${'---|'.repeat(STAGE_NAMES.length + 10)}`;
  const rows = steps.map((s) => `| ${s.config} | ${s.n} | ${s.turnsMeasured} of ${s.turnsExpected}${s.turnsUnanswered + s.turnsUnmatched > 0 ? ` (${s.turnsUnanswered} unanswered, ${s.turnsUnmatched} without a log line)` : ''} | `
    + `${STAGE_NAMES.map((name) => (s.config === 'echo' ? '' : `${fmt(s.summary[name].p50, 0)} / ${fmt(s.summary[name].p95, 0)}`)).join(' | ')} | ${fmt(s.cpuMsPerCallSecond, 2)} (${fmt(s.cpuAboveIdleMsPerCallSecond, 2)}; ${fmt(s.idleCpuMsPerS, 1)}) | ${fmt(s.pacing.p99ErrorMs, 1)} ms | ${describeServerClock(s.serverClock)} | ${s.pacing.gapsOver60Ms} | ${describeFallbacks(s.fallbacks)} | ${s.config.startsWith('early') ? `${s.earlyReplies.used} used, ${s.earlyReplies.discarded} thrown away` : ''} | ${fmt(s.generatorCorePercent, 0)} % of a core |`);
  return [head, rule, ...rows].join('\n');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const root = findRepoRoot();
  const call = loadConvEn(root);
  if (call.audio.length % FRAME_BYTES !== 0) console.log('conv-en: a last partial frame (padded by the caller)');
  const account = fakeServiceAccount();
  const openai = await startFakeOpenAI({
    transcript: () => 'I would like to book an appointment for tomorrow morning.',
    reply: () => 'Sure. I can book that for you, what time suits you best?',
    transcriptionDelayMs: args.asrMs,
    realtime: { transcript: () => 'I would like to book an appointment for tomorrow morning.', delayMs: args.asrMs },
    firstChunkDelayMs: Math.max(0, args.llmMs - CHUNK_DELAY_MS),
    chunkDelayMs: CHUNK_DELAY_MS,
    speechDelayMs: args.ttsMs,
  });
  const google = await startFakeGoogleTts({ account, answerDelayMs: args.ttsMs });
  const waits: ProviderWaitsMs = { asrMs: args.asrMs, firstTokenMs: args.llmMs, firstAudioMs: args.ttsMs };
  // the latency origin the server uses: its VAD's hangover in whole frames (ai-factory.ts), from its defaults
  const hangoverMs = Math.ceil(resolveVadOptions({}).hangoverMs / FRAME_MS) * FRAME_MS;
  console.log(`fakes: ASR ${args.asrMs} ms (batch and realtime), first chat token ${args.llmMs} ms, TTS ${args.ttsMs} ms; hangover ${hangoverMs} ms; TURN_DEADLINE_MS ${args.turnDeadlineMs}`);
  const steps: StepResult[] = [];
  try {
    for (const config of args.configs) {
      const env = aiServerEnv({ openaiBaseUrl: openai.baseUrl, googleEndpointUrl: google.endpointUrl, account }, {
        LANGUAGE: 'en', GREETING: 'Hello!', SYSTEM_PROMPT: 'You are a receptionist.', TURN_DEADLINE_MS: String(args.turnDeadlineMs), RECORDS: 'off',
        ...CONFIGS[config],
      });
      const server = await startServer(root, env, args.cpuProfileDir);
      try {
        for (const n of args.ns) {
          const started = performance.now();
          const step = await runStep(config, server, n, call, hangoverMs, waits, args.spreadMs, args.isVerbose);
          steps.push(step);
          console.log(`${config} N=${n}: ${step.turnsMeasured}/${step.turnsExpected} turns in ${fmt((performance.now() - started) / 1000, 1)} s; fallbacks ${describeFallbacks(step.fallbacks)}; generator ${fmt(step.generatorCorePercent, 0)} % of a core; callers' worst send lateness ${fmt(step.maxSendLateMs, 0)} ms`);
        }
      } finally {
        await server.stop();
        // every line the server wrote, one JSON per line, one file per route (diagnosis: why a turn fell back)
        if (args.serverLogPath !== undefined) writeFileSync(`${args.serverLogPath}.${config}.jsonl`, server.lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
      }
    }
  } finally {
    await openai.close();
    await google.close();
  }
  const out = table(steps);
  console.log(out);
  const body = [
    '## Voice-to-voice latency of the AI agent (bench/latency)',
    '',
    machineLine(),
    '',
    `\`npm run bench:latency -- --ns ${args.ns.join(',')} --configs ${args.configs.join(',')}\`: the real server (AGENT=ai, one edge thread, one DSP thread, LANGUAGE=en, Google TTS, `
      + `TURN_DEADLINE_MS=${args.turnDeadlineMs} so that the turn budget itself cuts no turn; the providers' own timeouts stay at their defaults) against the local fakes answering after ASR ${args.asrMs} ms, `
      + `first chat token ${args.llmMs} ms, TTS ${args.ttsMs} ms; N listening callers at once, each the English reference conversation (2 labelled utterances). `
      + 'ms from the end of the caller\'s speech (the send time of the labelled utterance\'s last frame) to the first reply frame it received. '
      + `Stages from the server's REPLY_FIRST_FRAME line: hangover = the label's end of speech → the server hears of the turn (the VAD's is set to ${hangoverMs} ms; `
      + 'measured as the total less the stages after it, so it also holds how far the label and the VAD disagree on where speech ended), '
      + 'ASR (turn received → transcript, WAV building and upload included), first token, first audio, first frame (→ written to the stream), '
      + 'delivery (written → received, loopback, from the log line\'s time); server-added = total − hangover − each provider\'s wait as far as it lies after the turn was received '
      + '(a wait spent during the hangover, as a streamed transcript or an early reply\'s first token, is not the server\'s). ASR routes: batch = whisper-1, the WAV uploaded at the turn\'s end; '
      + 'stream = gpt-4o-mini-transcribe over the realtime socket (the fake answers a commit after the same ASR delay), committed at the turn\'s end; early = streaming, and the reply asked for at a 240 ms pause inside the turn (EARLY_REPLY_PAUSE_MS). '
      + 'echo = the keyless echo agent on the same callers (no stages: its reply is the turn itself). '
      + `CPU: the server process (/proc), over the calls' seconds; in brackets the same less the process's idle rate (sampled for ${IDLE_SAMPLE_MS / 1000} s before the step), and that idle rate. `
      + `Calls start evenly over ${args.spreadMs} ms. Pacing: all callers' inter-arrival errors within playbacks, pooled, less the playout's lead burst (the first ${DEFAULT_PACING_SKIP_FRAMES} intervals of a playback and after a gap); gaps > 60 ms inside a playback counted apart (the line ran dry between sentences, or the clock stalled).`,
    '',
    out,
  ].join('\n');
  if (args.isWriting) replaceSection('latency', body);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
