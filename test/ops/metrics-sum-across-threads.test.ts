// In-process checks of src/observability/metrics.ts: two threads' snapshots (histograms, labelled counters) render
// as their sum in valid Prometheus text, a dead thread's merged snapshot adds up the same way, the edge and call
// counters become the documented families, label values cannot explode the series count, and the clock pass hook
// turns the engine's own figures (lateMsSum, dspBatches) into the pacing and DSP histograms.
import { beforeEach, describe, expect, it } from 'vitest';
import {
  observeCallEngine,
  countProviderError,
  countWebhookRefusedDraining,
  mergeSnapshots,
  observeTurnLatency,
  renderMetrics,
  resetThreadMetrics,
  threadMetricsSnapshot,
  type MetricsInput,
  type MetricsSnapshot,
} from '../../src/observability/metrics.js';
import { parsePrometheusText, sampleValue } from './prometheus-text.js';

function input(snapshots: MetricsSnapshot[], edge: Record<string, number> = {}, call: Record<string, number> = {}): MetricsInput {
  return {
    edge, call, edgeThreads: 2, edgeThreadsReady: 2, edgeThreadRestarts: 1, isDraining: false,
    info: { version: '0.1.0', node: process.version, engine: 'native' }, snapshots,
  };
}

describe('metrics summed across threads', () => {
  beforeEach(() => resetThreadMetrics());

  it('two threads\' histograms and labelled counters render as their sum', async () => {
    observeTurnLatency('transcript', 420);
    observeTurnLatency('first_frame', 1100);
    countProviderError('openai-asr', 'timeout');
    const threadA = await threadMetricsSnapshot();
    resetThreadMetrics();
    observeTurnLatency('transcript', 380);
    countProviderError('openai-asr', 'timeout');
    countProviderError('google-tts', 'provider-http');
    const threadB = await threadMetricsSnapshot();

    const text = await renderMetrics(input([threadA, threadB], { activeCalls: 3, framesDropped: 7 }, { turns: 4, liveSessions: 3, framesIn: 500 }));
    const families = parsePrometheusText(text);
    expect(sampleValue(families, 'aicrmd_turn_latency_seconds_count', { stage: 'transcript' })).toBe(2);
    expect(sampleValue(families, 'aicrmd_turn_latency_seconds_sum', { stage: 'transcript' })).toBeCloseTo(0.8, 6);
    expect(sampleValue(families, 'aicrmd_turn_latency_seconds_bucket', { stage: 'transcript', le: '0.5' })).toBe(2);
    expect(sampleValue(families, 'aicrmd_turn_latency_seconds_count', { stage: 'first_frame' })).toBe(1);
    expect(sampleValue(families, 'aicrmd_provider_errors_total', { provider: 'openai-asr', kind: 'timeout' })).toBe(2);
    expect(sampleValue(families, 'aicrmd_provider_errors_total', { provider: 'google-tts', kind: 'provider-http' })).toBe(1);
    expect(families.get('aicrmd_turn_latency_seconds')?.type).toBe('histogram');

    // the plain counters from the supervisor's sums (frames in: the call engine's, under its plain name)
    expect(sampleValue(families, 'aicrmd_active_calls')).toBe(3);
    expect(families.get('aicrmd_active_calls')?.type).toBe('gauge');
    expect(sampleValue(families, 'aicrmd_frames_in_total')).toBe(500);
    expect(families.get('aicrmd_frames_in_total')?.type).toBe('counter');
    expect(sampleValue(families, 'aicrmd_backpressure_drops_total')).toBe(7);
    expect(sampleValue(families, 'aicrmd_call_turns_total')).toBe(4);
    expect(sampleValue(families, 'aicrmd_call_live_sessions')).toBe(3);
    expect(families.get('aicrmd_call_live_sessions')?.type).toBe('gauge');
    expect(sampleValue(families, 'aicrmd_edge_thread_restarts_total')).toBe(1);
    expect(sampleValue(families, 'aicrmd_draining')).toBe(0);
    expect(sampleValue(families, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    // every family has a HELP text
    for (const family of families.values()) expect(family.help.length, family.name).toBeGreaterThan(0);
  });

  it('a merged snapshot (a dead thread\'s counts) adds up like the separate ones', async () => {
    observeTurnLatency('first_audio', 700);
    countProviderError('openai-llm', 'provider-network');
    const a = await threadMetricsSnapshot();
    resetThreadMetrics();
    observeTurnLatency('first_audio', 900);
    const b = await threadMetricsSnapshot();
    const separate = parsePrometheusText(await renderMetrics(input([a, b])));
    const merged = parsePrometheusText(await renderMetrics(input([mergeSnapshots([null, a, b])])));
    expect(sampleValue(merged, 'aicrmd_turn_latency_seconds_count', { stage: 'first_audio' })).toBe(2);
    for (const family of ['aicrmd_turn_latency_seconds', 'aicrmd_provider_errors_total']) {
      expect(merged.get(family)?.samples).toEqual(separate.get(family)?.samples);
    }
  });

  it('says how old each thread\'s figures are, and counts voice webhooks refused while draining', async () => {
    countWebhookRefusedDraining();
    const threadA = await threadMetricsSnapshot();
    resetThreadMetrics();
    countWebhookRefusedDraining();
    const threadB = await threadMetricsSnapshot();
    const families = parsePrometheusText(await renderMetrics({ ...input([threadA, threadB]), threadStatsAgeS: { 0: 0, 1: 2.5, 2: -0.01 } }));
    expect(families.get('aicrmd_edge_thread_stats_age_seconds')?.type).toBe('gauge');
    expect(sampleValue(families, 'aicrmd_edge_thread_stats_age_seconds', { thread: '0' })).toBe(0);
    expect(sampleValue(families, 'aicrmd_edge_thread_stats_age_seconds', { thread: '1' })).toBe(2.5);
    expect(sampleValue(families, 'aicrmd_edge_thread_stats_age_seconds', { thread: '2' })).toBe(0); // clock skew is not "fresher"
    expect(sampleValue(families, 'aicrmd_webhooks_refused_draining_total')).toBe(2);
    expect(families.get('aicrmd_webhooks_refused_draining_total')?.type).toBe('counter');
  });

  it('label values are sanitized and capped, so a typo cannot create unbounded series', async () => {
    for (let i = 0; i < 50; i++) observeTurnLatency(`Stage ${i}!`, 10);
    observeTurnLatency('transcript', -5); // ignored: not a duration
    observeTurnLatency('transcript', Number.NaN);
    const families = parsePrometheusText(await renderMetrics(input([await threadMetricsSnapshot()])));
    const stages = new Set(families.get('aicrmd_turn_latency_seconds')!.samples.map((s) => s.labels['stage']));
    expect(stages.size).toBeLessThanOrEqual(33);
    expect(stages.has('other')).toBe(true);
    expect(stages.has('stage_0_')).toBe(true);
    expect(stages.has('transcript')).toBe(false);
  });

  it('the clock pass hook records each pass\'s lateness, how long its sends took and the inbound batch time', async () => {
    let hook: ((nowMs: number) => void) | undefined;
    let now = 1000;
    let dspBatches = 0;
    const clock = {
      stats: { lateMsSum: 0, lastPassStartMs: 0 },
      nowMs: () => now,
      addPassHook(fn: (nowMs: number) => void) {
        hook = fn;
        return () => {
          hook = undefined;
        };
      },
    };
    const remove = observeCallEngine({ clock, readDspBatches: () => dspBatches });
    expect(remove).toBeTypeOf('function');
    // pass 1: 3 ms late, sends that took 1.5 ms, a DSP batch that took 0.2 ms
    clock.stats.lateMsSum += 3;
    clock.stats.lastPassStartMs = now;
    now += 1.5;
    dspBatches++;
    now += 0.2;
    hook!(now - 0.2);
    // pass 2: on time, sends that took 0.3 ms, no inbound frames
    clock.stats.lastPassStartMs = now;
    now += 0.3;
    hook!(now);
    const families = parsePrometheusText(await renderMetrics(input([await threadMetricsSnapshot()])));
    expect(sampleValue(families, 'aicrmd_clock_lateness_seconds_count')).toBe(2);
    expect(sampleValue(families, 'aicrmd_clock_lateness_seconds_sum')).toBeCloseTo(0.003, 9);
    expect(sampleValue(families, 'aicrmd_clock_lateness_seconds_bucket', { le: '0.002' })).toBe(1);
    expect(sampleValue(families, 'aicrmd_clock_pass_send_seconds_count')).toBe(2);
    expect(sampleValue(families, 'aicrmd_clock_pass_send_seconds_sum')).toBeCloseTo(0.0018, 9);
    expect(sampleValue(families, 'aicrmd_clock_pass_send_seconds_bucket', { le: '0.0005' })).toBe(1);
    expect(sampleValue(families, 'aicrmd_clock_pass_send_seconds_bucket', { le: '0.002' })).toBe(2);
    expect(sampleValue(families, 'aicrmd_dsp_batch_seconds_count')).toBe(1);
    expect(sampleValue(families, 'aicrmd_dsp_batch_seconds_sum')).toBeCloseTo(0.0002, 9);
    remove();
    expect(hook).toBeUndefined();
  });
});

describe('the strict parser used by these tests', () => {
  it('rejects what a scraper would reject', () => {
    expect(() => parsePrometheusText('# TYPE a counter\na 1\n')).not.toThrow();
    expect(() => parsePrometheusText('a 1\n')).toThrow(/outside any declared family/);
    expect(() => parsePrometheusText('# TYPE a counter\na{b="x} 1\n')).toThrow();
    expect(() => parsePrometheusText('# TYPE a counter\na one\n')).toThrow(/not a number/);
    expect(() => parsePrometheusText('# TYPE a counter\na 1\n# TYPE a gauge\n')).toThrow(/TYPE after samples/);
    expect(() => parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n')).toThrow(/cumulative/);
    expect(() => parsePrometheusText('# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n')).toThrow(/\+Inf/);
    expect(() => parsePrometheusText('# TYPE a counter\na 1')).toThrow(/newline/);
  });
});
