// Every call leaves a record, end to end through the real server (two edge threads): the call engine's events go to
// the main thread's control plane, its one writer puts them in the database (SQLite in DATA_DIR, or PostgreSQL at
// DATABASE_URL: the same test on each), Twilio's status callbacks land on the same row, and the control API reads the
// call back: its direction, sids, times, the caller's turns, the barge-in, a DTMF digit, and how it ended.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks.js';
import { Caller } from '../../src/cli/caller.js';
import { newSid } from '../fakes/twilio-rest-server.js';
import { REPO_ROOT, startServer, type RunningServer } from '../helpers/server.js';
import { loadReferenceCall, mediaUrl } from '../integration/reference-calls.js';
import { backendsToRun, until, type BackendInstance } from './backends.js';

const API_KEY = 'records-e2e-api-key-0123456789abcdef';
const AUTH_TOKEN = 'records-e2e-auth-token-7c1d';
const PUBLIC_BASE_URL = 'https://records.example.test';

interface ApiCall {
  callSid: string; streamSid: string | null; direction: string; from: string | null; to: string | null; status: string | null;
  startedAt: string; endedAt: string | null; durationMs: number | null; endReason: string | null; agent: string | null;
  turns: Array<{ role: string; text: string | null; startedAt: string; endedAt: string | null }>;
  events: Array<{ at: string; kind: string; data: Record<string, unknown> }>;
}

for (const backend of backendsToRun()) {
  describe.skipIf(!backend.isAvailable)(`records in ${backend.name}`, () => {
    let instance: BackendInstance;
    let server: RunningServer;
    beforeAll(async () => {
      instance = await backend.create();
      const { dataDir, databaseUrl } = instance.settings;
      server = await startServer({
        env: {
          EDGE_THREADS: '2', CONTROL_API_KEY: API_KEY, TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL,
          DATA_DIR: dataDir, ...(databaseUrl !== undefined ? { DATABASE_URL: databaseUrl } : {}),
        },
      });
    }, 60_000);
    afterAll(async () => {
      await server?.stop();
      await instance?.dispose();
    });

    const runCli = (script: string, args: string[]): Promise<{ code: number | null; stdout: string }> => new Promise((resolve) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'src', 'cli', script), ...args], {
        env: { PATH: process.env['PATH'] ?? '', AICRMD_URL: server.baseUrl, CONTROL_API_KEY: API_KEY }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
      child.once('exit', (code) => resolve({ code, stdout }));
    });
    const get = async (path: string): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${server.baseUrl}${path}`, { headers: { Authorization: `Bearer ${API_KEY}`, connection: 'close' } });
      return { status: response.status, body: await response.json() };
    };
    const signedPost = (path: string, params: Record<string, string>): Promise<Response> => fetch(`${server.baseUrl}${path}`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/x-www-form-urlencoded', connection: 'close',
        'X-Twilio-Signature': getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL}${path}`, params),
      },
      body: new URLSearchParams(params).toString(),
    });

    it('an echo call: started, two caller turns, a barge-in, a digit, ended; with Twilio\'s status', async () => {
      const callSid = newSid('CA');
      const en = loadReferenceCall('conv-en');
      // as Twilio connects our TwiML's stream: signed, with the token and the parameters the TwiML carries
      const caller = new Caller({
        url: mediaUrl(server), audio: en.audio, callSid, authToken: AUTH_TOKEN, tailMs: 1500,
        signature: getExpectedTwilioSignature(AUTH_TOKEN, `${PUBLIC_BASE_URL.replace('https', 'wss')}/ws/twilio-media`, {}),
        customParameters: { from: '+15550001111', to: '+15550002222' }, dtmf: [{ atMs: 1000, digit: '7' }],
      });
      const result = await caller.run();
      expect(result.closeCode).toBe(1000);
      expect((await signedPost('/webhook/status', { CallSid: callSid, CallStatus: 'completed', CallDuration: '14', Direction: 'inbound' })).status).toBe(204);

      let record: ApiCall | undefined;
      await until('the call\'s record, ended and with its status', async () => {
        const answer = await get(`/api/calls/${callSid}`);
        record = answer.status === 200 ? (answer.body as ApiCall) : undefined;
        return record?.endedAt !== null && record?.endedAt !== undefined && record.status === 'completed';
      }, 15_000);
      expect(record).toMatchObject({ callSid, direction: 'inbound', from: '+15550001111', to: '+15550002222', agent: 'echo', endReason: 'stop' });
      expect(record!.streamSid).toMatch(/^MZ/);
      expect(record!.durationMs).toBeGreaterThan(10_000);
      const callerTurns = record!.turns.filter((t) => t.role === 'caller');
      expect(callerTurns).toHaveLength(2);
      for (const turn of callerTurns) expect(Date.parse(turn.endedAt!) - Date.parse(turn.startedAt)).toBeGreaterThan(1000);
      const kinds = record!.events.map((e) => e.kind);
      expect(kinds).toContain('barge-in');
      expect(record!.events.find((e) => e.kind === 'dtmf')?.data).toEqual({ digit: '7' });

      const list = await get('/api/calls?limit=5');
      expect(list.status).toBe(200);
      expect((list.body as { calls: Array<{ callSid: string }> }).calls[0]?.callSid).toBe(callSid);
      expect((await get(`/api/calls/${newSid('CA')}`)).status).toBe(404);
      // the writer's counters on /metrics (summed in the main thread, where the one writer is)
      const metrics = await (await fetch(`${server.baseUrl}/metrics`, { headers: { connection: 'close' } })).text();
      expect(Number(/^aicrmd_records_written_total (\d+)/m.exec(metrics)?.[1])).toBeGreaterThan(5);
      expect(metrics).toMatch(/^aicrmd_records_dropped_total 0$/m);
      // the same through the CLI a person uses
      const table = await runCli('calls.js', ['--limit', '5']);
      expect(table.code).toBe(0);
      expect(table.stdout.split('\n')[1]).toContain(callSid);
      const shown = await runCli('calls.js', ['show', callSid]);
      expect(shown.code).toBe(0);
      expect(shown.stdout).toContain('* dtmf {"digit":"7"}');
      expect(shown.stdout.match(/caller: /g)?.length).toBe(2);
      expect((await get('/api/calls?before=yesterday')).body).toMatchObject({ error: { code: 'bad-request', field: 'before' } });
    }, 60_000);
  });
}
