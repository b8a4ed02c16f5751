// Prometheus metrics for GET /metrics, summed across edge threads. A call lives on one edge thread and prom-client
// registries live per thread (AggregatorRegistry's own transport is for `cluster`, not worker_threads), so there are
// two kinds of figures:
//  - counters the edge and the call engine already keep as plain numbers (EdgeThreadStats, the registry's stats()):
//    the supervisor sums them for /version, and /metrics renders the same sums (no second bookkeeping on the hot path);
//  - distributions (clock lateness, inbound DSP batch time, per-stage turn latency) and labelled counters (provider
//    errors by kind), observed into this thread's prom-client Registry; each thread ships
//    `registry.getMetricsAsJSON()` to the supervisor with its stats, and the thread answering /metrics merges every
//    thread's snapshot with `AggregatorRegistry.aggregate` (histogram buckets, sums and counts add up).
// The AI pipeline reports through observeTurnLatency(stage, ms) and countProviderError(provider, kind).
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { TURN_STAGES, type TurnStage } from '../agent/latency.js';

/** One thread's metrics as plain objects (what `registry.getMetricsAsJSON()` returns); structured-clone safe. */
export interface MetricSample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}
export interface MetricFamily {
  name: string;
  help: string;
  type: string;
  values: MetricSample[];
  aggregator: string;
}
export type MetricsSnapshot = MetricFamily[];

export const METRIC_PREFIX = 'aicrmd_';
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Turn latency milestones, each in ms since the end of the caller's speech (issue 5 §5): the agent's TURN_STAGES
 * (src/agent/latency.ts). Other names are accepted (sanitized, capped).
 */
export type TurnLatencyStage = TurnStage;

/** Distinct values one label may take in this thread; more are folded into "other" (a typo must not explode series). */
const MAX_LABEL_VALUES = 32;

// ---------------------------------------------------------------------------------------------------------------
// This thread's registry (module state: each worker thread imports its own copy)

const threadRegistry = new Registry();

/** Both clock histograms (a pass's lateness, its sends' time) share these bounds, so their buckets line up. */
const CLOCK_PASS_BUCKETS_SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];

const pacingLateness = new Histogram({
  name: `${METRIC_PREFIX}clock_lateness_seconds`,
  help: 'Pacing error: how late each pass of the 20 ms playout clock ran behind its absolute deadline (every frame sent in the pass is at least this late)',
  buckets: CLOCK_PASS_BUCKETS_SECONDS,
  registers: [threadRegistry],
});

const passSendTime = new Histogram({
  name: `${METRIC_PREFIX}clock_pass_send_seconds`,
  help: 'How long each pass of the 20 ms playout clock took to send its frames: the frame it sent last is this much later than the pass\'s start',
  buckets: CLOCK_PASS_BUCKETS_SECONDS,
  registers: [threadRegistry],
});

const dspBatchTime = new Histogram({
  name: `${METRIC_PREFIX}dsp_batch_seconds`,
  help: 'Time of each batched inbound DSP pass: one addon crossing (mu-law decode + VAD) for every frame that arrived, and their dispatch to the calls',
  buckets: [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01],
  registers: [threadRegistry],
});

const turnLatency = new Histogram({
  name: `${METRIC_PREFIX}turn_latency_seconds`,
  help: `Per turn, time from the end of the caller's speech to each stage: ${TURN_STAGES.join(', ')}`,
  labelNames: ['stage'],
  buckets: [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 8, 13],
  registers: [threadRegistry],
});

const providerErrors = new Counter({
  name: `${METRIC_PREFIX}provider_errors_total`,
  help: 'Failed provider calls (ASR, LLM, TTS) by provider and kind (timeout, provider-http, provider-network, aborted, ...)',
  labelNames: ['provider', 'kind'],
  registers: [threadRegistry],
});

const providerFailovers = new Counter({
  name: `${METRIC_PREFIX}provider_failovers_total`,
  help: 'Requests a provider failed that the next provider of the same stage was asked for (TTS_FALLBACK), by stage, from and to',
  labelNames: ['stage', 'from', 'to'],
  registers: [threadRegistry],
});

const interruptions = new Counter({
  name: `${METRIC_PREFIX}interruptions_total`,
  help: 'What became of the AI agent\'s line when the caller spoke over it: resumed (a false barge-in), cut (a real one), expired (no verdict in time, cut), stopped_by_words (real words too short to barge in)',
  labelNames: ['verdict'],
  registers: [threadRegistry],
});

