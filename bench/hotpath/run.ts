/**
 * `npm run bench:hotpath`: what the per-frame guards cost (issue 12: the stream's clock, the fill budget, the turn's
 * sample cap, the inbound rate limit, the re-entry guards of the inbound batch), as the CPU time of one inbound frame
 * through the whole hot path, before and after, side by side in one process.
 *
 * "Before" is a baseline commit (default: the one before the hardening), checked out into a git worktree in the
 * system's temp folder and built there with tsc (node_modules and the native build are linked, not copied). Both
 * builds are loaded in this process, and each drives the same workload through its own code: N calls, each a
 * MediaSocket (the edge: parse, guards, counters) over a stub uWS socket, feeding the real call engine (session,
 * batched DSP through the addon, turns, the echo agent's playout) on a manual clock. Every 20 ms tick each call sends
 * one media message (conv-en in a loop, calls at spread offsets, so they speak, pause and hear their echo), then the
 * clock advances 20 ms (the inbound flush and the playout run). Rounds alternate before/after so that drift on a
 * shared machine hits both; the median round counts.
 *
 * Two figures: the CPU time per frame of alternating rounds (real, but noisy on a shared machine: a round's range is
 * wide), and, when valgrind is installed, instructions per frame counted by callgrind (repeatable to about 0.05%):
 * each build runs twice in a child (V8 --predictable), with CALLGRIND_SHORT_TICKS and CALLGRIND_LONG_TICKS, and the
 * difference over the extra frames is the steady per-frame count (start-up and warm-up cancel out).
 *
 *   node --expose-gc dist/bench/hotpath/run.js [--baseline <ref>] [--calls N] [--ticks T] [--rounds R] [--no-write]
 *     [--no-callgrind] [--recording]
 *
 * `--conversation talk-over`: the callers speak over every echo (bench/load's talk-over conversation: a barge-in, a
 * clear, a new turn and a new playback every few seconds per call) instead of listening. `--conversations`: no
 * baseline; this build's instructions per frame with the listening and the talk-over callers side by side.
 *
 * `--recording` (`npm run bench:recording`): instead of two builds, this build with RECORD_AUDIO off and on, the same
 * workload and the same two figures; on, every call's audio goes through its tap (src/recording/stream-audio-blocks.ts)
 * and each tick's blocks leave in one real MessageChannel postMessage with their ArrayBuffers transferred, as an edge
 * thread posts them. Then the writer's side (the main thread's, off the edge): CPU per call-second of decoding, interleaving and
 * appending blocks to files in the temp folder (fs promises; libuv's threads count, since the process's CPU does).
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { MessageChannel } from 'node:worker_threads';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findRepoRoot, loadConversation, type ConversationKind } from '../load/conversation.js';
import { machineLine, replaceSection } from '../load/results-file.js';
import { serializeConnected, serializeStart } from '../../src/twilio/caller-messages.js';
import { FRAME_MS, MEDIA_SUBPROTOCOL, MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
// the same hand-driven time for both builds (each build's FrameClock takes any TimeSource)
import { ManualTimeSource } from '../../test/helpers/manual-time-source.js';

const DEFAULT_BASELINE = 'c9cf168'; // main before issue 12's hardening
const CALLGRIND_CALLS = 50;
const CALLGRIND_SHORT_TICKS = 200;
const CALLGRIND_LONG_TICKS = 600;
const CALLGRIND_WARMUP_TICKS = 1200;

interface Args {
  baseline: string; calls: number; ticks: number; rounds: number; isWriting: boolean; isCounting: boolean; isRecording: boolean;
  conversation: ConversationKind; isComparingConversations: boolean;
}

function parseArgs(argv: string[]): Args {
  const value = (name: string, fallback: string): string => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : fallback;
  };
  const int = (name: string, fallback: number, min: number): number => {
    const n = Number(value(name, String(fallback)));
    if (!Number.isInteger(n) || n < min) throw new RangeError(`${name} must be an integer >= ${min}`);
    return n;
  };
  return {
    baseline: value('--baseline', DEFAULT_BASELINE),
    calls: int('--calls', 200, 1),
    ticks: int('--ticks', 500, 50),
    rounds: int('--rounds', 15, 1),
    isWriting: !argv.includes('--no-write'),
    isCounting: !argv.includes('--no-callgrind'),
    isRecording: argv.includes('--recording'),
    conversation: value('--conversation', 'listening') as ConversationKind,
    isComparingConversations: argv.includes('--conversations'),
  };
}

/** Checks out and builds `ref` once; returns the folder whose dist/ holds its build. */
function buildBaseline(root: string, ref: string): { dir: string; commit: string } {
  const commit = execFileSync('git', ['rev-parse', '--short', ref], { cwd: root }).toString().trim();
  const dir = join(tmpdir(), `ai-crmd-bench-baseline-${commit}`);
  if (!existsSync(join(dir, 'dist', 'src', 'edge', 'media-socket.js'))) {
    // an export of the commit's files (git archive), not a worktree: the repository's metadata is left as it is
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true });
      execFileSync('sh', ['-c', `git archive ${commit} | tar -x -C '${dir}'`], { cwd: root, stdio: 'inherit' });
    }
    for (const linked of ['node_modules', 'build']) {
      if (!existsSync(join(dir, linked))) symlinkSync(join(root, linked), join(dir, linked), 'dir');
    }
    process.stdout.write(`hotpath: building the baseline ${commit} in ${dir}\n`);
    execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: dir, stdio: 'inherit' });
  }
  return { dir, commit };
}

