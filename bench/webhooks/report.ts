/** The webhooks section of bench/RESULTS.md (between `<!-- webhooks:begin -->` and `<!-- webhooks:end -->`). */
import { replaceSection, machineLine, fmt } from '../load/results-file.js';
import { OTHER_CPU_CLEAN_PCT, type WebhookArgs, type WebhooksRun } from './run.js';

const GOAL_RATIO = 2;

export function webhooksMarkdown(run: WebhooksRun, args: Pick<WebhookArgs, 'durationS' | 'connections' | 'edgeThreads' | 'rounds'>): string {
  const results = run.endpoints;
  const lines: string[] = ['## Webhooks (bench/webhooks)', '', machineLine(), ''];
  lines.push(
    `autocannon, ${args.connections} connections, ${args.durationS} s per measurement after a 1 s warm-up, in the same run: ours ` +
    `(uWebSockets.js, EDGE_THREADS=${args.edgeThreads}) and the peer (bench/peers/fastify-webhooks-peer.ts: Fastify + @fastify/formbody, one thread), ` +
    `both at LOG_LEVEL=warn, measured in alternation for ${args.rounds} round(s). "other CPU" is what the rest of the machine used meanwhile (from /proc/stat, % of one core); ` +
    `each figure is the median over the rounds whose other CPU stayed under ${OTHER_CPU_CLEAN_PCT}% ("clean"), or over all rounds when none did. ` +
    'Both run with signature checks on; every request carries a valid X-Twilio-Signature (twilio.getExpectedTwilioSignature for PUBLIC_BASE_URL + path) ' +
    'and both do the same work: twilio.validateRequest, then TwiML from VoiceResponse with <Connect><Stream>, four <Parameter>s (one an HMAC stream token) ' +
    'and a status callback; or 204 for the status callback. The generator (autocannon) runs on the same 2 cores.',
    '',
    '| endpoint | server | req/s | req/s each round (other CPU %) | clean rounds | p50 ms | p99 ms | non-2xx | errors | server CPU % | server CPU µs/req | autocannon CPU % |',
    '|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of results) {
    const rounds = r.requestsPerSRounds.map((x, i) => `${fmt(x, 0)} (${fmt(r.otherCpuPctRounds[i] ?? Number.NaN, 0)})`).join(', ');
    lines.push(`| ${r.endpoint} | ${r.server} | ${fmt(r.requestsPerS, 0)} | ${rounds} | ${r.cleanRounds} | ${r.latencyP50Ms} | ${r.latencyP99Ms} | ${r.non2xx} | ${r.errors} | ${fmt(r.serverCpuPct, 0)} | ${fmt(r.serverCpuMsPerRequest * 1000, 1)} | ${fmt(r.generatorCpuPct, 0)} |`);
  }
  lines.push('');
  const endpoints = [...new Set(results.map((r) => r.endpoint))];
  for (const e of endpoints) {
    const o = results.find((r) => r.endpoint === e && r.server === 'ours');
    const p = results.find((r) => r.endpoint === e && r.server === 'fastify');
    if (!o || !p) continue;
    const ratio = o.requestsPerS / p.requestsPerS;
    const cpuRatio = o.serverCpuMsPerRequest / p.serverCpuMsPerRequest;
    const clean = o.non2xx === 0 && p.non2xx === 0 && o.errors === 0 && p.errors === 0 && o.problems.length === 0 && p.problems.length === 0;
    for (const r of [o, p]) if (r.problems.length) lines.push(`- **${e}, ${r.server}: ${r.problems.join('; ')}** (probe: ${r.probe})`);
    lines.push(`- ${e}: ours **${fmt(ratio, 2)}x** the peer's req/s (goal ≥ ${GOAL_RATIO}x: ${ratio >= GOAL_RATIO ? 'met' : 'not met'}); ` +
      `p99 ${o.latencyP99Ms} vs ${p.latencyP99Ms} ms; server CPU per request ${fmt(cpuRatio, 2)}x the peer's` +
      (clean ? '.' : ' — **not a valid comparison: some responses were not 2xx, failed, or broke the protocol (above)**.'));
  }
  if (results.some((r) => r.generatorCpuPct > 90)) {
    lines.push('- autocannon used a whole core in some runs: there, req/s measures the load generator as much as the server; server CPU µs per request is the figure that does not depend on it.');
  }
  if (results.some((r) => r.cleanRounds === 0)) {
    lines.push('- **No clean round for some rows**: other work on the machine took CPU from the server or autocannon throughout, ' +
      'so their req/s is not the server\'s limit; server CPU µs per request is the steadier figure there.');
  }
  if (run.profileMarkdown) lines.push('', run.profileMarkdown);
  return lines.join('\n');
}

export function writeWebhooksReport(run: WebhooksRun, args: Pick<WebhookArgs, 'durationS' | 'connections' | 'edgeThreads' | 'rounds'>): void {
  replaceSection('webhooks', webhooksMarkdown(run, args));
}
