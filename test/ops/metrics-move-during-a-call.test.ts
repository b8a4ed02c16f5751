// GET /metrics on the real, built server (two edge threads, the call engine with the echo agent): the body parses as
// strict Prometheus text on whichever thread answers, and its figures move during one short call made the way Twilio
// makes it (the caller CLI's Caller streaming 2 s of the English reference call then 1 s of silence, so one turn ends
// and is echoed): a live call shows in active_calls, then frames in and out, turns, the clock's pacing histogram and
// the DSP batch histogram have grown. While draining, aicrmd_draining is 1 and a real call still runs to its end.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Caller, type CallerResult } from '../../src/cli/caller.js';
import { REPO_ROOT, getJson, rawRequest, startServer, upgradeRequest, type RunningServer } from '../helpers/server.js';
import { parsePrometheusText, sampleValue, type Family } from './prometheus-text.js';

const MULAW_SILENCE = 0xff;
const BYTES_PER_S = 8000;

/** 2 s of the reference call (speech from 0.5 s) and 1 s of silence: one caller turn that ends, 150 frames. */
function shortCall(): Uint8Array {
  const speech = readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'conv-en.8k.ul')).subarray(0, 2 * BYTES_PER_S);
  const audio = new Uint8Array(3 * BYTES_PER_S).fill(MULAW_SILENCE);
  audio.set(speech, 0);
  return audio;
}

async function scrape(server: RunningServer): Promise<Map<string, Family>> {
  const response = await fetch(`${server.baseUrl}/metrics`, { headers: { connection: 'close' } });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number =>
  sampleValue(families, name, labels) ?? Number.NaN;

/** Scrapes until `check` holds (threads other than the answering one report at most once a second). */
async function scrapeUntil(server: RunningServer, check: (families: Map<string, Family>) => boolean, timeoutMs = 5_000): Promise<Map<string, Family>> {
  const deadline = Date.now() + timeoutMs;
  let families = await scrape(server);
  while (!check(families) && Date.now() < deadline) {
    await new Promise((done) => setTimeout(done, 100));
    families = await scrape(server);
  }
  return families;
}

describe('GET /metrics', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({ env: { EDGE_THREADS: '2', LOG_LEVEL: 'warn' } });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('parses as Prometheus text on every thread, and its counters move during a call', async () => {
    // several scrapes over fresh connections land on both threads: each must parse and show every family
    for (let i = 0; i < 4; i++) {
      const families = await scrape(server);
      for (const name of [
        'aicrmd_active_calls', 'aicrmd_frames_in_total', 'aicrmd_frames_out_total', 'aicrmd_backpressure_drops_total',
        'aicrmd_inbound_frames_dropped_total', 'aicrmd_clock_lateness_seconds', 'aicrmd_turn_latency_seconds',
        'aicrmd_provider_errors_total', 'aicrmd_dsp_batch_seconds', 'aicrmd_edge_thread_restarts_total',
      ]) {
        expect(families.has(name), name).toBe(true);
      }
      expect(value(families, 'aicrmd_edge_threads_ready')).toBe(2);
    }
    const before = await scrape(server);

    const audio = shortCall();
    const caller = new Caller({ url: `${server.wsBaseUrl}/ws/twilio-media`, audio, tailMs: 1_500 });
    const done: Promise<CallerResult> = caller.run();
    const during = await scrapeUntil(server, (f) => value(f, 'aicrmd_active_calls') === 1);
    expect(value(during, 'aicrmd_active_calls')).toBe(1);
    const result = await done;
    expect(result.framesSent).toBe(audio.length / 160);
    expect(result.framesReceived).toBeGreaterThan(0); // the echo of the turn

    const grew = (f: Map<string, Family>, name: string, by = 1): boolean => value(f, name) - value(before, name) >= by;
    const after = await scrapeUntil(server, (f) =>
      value(f, 'aicrmd_active_calls') === 0 &&
      grew(f, 'aicrmd_frames_in_total', result.framesSent) &&
      grew(f, 'aicrmd_frames_out_total', result.framesReceived) &&
      grew(f, 'aicrmd_clock_lateness_seconds_count') &&
      grew(f, 'aicrmd_dsp_batch_seconds_count'));
    expect(value(after, 'aicrmd_active_calls')).toBe(0);
    expect(value(after, 'aicrmd_calls_total') - value(before, 'aicrmd_calls_total')).toBe(1);
    expect(value(after, 'aicrmd_frames_in_total') - value(before, 'aicrmd_frames_in_total')).toBe(result.framesSent);
    // media frames out (the call engine's count): every media frame the caller got
    expect(value(after, 'aicrmd_frames_out_total') - value(before, 'aicrmd_frames_out_total')).toBe(result.framesReceived);
    expect(value(after, 'aicrmd_call_turns_total') - value(before, 'aicrmd_call_turns_total')).toBe(1);
    expect(value(after, 'aicrmd_clock_lateness_seconds_count')).toBeGreaterThan(value(before, 'aicrmd_clock_lateness_seconds_count'));
    expect(value(after, 'aicrmd_dsp_batch_seconds_count')).toBeGreaterThan(value(before, 'aicrmd_dsp_batch_seconds_count'));
    expect(value(after, 'aicrmd_call_dsp_frames_total') - value(before, 'aicrmd_call_dsp_frames_total')).toBeGreaterThanOrEqual(result.framesSent);
    expect(value(after, 'aicrmd_inbound_frames_dropped_total', { reason: 'malformed-json' })).toBe(0);
    // /metrics and /version tell the same story
    const version = (await getJson(`${server.baseUrl}/version`)).body;
    expect(value(after, 'aicrmd_calls_total')).toBe((version['counters'] as Record<string, number>)['callsTotal']);
  });

  it('is GET only, with or without a trailing slash', async () => {
    expect((await fetch(`${server.baseUrl}/metrics/`, { headers: { connection: 'close' } })).status).toBe(200);
    const post = await fetch(`${server.baseUrl}/metrics`, { method: 'POST', headers: { connection: 'close' } });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });
});