/** The modules of one build that the workload drives (the same paths in both builds). */
interface Build {
  label: string;
  mediaSocket: Record<string, unknown>;
  registry: Record<string, unknown>;
  clock: Record<string, unknown>;
  dsp: Record<string, unknown>;
  /** --recording: this build's audio taps, posting every block to a MessageChannel; null: recording off. */
  recording: { createAudioTaps: (post: (message: Record<string, unknown>) => void, options: { leadFrames: number }) => unknown } | null;
}

async function loadBuild(label: string, distDir: string, isRecordingOn = false): Promise<Build> {
  const load = (path: string) => import(pathToFileURL(join(distDir, path)).href) as Promise<Record<string, unknown>>;
  // silent: the per-turn and per-call log lines would be most of what is measured
  ((await load('src/observability/log.js'))['setLogLevel'] as (level: string) => void)('silent');
  return {
    label,
    mediaSocket: await load('src/edge/media-socket.js'),
    registry: await load('src/call/registry.js'),
    clock: await load('src/audio/clock.js'),
    dsp: await load('src/audio/dsp.js'),
    recording: isRecordingOn ? (await load('src/recording/stream-audio-blocks.js')) as unknown as NonNullable<Build['recording']> : null,
  };
}

/**
 * Where --recording's blocks go: as the thread root batches them (one post per pass, here per tick), over a real
 * MessageChannel with every ArrayBuffer transferred (its far end drops them).
 */
function recordingSink(): { post: (message: Record<string, unknown>) => void; flush: () => void } {
  const channel = new MessageChannel();
  channel.port2.on('message', () => undefined);
  channel.port1.unref();
  channel.port2.unref();
  let batch: Array<Record<string, unknown>> = [];
  let transfer: ArrayBuffer[] = [];
  return {
    post: (message) => {
      batch.push(message);
      const mulaw = message['mulaw'] as Uint8Array | undefined;
      if (mulaw !== undefined) transfer.push(mulaw.buffer as ArrayBuffer);
    },
    flush: () => {
      if (batch.length === 0) return;
      channel.port1.postMessage(batch, transfer);
      batch = [];
      transfer = [];
    },
  };
}

/** A uWS socket as far as MediaSocket uses it: every write succeeds, nothing is buffered. */
function stubSocket(conn: { onClose(code: number, message: ArrayBuffer): void }) {
  let isOpen = true;
  const closeOnce = (code: number) => {
    if (!isOpen) return;
    isOpen = false;
    conn.onClose(code, new ArrayBuffer(0));
  };
  return {
    getBufferedAmount: () => 0,
    send: () => 1,
    cork: (fn: () => void) => fn(),
    end: (code: number) => closeOnce(code),
    close: () => closeOnce(1006),
    getUserData: () => ({ conn }),
  };
}

function ascii(text: string): ArrayBuffer {
  const bytes = Buffer.from(text, 'latin1');
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
}

