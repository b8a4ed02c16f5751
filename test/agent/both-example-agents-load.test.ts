// The agents in examples/ are ones people would run: each loads with no problem through the configuration (the
// appointment line with its signing secret), and says what it is meant to (Hebrew front desk: Hebrew greeting and
// voicemail, a Google he-IL voice, a person to transfer to, no tools so no secret; appointment line: its instructions
// file, two HTTP tools with JSON-schema parameters, summary fields and a webhook).
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { REPO_ROOT } from '../helpers/server.js';

const DEV = { INSECURE_DEV_MODE: '1' };
const HEBREW = /[\u0590-\u05FF]/;

describe('examples/front-desk-he.yaml', () => {
  it('loads without a signing secret and is a Hebrew front desk with a transfer to a person', () => {
    const config = loadConfig({ ...DEV, AGENT_FILE: `${REPO_ROOT}/examples/front-desk-he.yaml` });
    expect(config.language).toEqual({ code: 'he', whisper: 'he', google: 'he-IL' });
    expect(config.google.voice).toMatch(/^he-IL-/);
    expect(config.agent.greeting).toMatch(HEBREW);
    expect(config.agent.voicemailLine).toMatch(HEBREW);
    expect(config.agent.systemPrompt).toContain('08:30'); // the opening hours
    expect(config.agent.transfers).toEqual([{ name: 'reception', to: expect.stringMatching(/^\+972\d+$/) }]);
    expect(config.agent.tools).toEqual([]);
  });
});

describe('examples/appointments-en.yaml', () => {
  it('loads with its instructions file, two HTTP tools, summary fields and a webhook', () => {
    const config = loadConfig({ ...DEV, AGENT_FILE: `${REPO_ROOT}/examples/appointments-en.yaml`, WEBHOOK_SIGNING_SECRET: 'x'.repeat(64) });
    expect(config.language.google).toBe('en-US');
    expect(config.agent.systemPrompt).toMatch(/^You answer the phone for Bright Smile Dental/);
    expect(config.agent.tools.map((t) => t.name)).toEqual(['check_availability', 'book_appointment']);
    for (const tool of config.agent.tools) {
      expect(tool.parameters.type).toBe('object');
      expect(tool.parameters.required?.length).toBeGreaterThan(0);
      expect(tool.url).toMatch(/^https:\/\//);
    }
    expect(config.agent.summary?.fields?.properties).toHaveProperty('outcome');
    expect(config.agent.summary?.webhook).toMatch(/^https:\/\//);
  });
});