const earlyReplies = new Counter({
  name: `${METRIC_PREFIX}early_replies_total`,
  help: 'Replies asked for at a pause inside a caller turn (EARLY_REPLY_PAUSE_MS), by outcome: used (the pause ended the turn) or discarded (never played)',
  labelNames: ['outcome'],
  registers: [threadRegistry],
});

// Counted here rather than in EdgeThreadStats (the media socket's counters): only the webhook handler moves it.
const webhooksRefusedDraining = new Counter({
  name: `${METRIC_PREFIX}webhooks_refused_draining_total`,
  help: 'Voice webhooks (incoming calls) answered 503 while draining, so that Twilio uses the fallback URL or retries',
  registers: [threadRegistry],
});

const seenLabelValues = new Map<string, Set<string>>();

/** A label value Prometheus and our series count can live with: [a-z0-9_.-], at most 40 characters, capped per label. */
function labelValue(label: string, raw: string): string {
  let value = String(raw).toLowerCase().replace(/[^a-z0-9_.-]+/g, '_').slice(0, 40);
  if (value.length === 0) value = 'unknown';
  let seen = seenLabelValues.get(label);
  if (seen === undefined) {
    seen = new Set();
    seenLabelValues.set(label, seen);
  }
  if (seen.has(value)) return value;
  if (seen.size >= MAX_LABEL_VALUES) return 'other';
  seen.add(value);
  return value;
}

/** The AI pipeline's per-stage turn latency (ms since the end of the caller's speech). Per turn, never per frame. */
export function observeTurnLatency(stage: TurnLatencyStage | (string & {}), ms: number): void {
  if (!Number.isFinite(ms) || ms < 0) return;
  turnLatency.observe({ stage: labelValue('stage', stage) }, ms / 1000);
}

/** One failed provider call: provider (e.g. "openai-asr", "google-tts") and kind (an ErrorKind value). */
export function countProviderError(provider: string, kind: string): void {
  providerErrors.inc({ provider: labelValue('provider', provider), kind: labelValue('kind', kind) });
}

/** One request served by the next provider of its stage after `from` failed. */
export function countProviderFailover(stage: string, from: string, to: string): void {
  providerFailovers.inc({ stage: labelValue('stage', stage), from: labelValue('provider', from), to: labelValue('provider', to) });
}

/** One interruption's outcome (src/agent/barge-in-hold.ts): resumed, cut, expired or stopped_by_words. Per turn. */
export function countInterruption(verdict: string): void {
  interruptions.inc({ verdict: labelValue('verdict', verdict) });
}

/** One reply asked for at a pause: used or thrown away. */
export function countEarlyReply(outcome: 'used' | 'discarded'): void {
  earlyReplies.inc({ outcome });
}

/** One incoming-call webhook refused with 503 because this instance is draining. */
export function countWebhookRefusedDraining(): void {
  webhooksRefusedDraining.inc();
}

/** Pacing error of one clock pass, in ms (also observed automatically by attachEngineMetrics). */
export function observePacingLateMs(ms: number): void {
  pacingLateness.observe(ms > 0 ? ms / 1000 : 0);
}

/** How long one clock pass took to send its frames, in ms (also observed automatically by attachEngineMetrics). */
export function observePassSendMs(ms: number): void {
  passSendTime.observe(ms > 0 ? ms / 1000 : 0);
}

/** Duration of one batched inbound DSP pass, in ms (also observed automatically by attachEngineMetrics). */
export function observeDspBatchMs(ms: number): void {
  dspBatchTime.observe(ms > 0 ? ms / 1000 : 0);
}

/** This thread's distributions and labelled counters, as plain objects to post to the supervisor. */
export async function threadMetricsSnapshot(): Promise<MetricsSnapshot> {
  return (await threadRegistry.getMetricsAsJSON()) as unknown as MetricsSnapshot;
}

/** Clears this thread's registry (tests). */
export function resetThreadMetrics(): void {
  threadRegistry.resetMetrics();
  seenLabelValues.clear();
}

// ---------------------------------------------------------------------------------------------------------------
// Observing the call engine: a pass hook on the thread's clock (the composition root hands both in)