interface Workload { calls: number; ticks: number }

/** One round on `build`: fresh engine and sockets, `ticks` ticks; returns CPU ns per inbound frame. */
function runRound(build: Build, workload: Workload, conversation: ReturnType<typeof loadConversation>): { nsPerFrame: number; framesIn: number } {
  type Ctor = new (...args: unknown[]) => Record<string, unknown>;
  const FrameClock = build.clock['FrameClock'] as Ctor;
  const InboundBatcher = build.dsp['InboundBatcher'] as Ctor;
  const createSessionFactory = build.registry['createSessionFactory'] as (options: object) => ((t: unknown) => unknown) & { registry: { shutdown(): void; stats(): Record<string, number> } };
  const MediaSocket = build.mediaSocket['MediaSocket'] as Ctor;
  const createEdgeThreadStats = build.mediaSocket['createEdgeThreadStats'] as () => Record<string, number>;

  const recording = build.recording !== null ? recordingSink() : null;
  const time = new ManualTimeSource(0);
  const clock = new FrameClock({ time });
  const batcher = new InboundBatcher({ maxSlots: workload.calls + 8, maxFramesPerTick: 1024 });
  const factory = createSessionFactory({
    config: { playout: { leadFrames: 3 }, vad: {}, turns: { minTurnMs: 250, maxTurnMs: 30_000 }, bargeIn: { enabled: true, minSpeechMs: 200 } },
    clock, batcher, maxFramesPerBatch: 1024, idleTimeoutMs: 60_000,
    ...(build.recording !== null && recording !== null ? { audioTaps: build.recording.createAudioTaps(recording.post, { leadFrames: 3 }) } : {}),
  });
  const stats = createEdgeThreadStats();
  const wallStartMs = 1_700_000_000_000;
  const options = {
    sessionFactory: factory, stats, isSignatureCheckOn: false, streamTokenSecret: 'x'.repeat(32),
    streamTokenLedger: { consume: () => Promise.resolve(true) }, maxBackpressureBytes: 1 << 20, slowClientOverflowMs: 2000,
    openSockets: new Set(), socketsAwaitingStart: new Set(), wallClockMs: () => wallStartMs + time.nowMs(),
  };
  const info = { path: '/ws/twilio-media', query: '', subprotocol: MEDIA_SUBPROTOCOL, remoteAddress: '127.0.0.1' };
  const sockets: Array<Record<string, (...args: unknown[]) => unknown>> = [];
  const offsets: number[] = [];
  const { payloadAscii, loopFrames, startFrames } = conversation;
  for (let c = 0; c < workload.calls; c++) {
    const conn = new MediaSocket(info, options) as unknown as Record<string, (...args: unknown[]) => unknown>;
    conn['onOpen']!(stubSocket(conn as never));
    const streamSid = `MZ${String(c).padStart(32, '0')}`;
    conn['onMessage']!(ascii(serializeConnected()), false);
    conn['onMessage']!(ascii(serializeStart(1, {
      streamSid, accountSid: 'AC' + '0'.repeat(32), callSid: `CA${String(c).padStart(32, '0')}`, tracks: ['inbound'],
      mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
    })), false);
    sockets.push(conn);
    offsets.push(startFrames[(c * 7919) % startFrames.length]!);
  }
  // every message pre-built: the generator's cost stays out of the figure (a fine reason not to use the serializers)
  const messages: ArrayBuffer[][] = sockets.map((_, c) => {
    const streamSid = `MZ${String(c).padStart(32, '0')}`;
    return Array.from({ length: Math.min(loopFrames, workload.ticks) }, (_, k) => ascii(
      `{"event":"media","sequenceNumber":"${k + 2}","media":{"track":"inbound","chunk":"${k + 1}","timestamp":"${k * FRAME_MS}",` +
      `"payload":"${payloadAscii[(offsets[c]! + k) % loopFrames]!.toString('latin1')}"},"streamSid":"${streamSid}"}`));
  });
  // each round starts from a collected heap (run with --expose-gc), so one round's garbage is not another's pause
  (globalThis as { gc?: () => void }).gc?.();
  const cpuBefore = process.cpuUsage();
  for (let tick = 0; tick < workload.ticks; tick++) {
    const k = tick % messages[0]!.length;
    for (let c = 0; c < sockets.length; c++) sockets[c]!['onMessage']!(messages[c]![k], false);
    time.advance(FRAME_MS);
    recording?.flush();
  }
  const cpu = process.cpuUsage(cpuBefore);
  // every message sent is one inbound frame (nothing here is junk or over the rate); counted by the driver, since the
  // builds count frames in different places (the edge before issue 13, the call engine after)
  const framesIn = workload.calls * workload.ticks;
  for (const conn of sockets) conn['close']!(1000, 'bench over');
  factory.registry.shutdown();
  return { nsPerFrame: ((cpu.user + cpu.system) * 1000) / framesIn, framesIn };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** `--child <build dir> --calls N --ticks T`: one build, one round after a warm-up (what callgrind counts). */
async function runChild(argv: string[]): Promise<void> {
  const at = (name: string): string => argv[argv.indexOf(name) + 1] ?? '';
  const build = await loadBuild('child', at('--child'), argv.includes('--record-audio'));
  const conversation = loadConversation({ kind: argv.includes('--talk-over') ? 'talk-over' : 'listening' });
  const calls = Number(at('--calls'));
  // warm-up long enough for every code path of the loop (speech, pauses, echoes) to be compiled before counting
  runRound(build, { calls, ticks: CALLGRIND_WARMUP_TICKS }, conversation);
  const result = runRound(build, { calls, ticks: Number(at('--ticks')) }, conversation);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Instructions (callgrind's `I refs`, all threads) of one child run of `distDir`'s build; null when it failed. */
function countInstructions(distDir: string, calls: number, ticks: number, isRecordingOn = false, conversation: ConversationKind = 'listening'): Promise<number | null> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve) => {
    const child = spawn('valgrind', ['--tool=callgrind', '--callgrind-out-file=/dev/null',
      // --predictable: V8 on one thread with fixed seeds, so the same run counts the same (to about 0.05%)
      process.execPath, '--predictable', script, '--child', distDir, '--calls', String(calls), '--ticks', String(ticks),
      ...(isRecordingOn ? ['--record-audio'] : []), ...(conversation === 'talk-over' ? ['--talk-over'] : [])],
    { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 900_000);
    child.once('error', () => resolve(null));
    child.once('exit', (code) => {
      clearTimeout(timer);
      const match = /I\s+refs:\s+([\d,]+)/.exec(stderr);
      resolve(code === 0 && match ? Number(match[1]!.replace(/,/g, '')) : null);
    });
  });
}

function hasValgrind(): boolean {
  return spawnSync('valgrind', ['--version'], { encoding: 'utf8' }).status === 0;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.isRecording) {
    await mainRecording(args);
    return;
  }
  if (args.isComparingConversations) {
    await mainConversations(args);
    return;
  }
  const root = findRepoRoot();
  const baseline = buildBaseline(root, args.baseline);
  const builds = [await loadBuild(`before (${baseline.commit})`, join(baseline.dir, 'dist')), await loadBuild('after (this commit)', join(root, 'dist'))];
  const conversation = loadConversation({ kind: args.conversation });
  const workload = { calls: args.calls, ticks: args.ticks };
  // warm-up: JIT and pools, both builds
  for (const build of builds) runRound(build, { calls: args.calls, ticks: 300 }, conversation);
  const samples = builds.map(() => [] as number[]);
  const framesIn = builds.map(() => 0);
  for (let round = 0; round < args.rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const b of order) {
      const result = runRound(builds[b]!, workload, conversation);
      samples[b]!.push(result.nsPerFrame);
      framesIn[b] = result.framesIn;
    }
  }
  const before = median(samples[0]!);
  const after = median(samples[1]!);
  const spread = (xs: number[]) => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;
  const lines = [
    '## Per-frame cost of the hardening guards (bench/hotpath)',
    '',
    machineLine(),
    '',
    `${args.calls} calls, ${args.ticks} ticks of 20 ms per round (${framesIn[1]} inbound frames), ${args.rounds} rounds alternating before/after, in one process; ` +
    'each inbound media message goes through the edge\'s MediaSocket (parse, guards, counters; a stub socket under it) into the real call engine ' +
    '(session, batched DSP through the addon, turns, the echo agent and its playout) on a manual clock. CPU time of the process per inbound frame, median round (range).',
    '',
    '| build | ns per inbound frame | range | µs per call-second (50 frames) |',
    '|---|---:|---:|---:|',
    `| ${builds[0]!.label} | ${Math.round(before)} | ${spread(samples[0]!)} | ${((before * 50) / 1000).toFixed(1)} |`,
    `| ${builds[1]!.label} | ${Math.round(after)} | ${spread(samples[1]!)} | ${((after * 50) / 1000).toFixed(1)} |`,
    '',
    `after / before: **${(after / before).toFixed(3)}x** (${after >= before ? '+' : ''}${Math.round(after - before)} ns per frame, ` +
    `${(((after - before) * 50) / 1000).toFixed(2)} µs per call-second). What the guards add per frame: one Date.now() and a token-bucket step ` +
    '(the rate limit), a comparison of the timestamp with the stream\'s time, a liveness check of the DSP slot per push, and per flush a copy of ' +
    'the batch\'s slot ids and times (4 + 8 bytes a frame).',
  ];
  if (args.isCounting && hasValgrind()) {
    const dists = [join(baseline.dir, 'dist'), join(root, 'dist')];
    process.stdout.write('hotpath: counting instructions under callgrind (a few minutes)\n');
    const perFrame: number[] = [];
    for (const dist of dists) {
      // the two runs of one build side by side (2 cores); the counts do not depend on timing
      const [short, long] = await Promise.all([
        countInstructions(dist, CALLGRIND_CALLS, CALLGRIND_SHORT_TICKS, false, args.conversation),
        countInstructions(dist, CALLGRIND_CALLS, CALLGRIND_LONG_TICKS, false, args.conversation),
      ]);
      perFrame.push(short === null || long === null ? NaN : (long - short) / (CALLGRIND_CALLS * (CALLGRIND_LONG_TICKS - CALLGRIND_SHORT_TICKS)));
    }
    const [b, a] = perFrame as [number, number];
    lines.push(
      '',
      `Instructions per inbound frame (callgrind, V8 --predictable, ${CALLGRIND_CALLS} calls, after a ${CALLGRIND_WARMUP_TICKS}-tick warm-up; ` +
      `the difference between a ${CALLGRIND_LONG_TICKS}-tick and a ${CALLGRIND_SHORT_TICKS}-tick run over the extra frames, so start-up and ` +
      'compilation cancel out; repeatable, unlike the times above; everything the process ran is counted, V8\'s GC included):',
      '',
      '| build | instructions per inbound frame |',
      '|---|---:|',
      `| ${builds[0]!.label} | ${Math.round(b)} |`,
      `| ${builds[1]!.label} | ${Math.round(a)} |`,
      '',
      `after / before: **${(a / b).toFixed(3)}x** (${a >= b ? '+' : ''}${Math.round(a - b)} instructions per frame).`,
    );
  } else {
    lines.push('', 'Instruction counts: skipped (valgrind is not installed, or --no-callgrind).');
  }
  const body = lines.join('\n');
  process.stdout.write(`\n${body}\n`);
  if (args.isWriting) replaceSection('hotpath', body);
}