describe('/metrics while draining', () => {
  // The drain itself (503 to new upgrades, /version draining, exit 0, drain timeout) is proven with the edge's test
  // session module in test/edge/sigterm-drains-live-calls.test.ts; this one drives the real call engine and metrics.
  it('shows aicrmd_draining 1 while a real call runs to its end, then the process exits 0', async () => {
    const server = await startServer({ env: { EDGE_THREADS: '2', LOG_LEVEL: 'info', DRAIN_TIMEOUT_S: '20' } });
    try {
      const audio = shortCall();
      const caller = new Caller({ url: `${server.wsBaseUrl}/ws/twilio-media`, audio, tailMs: 500 });
      const done = caller.run();
      await scrapeUntil(server, (f) => value(f, 'aicrmd_active_calls') === 1);
      server.signal('SIGTERM');
      await server.waitForLog((line) => line['event'] === 'DRAIN_START');
      const draining = await scrapeUntil(server, (f) => value(f, 'aicrmd_draining') === 1);
      expect(value(draining, 'aicrmd_draining')).toBe(1);
      expect(value(draining, 'aicrmd_active_calls')).toBe(1);
      expect((await rawRequest(server.port, upgradeRequest('/ws/twilio-media', { 'Sec-WebSocket-Protocol': 'audio.twilio.com' }))).status).toBe(503);

      const result = await done;
      expect(result.framesSent).toBe(audio.length / 160); // the live call was not cut short
      expect(result.closeCode).toBe(1000);
      expect(await server.exited).toEqual({ code: 0, signal: null });
      expect(await server.waitForLog((line) => line['event'] === 'DRAIN_DONE')).toMatchObject({ isTimedOut: false, remainingCalls: 0 });
    } finally {
      await server.stop();
    }
  });
});
