// A bad agent file stops the built server before it listens, like a bad variable: one message on stderr names the
// file and each bad field (with the configuration's other problems), the JSON log carries the list, and the exit code
// is non-zero; a declared tool without WEBHOOK_SIGNING_SECRET refuses to start, saying why.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, freePort, runServerToExit } from '../helpers/server.js';

const dir = mkdtempSync(join(tmpdir(), 'wt-agentfile-start-'));

describe('a bad agent file', () => {
  it('stops the start with every problem named by file and field path', async () => {
    const path = join(dir, 'desk.yaml');
    writeFileSync(path, [
      'name: Desk',
      'greting: "hi"',
      'transfers: { sales: "0501234567" }',
      'tools:',
      '  - name: check_order',
      '    description: Looks an order up',
      '    url: https://crm.example.com/x',
      '  - name: lookup',
      '    description: Another',
      '    url: ftp://crm.example.com/y',
      '',
    ].join('\n'));
    const run = await runServerToExit({ PORT: String(await freePort()), INSECURE_DEV_MODE: '1', AGENT_FILE: path, BARGE_IN: 'maybe' });
    expect(run.code).not.toBe(0);
    expect(run.code).not.toBeNull();
    expect(run.stderr).toContain('Invalid configuration (4 problems):');
    expect(run.stderr).toContain('BARGE_IN must be on or off');
    expect(run.stderr).toContain(`AGENT_FILE ${path}: transfers.sales: must be an E.164 number`);
    expect(run.stderr).toContain(`AGENT_FILE ${path}: tools[1].url: must be an http:// or https:// URL (got "ftp://crm.example.com/y")`);
    expect(run.stderr).toContain(`AGENT_FILE ${path}: greting: unknown key (did you mean "greeting"?)`);
    const fatal = run.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => l['event'] === 'CONFIG_ERROR');
    expect(fatal?.['problems']).toHaveLength(4);
    expect(run.stdout).not.toContain('SERVER_LISTEN');
  });

  it('one that does not parse is named with its line and column', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, '{\n  "name": "Desk"\n  "language": "he"\n}\n');
    const run = await runServerToExit({ PORT: String(await freePort()), INSECURE_DEV_MODE: '1', AGENT_FILE: path });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(new RegExp(`Invalid configuration \\(1 problem\\):\\n {2}- AGENT_FILE ${path}: is not valid JSON at line 3, column 3: `));
  });

  it('the appointment example without WEBHOOK_SIGNING_SECRET refuses to start, saying why', async () => {
    const path = join(REPO_ROOT, 'examples', 'appointments-en.yaml');
    const run = await runServerToExit({ PORT: String(await freePort()), INSECURE_DEV_MODE: '1', AGENT_FILE: path });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`WEBHOOK_SIGNING_SECRET is required: AGENT_FILE ${path} declares tool check_availability, tool book_appointment, summary.webhook`);
  });
});