/** --conversations: this build's instructions per frame with listening and with talk-over callers. */
async function mainConversations(args: Args): Promise<void> {
  const dist = join(findRepoRoot(), 'dist');
  if (!hasValgrind()) throw new Error('--conversations counts instructions: valgrind is not installed');
  const kinds: ConversationKind[] = ['listening', 'talk-over'];
  const perFrame: number[] = [];
  for (const kind of kinds) {
    process.stdout.write(`hotpath --conversations: counting ${kind} under callgrind\n`);
    const [short, long] = await Promise.all([
      countInstructions(dist, CALLGRIND_CALLS, CALLGRIND_SHORT_TICKS, false, kind),
      countInstructions(dist, CALLGRIND_CALLS, CALLGRIND_LONG_TICKS, false, kind),
    ]);
    perFrame.push(short === null || long === null ? NaN : (long - short) / (CALLGRIND_CALLS * (CALLGRIND_LONG_TICKS - CALLGRIND_SHORT_TICKS)));
  }
  const [l, t] = perFrame as [number, number];
  const body = [
    '## Per-frame cost with callers who talk over the agent (bench/hotpath --conversations)',
    '',
    machineLine(),
    '',
    `The hot-path workload (MediaSocket over a stub socket into the real call engine, manual clock, ${CALLGRIND_CALLS} calls), this build, ` +
    'with the listening callers and with the talk-over ones (conv-en looped as recorded: every echo is cut by a barge-in, so each call ' +
    'makes a barge-in, a clear, a new turn and a new playback about every 6.3 s). Instructions per inbound frame under callgrind ' +
    `(the ${CALLGRIND_LONG_TICKS}-tick run less the ${CALLGRIND_SHORT_TICKS}-tick one, after a ${CALLGRIND_WARMUP_TICKS}-tick warm-up).`,
    '',
    '| callers | instructions per inbound frame | per call-second |',
    '|---|---:|---:|',
    `| listening | ${Math.round(l)} | ${Math.round(l * 50)} |`,
    `| talk-over | ${Math.round(t)} | ${Math.round(t * 50)} |`,
    '',
    `talk-over / listening: **${(t / l).toFixed(3)}x** (${t >= l ? '+' : ''}${Math.round(t - l)} instructions per frame).`,
  ].join('\n');
  process.stdout.write(`\n${body}\n`);
  if (args.isWriting) replaceSection('hotpath-talk-over', body);
}

