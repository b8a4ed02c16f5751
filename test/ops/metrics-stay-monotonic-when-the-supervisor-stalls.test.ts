// GET /metrics when the supervisor (the main thread) does not answer a collect in time: the answering edge thread shows
// the last totals the supervisor served (every thread's figures, not its own alone), with their ages in
// aicrmd_edge_thread_stats_age_seconds, so no counter or histogram reads lower than in an earlier scrape and
// aicrmd_edge_threads_ready stays at the threads listening. The stall is real: the env-gated test hook
// POST /__test/stall-supervisor?ms=N makes the main thread block its event loop (as a synchronous hog would), and the
// answering thread's collect times out through the production code path.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeConnected, serializeInboundMark, serializeStart } from '../../src/twilio/caller-messages.js';
import { MULAW_MEDIA_FORMAT } from '../../src/twilio/media-format.js';
import { TEST_SESSION_MODULE, connectWs, startServer, type RunningServer } from '../helpers/server.js';
import { parsePrometheusText, sampleValue, type Family } from './prometheus-text.js';

const STATUS_CALLBACKS = 20;
const CALLS = 4;

async function scrape(server: RunningServer): Promise<Map<string, Family>> {
  const response = await fetch(`${server.baseUrl}/metrics`, { headers: { connection: 'close' } });
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

const value = (families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number =>
  sampleValue(families, name, labels) ?? Number.NaN;

/** Every sample of every counter and histogram family, by sample name and labels. */
function monotonicSamples(families: Map<string, Family>): Map<string, number> {
  const out = new Map<string, number>();
  for (const family of families.values()) {
    if (family.type !== 'counter' && family.type !== 'histogram') continue;
    for (const sample of family.samples) out.set(`${sample.name}${JSON.stringify(sample.labels)}`, sample.value);
  }
  return out;
}

function expectNoCounterWentBackwards(earlier: Map<string, Family>, later: Map<string, Family>): void {
  const after = monotonicSamples(later);
  for (const [key, before] of monotonicSamples(earlier)) {
    expect(after.has(key), `${key} vanished`).toBe(true);
    expect(after.get(key), key).toBeGreaterThanOrEqual(before);
  }
}

async function callIsServed(server: RunningServer, name: string): Promise<void> {
  const client = await connectWs(`${server.wsBaseUrl}/ws/twilio-media`, { protocols: 'audio.twilio.com' });
  client.send(serializeConnected());
  client.send(serializeStart(1, {
    streamSid: `MZ${name}`, accountSid: 'AC' + '0'.repeat(32), callSid: `CA${name}`, tracks: ['inbound'],
    mediaFormat: { ...MULAW_MEDIA_FORMAT }, customParameters: {},
  }));
  client.send(serializeInboundMark(2, `MZ${name}`, name));
  await client.waitForMessage((text) => text.includes(`"${name}"`));
  client.ws.close(1000);
  await client.closed;
}

describe('/metrics while the supervisor stalls', () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      env: { EDGE_THREADS: '2', EDGE_TEST_HOOKS: '1', EDGE_SESSION_MODULE: TEST_SESSION_MODULE, LOG_LEVEL: 'warn', INSECURE_DEV_MODE: '1' },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('shows every thread\'s last figures with their age: no counter goes backwards, threads_ready does not drop', async () => {
    // Counts on both threads: fresh connections spread across them (the kernel picks by source port).
    for (let i = 0; i < STATUS_CALLBACKS; i++) {
      const response = await fetch(`${server.baseUrl}/webhook/status`, {
        method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', connection: 'close' }, body: `CallSid=CAstatus${i}`,
      });
      expect(response.status).toBe(204);
    }
    for (let i = 0; i < CALLS; i++) await callIsServed(server, `monotonic${i}`);
    // Until both threads' figures have reached the supervisor (pushed once a second).
    const deadline = Date.now() + 5_000;
    let before = await scrape(server);
    while (
      (value(before, 'aicrmd_webhooks_answered_total') < STATUS_CALLBACKS || value(before, 'aicrmd_calls_total') < CALLS ||
        value(before, 'aicrmd_active_calls') !== 0) && Date.now() < deadline
    ) {
      await new Promise((done) => setTimeout(done, 100));
      before = await scrape(server);
    }
    expect(value(before, 'aicrmd_webhooks_answered_total')).toBe(STATUS_CALLBACKS);
    expect(value(before, 'aicrmd_calls_total')).toBe(CALLS);
    expect(value(before, 'aicrmd_edge_threads_ready')).toBe(2);

    const stall = await fetch(`${server.baseUrl}/__test/stall-supervisor?ms=4000`, { method: 'POST', headers: { connection: 'close' } });
    expect(stall.status).toBe(202); // the supervisor is blocked from now on: these collects time out

    let previous = before;
    for (let i = 0; i < 2; i++) {
      const during = await scrape(server);
      expectNoCounterWentBackwards(previous, during);
      expect(value(during, 'aicrmd_webhooks_answered_total')).toBe(STATUS_CALLBACKS);
      expect(value(during, 'aicrmd_calls_total')).toBe(CALLS);
      expect(value(during, 'aicrmd_edge_threads')).toBe(2);
      expect(value(during, 'aicrmd_edge_threads_ready')).toBe(2);
      // stale figures say so: both threads' figures are at least the collect timeout (1 s) old
      for (const thread of ['0', '1']) {
        expect(value(during, 'aicrmd_edge_thread_stats_age_seconds', { thread }), `thread ${thread}`).toBeGreaterThanOrEqual(1);
      }
      previous = during;
    }

    // Once the supervisor answers again (the answering thread's own figures are fresh), still not below what was shown.
    const ages = (f: Map<string, Family>): number[] => ['0', '1'].map((thread) => value(f, 'aicrmd_edge_thread_stats_age_seconds', { thread }));
    let after = await scrape(server);
    while (Math.min(...ages(after)) >= 0.5) after = await scrape(server);
    expectNoCounterWentBackwards(previous, after);
    expect(value(after, 'aicrmd_edge_threads_ready')).toBe(2);
  });
});