/** What the metrics read of one thread's call engine. */
export interface ObservedCallEngine {
  readonly clock: {
    readonly stats: { lateMsSum: number; lastPassStartMs: number };
    nowMs(): number;
    addPassHook(hook: (nowMs: number) => void): () => void;
  };
  /** Batched inbound DSP crossings so far (read on every pass). */
  readDspBatches(): number;
}

/**
 * Adds one pass hook to the engine's clock that records each pass's lateness (from the clock's own lateMsSum), how
 * long its sends took (from its start to the hooks), and, when the inbound batch ran in that pass, how long it took (the engine's hook runs first, from the hooks' start to
 * this hook). Returns the remover.
 */
export function observeCallEngine(engine: ObservedCallEngine): () => void {
  const { clock, readDspBatches } = engine;
  let lastLateMsSum = clock.stats.lateMsSum;
  let lastDspBatches = readDspBatches();
  // Per pass (a few hundred a second per thread): up to three histogram observations, no log, never throws.
  return clock.addPassHook((hooksAtMs) => {
    const lateMsSum = clock.stats.lateMsSum;
    observePacingLateMs(lateMsSum - lastLateMsSum);
    observePassSendMs(hooksAtMs - clock.stats.lastPassStartMs);
    lastLateMsSum = lateMsSum;
    const dspBatches = readDspBatches();
    if (dspBatches !== lastDspBatches) {
      lastDspBatches = dspBatches;
      observeDspBatchMs(clock.nowMs() - hooksAtMs);
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Merging and rendering

function sampleKey(family: string, sample: MetricSample): string {
  const labels = Object.keys(sample.labels).sort().map((k) => `${k}=${String(sample.labels[k])}`).join(',');
  return `${family}\u0000${sample.metricName ?? ''}\u0000${labels}`;
}

/**
 * Sums snapshots into one (the supervisor keeps the counts of threads that died this way, so that counters never go
 * backwards after a restart). Families are matched by name, samples by metric name and labels.
 */
export function mergeSnapshots(snapshots: ReadonlyArray<MetricsSnapshot | null | undefined>): MetricsSnapshot {
  const families = new Map<string, { family: MetricFamily; samples: Map<string, MetricSample> }>();
  for (const snapshot of snapshots) {
    if (!snapshot) continue;
    for (const family of snapshot) {
      let entry = families.get(family.name);
      if (entry === undefined) {
        entry = { family: { name: family.name, help: family.help, type: family.type, values: [], aggregator: family.aggregator }, samples: new Map() };
        families.set(family.name, entry);
      }
      for (const sample of family.values) {
        const key = sampleKey(family.name, sample);
        const existing = entry.samples.get(key);
        if (existing) existing.value += sample.value;
        else {
          const copy: MetricSample = { value: sample.value, labels: { ...sample.labels } };
          if (sample.metricName !== undefined) copy.metricName = sample.metricName;
          entry.samples.set(key, copy);
        }
      }
    }
  }
  return [...families.values()].map(({ family, samples }) => ({ ...family, values: [...samples.values()] }));
}

interface CounterSpec {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels?: Record<string, string>;
}

/** EdgeThreadStats fields (src/edge/media-socket.ts) -> metric. Several fields may share a family (with labels). */
const EDGE_METRICS: Readonly<Record<string, CounterSpec>> = {
  activeCalls: { name: 'active_calls', type: 'gauge', help: 'Media WebSockets whose start was accepted (live calls), all edge threads' },
  callsTotal: { name: 'calls_total', type: 'counter', help: 'Media WebSockets whose start was accepted, since start' },
  socketsAwaitingStart: { name: 'sockets_awaiting_start', type: 'gauge', help: 'Open media WebSockets without an accepted start yet (not calls)' },
  startTimeouts: { name: 'start_timeouts_total', type: 'counter', help: 'Media WebSockets closed for sending no valid start within WS_START_TIMEOUT_S' },
  upgradesRefusedBusy: { name: 'upgrades_refused_busy_total', type: 'counter', help: 'Media upgrades answered 503: the thread held WS_MAX_SOCKETS_AWAITING_START sockets awaiting their start' },
  framesDropped: {
    name: 'backpressure_drops_total', type: 'counter',
    help: 'Outbound frames dropped instead of written: the socket was over WS_MAX_BACKPRESSURE_BYTES (a slow reader)',
  },
  framesDroppedClosed: {
    name: 'writes_after_close_total', type: 'counter',
    help: 'Outbound writes that found the media socket already closed (a call ending while its audio was due; not a slow reader)',
  },
  slowClientsClosed: { name: 'slow_clients_closed_total', type: 'counter', help: 'Media sockets closed after staying over the backpressure limit for SLOW_CLIENT_OVERFLOW_MS' },
  droppedMalformedJson: { name: 'inbound_frames_dropped_total', type: 'counter', labels: { reason: 'malformed-json' }, help: 'Inbound frames dropped, by reason' },
  droppedUnknownEvent: { name: 'inbound_frames_dropped_total', type: 'counter', labels: { reason: 'unknown-event' }, help: '' },
  droppedInvalidField: { name: 'inbound_frames_dropped_total', type: 'counter', labels: { reason: 'invalid-field' }, help: '' },
  droppedBadPayload: { name: 'inbound_frames_dropped_total', type: 'counter', labels: { reason: 'bad-payload' }, help: '' },
  droppedOversized: { name: 'inbound_frames_dropped_total', type: 'counter', labels: { reason: 'oversized' }, help: '' },
  droppedBinaryFrame: { name: 'inbound_frames_dropped_total', type: 'counter', labels: { reason: 'binary-frame' }, help: '' },
  droppedMediaBeforeStart: { name: 'inbound_frames_dropped_total', type: 'counter', labels: { reason: 'media-before-start' }, help: '' },
  droppedRate: { name: 'inbound_frames_dropped_total', type: 'counter', labels: { reason: 'rate' }, help: '' },
  streamsClosedRate: { name: 'streams_closed_over_rate_total', type: 'counter', help: 'Media streams closed (1008) for sending faster than real time for several seconds' },
  sequenceGaps: { name: 'inbound_sequence_gaps_total', type: 'counter', help: 'Gaps in inbound sequence numbers (messages lost between Twilio and us; a gap counts once, however many it skipped)' },
  streamTokenFailures: { name: 'signature_failures_total', type: 'counter', labels: { where: 'stream-token' }, help: 'Requests refused for a missing or bad Twilio signature or stream token, by where' },
  streamTokenReplays: { name: 'signature_failures_total', type: 'counter', labels: { where: 'stream-token-replayed' }, help: '' },
  upgradesRefusedSignature: { name: 'signature_failures_total', type: 'counter', labels: { where: 'upgrade' }, help: '' },
  webhookSignatureFailures: { name: 'signature_failures_total', type: 'counter', labels: { where: 'webhook' }, help: '' },
  sessionErrors: { name: 'session_errors_total', type: 'counter', help: 'Exceptions thrown by a call session into the edge (caught; a bug)' },
  upgradesRefusedDraining: { name: 'upgrades_refused_draining_total', type: 'counter', help: 'Media upgrades answered 503 while draining' },
  webhooksAnswered: { name: 'webhooks_answered_total', type: 'counter', help: 'Twilio webhooks answered (incoming call, status callbacks)' },
};

/** ThreadCallStats fields (src/call/types.ts) -> help; each becomes aicrmd_call_<snake>_total (liveSessions a gauge). */
const CALL_HELP: Readonly<Record<string, string>> = {
  liveSessions: 'Call sessions alive in the call engine (equal to aicrmd_active_calls when nothing leaked)',
  framesIn: 'Inbound media frames (20 ms each) taken into calls, after the edge\'s guards (junk and over-rate frames are in inbound_frames_dropped_total)',
  gapFramesFilled: 'Silence frames inserted where Twilio\'s media timestamps skipped',
  gapFramesSkipped: 'Frames of a media timestamp jump left unfilled (over 2 s per jump, or filling faster than 5x real time)',
  timestampsCorrected: 'Media frames whose timestamp stood still or ran back (placed 20 ms after the previous frame)',
  inboundStalePushes: 'Inbound frames dropped at the DSP batch: their slot was already freed (a call ending mid-push), or the batch was full during a dispatch',
  inboundSinkErrors: 'Exceptions thrown by a call while its inbound frames were dispatched (caught; a bug)',
  framesOut: 'Outbound media frames (160 bytes of mu-law, 20 ms) written by the playout',
  dropped: 'Outbound writes of the playout that the transport dropped (closed socket or backpressure)',
  marksSent: 'Marks sent after agent utterances',
  marksHeard: 'Marks Twilio returned because the audio was played',
  marksFlushed: 'Marks Twilio returned because of a clear (not heard)',
  turns: 'Caller turns handed to the agent',
  turnsTooShort: 'VAD turns dropped as shorter than TURN_MIN_MS',
  turnsForcedEnd: 'Caller turns cut at TURN_MAX_MS',
  bargeIns: 'Barge-ins: the caller talked over the agent and playback was cleared',
  bargeInsByWords: 'Of the barge-ins, those decided by the caller\'s words (streaming ASR: words that are not a backchannel) rather than by BARGE_IN_MIN_SPEECH_MS of speech',
  dspBatches: 'Batched inbound DSP crossings (one per clock pass with inbound frames)',
  dspFrames: 'Frames through the batched inbound DSP',
  agentErrors: 'Exceptions or rejections from agent callbacks (caught)',
  idleTimeouts: 'Sessions ended because nothing arrived for too long',
  clockPasses: 'Playout clock wake-ups that served calls',
  clockSubTicksMerged: 'Playout clock sub-ticks served late, in a later pass (catch-up)',
  clockHandlerErrors: 'Exceptions in playout clock tick handlers (a bug)',
};

/** The records writer's counters -> metric (the main thread's one writer). */
const RECORDS_METRICS: Readonly<Record<string, CounterSpec>> = {
  queued: { name: 'records_queued', type: 'gauge', help: 'Call records waiting to be written (bounded; past the bound they are dropped)' },
  written: { name: 'records_written_total', type: 'counter', help: 'Call records written to the database' },
  dropped: { name: 'records_dropped_total', type: 'counter', help: 'Call records dropped: the queue was full while the database was slow or down' },
  rejected: { name: 'records_rejected_total', type: 'counter', help: 'Call records refused as malformed or by the database for their content' },
  writeFailures: { name: 'records_write_failures_total', type: 'counter', help: 'Batches the database failed to write (retried)' },
  reconnects: { name: 'records_reconnects_total', type: 'counter', help: 'Times the records writer reconnected to the database' },
  // the recording writer's (RECORD_AUDIO=on; src/recording/writer.ts), beside the records writer in the main thread
  audioSecondsWritten: { name: 'records_audio_seconds_written_total', type: 'counter', help: 'Seconds of call audio written to recordings (both channels)' },
  audioBlocksDropped: { name: 'records_audio_blocks_dropped_total', type: 'counter', help: 'One-second blocks of call audio dropped: the recording writer was behind, or the disk refused the file' },
  audioWriteFailures: { name: 'records_audio_write_failures_total', type: 'counter', help: 'Recording file operations that failed (EACCES, ENOSPC, ...)' },
  audioQueuedBytes: { name: 'records_audio_queued_bytes', type: 'gauge', help: 'Bytes of call audio waiting to be written to recordings (bounded)' },
  audioMessagesRejected: { name: 'records_audio_messages_rejected_total', type: 'counter', help: 'Recording messages refused as malformed' },
};

/** Call-engine counters whose metric keeps its plain name (they are the server's headline figures). */
const CALL_METRIC_NAMES: Readonly<Record<string, string>> = { framesIn: 'frames_in_total', framesOut: 'frames_out_total' };

function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/[^A-Za-z0-9_]/g, '_').toLowerCase();
}

/** Everything /metrics shows beyond the per-thread snapshots: sums from the supervisor and facts of this process. */
export interface MetricsInput {
  /** EdgeThreadStats summed over every edge thread. */
  edge: Readonly<Record<string, number>>;
  /** The call engine's counters summed over every edge thread (empty when the session module keeps none). */
  call: Readonly<Record<string, number>>;
  edgeThreads: number;
  edgeThreadsReady: number;
  edgeThreadRestarts: number;
  /**
   * Per edge thread (by index), how old the figures shown for it are, in seconds: about 0 for the answering thread
   * and up to STATS_PUSH_INTERVAL_MS for the others; more when the supervisor did not answer in time and the last
   * figures it handed out were shown instead, or when a thread has stopped reporting (stalled, dead, restarting).
   */
  threadStatsAgeS?: Readonly<Record<string, number>>;
  /** The records writer's counters (src/records/writer.ts readCounters), from the main thread; absent: records off. */
  records?: Readonly<Record<string, number>>;
  isDraining: boolean;
  info: { version: string; node: string; engine: string };
  /** Every thread's snapshot (and the retired threads' merged one). */
  snapshots: ReadonlyArray<MetricsSnapshot>;
}

function family(name: string, help: string, type: 'counter' | 'gauge', values: MetricSample[]): MetricFamily {
  return { name: `${METRIC_PREFIX}${name}`, help, type, values, aggregator: 'sum' };
}

/** The families built from plain numbers: sums of the edge and call-engine counters, threads, process. */
export function countersToSnapshot(input: MetricsInput): MetricsSnapshot {
  const families = new Map<string, MetricFamily>();
  const add = (spec: CounterSpec, value: number): void => {
    let f = families.get(spec.name);
    if (f === undefined) {
      f = family(spec.name, spec.help, spec.type, []);
      families.set(spec.name, f);
    } else if (f.help.length === 0) {
      f.help = spec.help;
    }
    f.values.push({ value, labels: { ...(spec.labels ?? {}) } });
  };
  for (const [key, spec] of Object.entries(EDGE_METRICS)) {
    const value = input.edge[key];
    if (typeof value === 'number' && Number.isFinite(value)) add(spec, value);
  }
  for (const [key, value] of Object.entries(input.call)) {
    if (!Number.isFinite(value)) continue;
    const isGauge = key === 'liveSessions';
    const base = CALL_METRIC_NAMES[key] ?? `call_${snakeCase(key)}`;
    add({ name: isGauge || base.endsWith('_total') ? base : `${base}_total`, type: isGauge ? 'gauge' : 'counter', help: CALL_HELP[key] ?? `Call engine counter ${key}` }, value);
  }
  for (const [key, value] of Object.entries(input.records ?? {})) {
    const spec = RECORDS_METRICS[key];
    if (spec !== undefined && Number.isFinite(value)) add(spec, value);
  }
  add({ name: 'edge_threads', type: 'gauge', help: 'Edge threads configured (0 = the edge runs in the main thread)' }, input.edgeThreads);
  add({ name: 'edge_threads_ready', type: 'gauge', help: 'Edge threads listening right now' }, input.edgeThreadsReady);
  add({ name: 'edge_thread_restarts_total', type: 'counter', help: 'Edge threads restarted by the supervisor after dying' }, input.edgeThreadRestarts);
  const ageHelp = 'Age of the figures shown for each edge thread, in seconds (over a few seconds: the supervisor or that thread is not answering, and its last figures are shown)';
  for (const [thread, ageS] of Object.entries(input.threadStatsAgeS ?? {})) {
    if (Number.isFinite(ageS)) add({ name: 'edge_thread_stats_age_seconds', type: 'gauge', help: ageHelp, labels: { thread } }, Math.max(0, ageS));
  }
  add({ name: 'draining', type: 'gauge', help: '1 while draining after SIGTERM/SIGINT (new calls refused), else 0' }, input.isDraining ? 1 : 0);
  add(
    { name: 'build_info', type: 'gauge', help: 'Always 1; the labels say what runs', labels: { version: input.info.version, node: input.info.node, engine: input.info.engine } },
    1,
  );
  const cpu = process.cpuUsage();
  const processFamilies: MetricFamily[] = [
    { name: 'process_cpu_seconds_total', help: 'Total user and system CPU time of the process, in seconds', type: 'counter', aggregator: 'sum', values: [{ value: (cpu.user + cpu.system) / 1e6, labels: {} }] },
    { name: 'process_resident_memory_bytes', help: 'Resident memory of the process, in bytes', type: 'gauge', aggregator: 'sum', values: [{ value: process.memoryUsage.rss(), labels: {} }] },
    { name: 'process_start_time_seconds', help: 'Start time of the process since the Unix epoch, in seconds', type: 'gauge', aggregator: 'sum', values: [{ value: Math.round(Date.now() / 1000 - process.uptime()), labels: {} }] },
  ];
  return [...families.values(), ...processFamilies];
}

/** The /metrics body: the counter sums plus every thread's snapshot, aggregated and rendered by prom-client. */
export async function renderMetrics(input: MetricsInput): Promise<string> {
  const registry = AggregatorRegistry.aggregate([countersToSnapshot(input), ...input.snapshots]);
  return registry.metrics();
}