/** Alternating rounds of `builds`; the median ns per frame of each, its range, and the frames of a round. */
function alternateRounds(builds: Build[], workload: Workload, rounds: number, conversation: ReturnType<typeof loadConversation>): Array<{ median: number; samples: number[] }> {
  for (const build of builds) runRound(build, { calls: workload.calls, ticks: 300 }, conversation);
  const samples = builds.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? builds.map((_, i) => i) : builds.map((_, i) => builds.length - 1 - i);
    for (const b of order) samples[b]!.push(runRound(builds[b]!, workload, conversation).nsPerFrame);
  }
  return samples.map((xs) => ({ median: median(xs), samples: xs }));
}

/** The writer's CPU per call-second: `calls` streams of `seconds` one-second block pairs, written to a temp folder. */
async function measureRecordingWriter(calls: number, seconds: number): Promise<number> {
  const { RecordingWriter } = await import('../../src/recording/writer.js');
  const { setLogLevel } = await import('../../src/observability/log.js');
  const { mkdtempSync, rmSync } = await import('node:fs');
  setLogLevel('silent');
  const dir = mkdtempSync(join(tmpdir(), 'ai-crmd-bench-recording-'));
  const conversation = loadConversation();
  const speech = Buffer.concat(conversation.payloadAscii.slice(0, 50).map((b64) => Buffer.from(b64.toString('latin1'), 'base64')));
  let done = 0;
  const writer = new RecordingWriter({ dir, maxQueuedBytes: 1 << 30, onRecorded: () => void done++ });
  const callSids = Array.from({ length: calls }, (_, c) => `CA${c.toString(16).padStart(32, '0')}`);
  const cpuBefore = process.cpuUsage();
  for (const callSid of callSids) writer.accept({ kind: 'audio-start', callSid, streamSid: 'MZ1', atMs: Date.now() });
  for (let k = 0; k < seconds; k++) {
    for (const callSid of callSids) {
      for (const channel of [0, 1] as const) {
        const mulaw = new Uint8Array(8000);
        mulaw.set(speech.subarray(0, 8000));
        writer.accept({ kind: 'audio-block', callSid, streamSid: 'MZ1', channel, blockIndex: k, mulaw });
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (const callSid of callSids) writer.accept({ kind: 'audio-end', callSid, streamSid: 'MZ1', endSample: seconds * 8000, atMs: Date.now() });
  await writer.close(600_000);
  const cpu = process.cpuUsage(cpuBefore);
  rmSync(dir, { recursive: true, force: true });
  if (done !== calls) throw new Error(`the writer finished ${done} of ${calls} recordings`);
  return ((cpu.user + cpu.system) * 1000) / (calls * seconds);
}

/** --recording: this build, RECORD_AUDIO off and on, side by side; then the writer's cost. */
async function mainRecording(args: Args): Promise<void> {
  const root = findRepoRoot();
  const dist = join(root, 'dist');
  const builds = [await loadBuild('recording off', dist), await loadBuild('recording on (RECORD_AUDIO=on)', dist, true)];
  const conversation = loadConversation();
  const workload = { calls: args.calls, ticks: args.ticks };
  const [off, on] = alternateRounds(builds, workload, args.rounds, conversation) as [{ median: number; samples: number[] }, { median: number; samples: number[] }];
  const spread = (xs: number[]) => `${Math.round(Math.min(...xs))}-${Math.round(Math.max(...xs))}`;
  const writerNsPerCallSecond = await measureRecordingWriter(50, 60);
  const lines = [
    '## What recording costs (RECORD_AUDIO, bench/hotpath --recording)',
    '',
    machineLine(),
    '',
    `The hot-path workload above (${args.calls} calls, ${args.ticks} ticks per round, ${args.rounds} rounds alternating), this build with ` +
    'RECORD_AUDIO off and on. On, each call\'s caller frames and the frames its playout sends are copied into one-second blocks, and the ' +
    'blocks of each tick leave in one real MessageChannel postMessage with their ArrayBuffers transferred (as an edge thread posts them to the main thread). ' +
    'CPU time of the process per inbound frame (one frame in and, while the echo plays, one out), median round (range).',
    '',
    '| edge thread | ns per inbound frame | range | µs per call-second (50 frames) |',
    '|---|---:|---:|---:|',
    `| ${builds[0]!.label} | ${Math.round(off.median)} | ${spread(off.samples)} | ${((off.median * 50) / 1000).toFixed(1)} |`,
    `| ${builds[1]!.label} | ${Math.round(on.median)} | ${spread(on.samples)} | ${((on.median * 50) / 1000).toFixed(1)} |`,
    '',
    `on / off: **${(on.median / off.median).toFixed(3)}x** (${on.median >= off.median ? '+' : ''}${(((on.median - off.median) * 50) / 1000).toFixed(2)} µs per call-second on the edge thread).`,
    '',
    `The writer (main thread, off the edge): **${(writerNsPerCallSecond / 1000).toFixed(1)} µs of CPU per call-second** (50 calls x 60 s: ` +
    'both channels decoded by the addon, interleaved, appended with fs promises, headers patched at the end; libuv\'s file threads included).',
  ];
  if (args.isCounting && hasValgrind()) {
    process.stdout.write('hotpath --recording: counting instructions under callgrind (a few minutes)\n');
    const perFrame: number[] = [];
    for (const isOn of [false, true]) {
      const [short, long] = await Promise.all([
        countInstructions(dist, CALLGRIND_CALLS, CALLGRIND_SHORT_TICKS, isOn),
        countInstructions(dist, CALLGRIND_CALLS, CALLGRIND_LONG_TICKS, isOn),
      ]);
      perFrame.push(short === null || long === null ? NaN : (long - short) / (CALLGRIND_CALLS * (CALLGRIND_LONG_TICKS - CALLGRIND_SHORT_TICKS)));
    }
    const [a, b] = perFrame as [number, number];
    lines.push(
      '',
      `Instructions per inbound frame (callgrind, as above: ${CALLGRIND_CALLS} calls, the ${CALLGRIND_LONG_TICKS}-tick run less the ${CALLGRIND_SHORT_TICKS}-tick one):`,
      '',
      '| edge thread | instructions per inbound frame | per call-second |',
      '|---|---:|---:|',
      `| recording off | ${Math.round(a)} | ${Math.round(a * 50)} |`,
      `| recording on | ${Math.round(b)} | ${Math.round(b * 50)} |`,
      '',
      `on / off: **${(b / a).toFixed(3)}x** (${b >= a ? '+' : ''}${Math.round(b - a)} instructions per frame, ${Math.round((b - a) * 50)} per call-second).`,
    );
  } else {
    lines.push('', 'Instruction counts: skipped (valgrind is not installed, or --no-callgrind).');
  }
  const body = lines.join('\n');
  process.stdout.write(`\n${body}\n`);
  if (args.isWriting) replaceSection('recording', body);
}

(process.argv.includes('--child') ? runChild(process.argv.slice(2)) : main()).catch((error: unknown) => {
  process.stderr.write(`hotpath: ${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
  process.exit(1);
});
