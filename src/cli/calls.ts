// `npm run calls` (a table of recent calls) and `npm run calls -- show CA...` (one call's transcript and events),
// read from a running server's control API (AICRMD_URL, CONTROL_API_KEY).
import { callControlApi, controlClientOptionsFromEnv, ControlApiError } from './control-client.js';

interface CallSummary {
  callSid: string; direction: string; from: string | null; to: string | null; status: string | null; startedAt: string;
  durationMs: number | null; endReason: string | null;
}
interface CallRecord extends CallSummary {
  turns: Array<{ role: string; text: string | null; heardText: string | null; startedAt: string }>;
  events: Array<{ at: string; kind: string; data: Record<string, unknown> }>;
  summary?: { text: string | null; disposition: string | null; fields: Record<string, unknown>; delivery: { deliveredAt: string | null; attempts: number; lastError: string | null } | null } | null;
}

const seconds = (ms: number | null): string => (ms === null ? '-' : `${(ms / 1000).toFixed(1)} s`);

export function callsTable(calls: readonly CallSummary[]): string {
  const rows = calls.map((c) => [c.startedAt.replace('T', ' ').slice(0, 19), c.callSid, c.direction, c.from ?? '-', c.to ?? '-',
    seconds(c.durationMs), c.endReason ?? (c.status ?? 'live')]);
  const header = ['started (UTC)', 'callSid', 'direction', 'from', 'to', 'duration', 'end'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

export function transcript(call: CallRecord): string {
  const lines = [`${call.callSid}  ${call.direction}  ${call.from ?? '-'} -> ${call.to ?? '-'}  ${seconds(call.durationMs)}  ${call.endReason ?? 'live'}`];
  const entries = [
    ...call.turns.map((t) => ({ at: t.startedAt, text: `${t.role === 'caller' ? 'caller' : 'agent '}: ${t.text ?? '(not transcribed)'}${t.role === 'agent' && t.heardText !== null && t.heardText !== t.text ? `  [heard: ${t.heardText}]` : ''}` })),
    ...call.events.map((e) => ({ at: e.at, text: `  * ${e.kind} ${JSON.stringify(e.data)}` })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  for (const entry of entries) lines.push(`${entry.at.slice(11, 23)}  ${entry.text}`);
  const summary = call.summary;
  if (summary !== undefined && summary !== null) {
    lines.push(`summary (${summary.disposition ?? 'none'}): ${summary.text ?? '(could not be written)'}`);
    if (Object.keys(summary.fields).length > 0) lines.push(`fields: ${JSON.stringify(summary.fields)}`);
    const delivery = summary.delivery;
    if (delivery !== null) {
      lines.push(delivery.deliveredAt !== null ? `delivered ${delivery.deliveredAt} (attempt ${delivery.attempts})`
        : `not delivered yet (${delivery.attempts} attempts${delivery.lastError !== null ? `; last: ${delivery.lastError}` : ''})`);
    }
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const options = controlClientOptionsFromEnv();
  if (argv[0] === 'show') {
    const callSid = argv[1];
    if (callSid === undefined) {
      process.stdout.write('usage: npm run calls -- show <CallSid>\n');
      return 2;
    }
    process.stdout.write(`${transcript(await callControlApi<CallRecord>(options, 'GET', `/api/calls/${encodeURIComponent(callSid)}`))}\n`);
    return 0;
  }
  const limitIndex = argv.indexOf('--limit');
  const limit = limitIndex >= 0 ? argv[limitIndex + 1] : '20';
  const page = await callControlApi<{ calls: CallSummary[] }>(options, 'GET', `/api/calls?limit=${encodeURIComponent(limit ?? '20')}`);
  process.stdout.write(`${callsTable(page.calls)}\n`);
  return 0;
}

main(process.argv.slice(2)).then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`calls: ${error instanceof ControlApiError ? `${error.code}: ${error.message}` : error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
