// What the agent file sets reaches the same places the variables always did (config.agent's greeting, instructions
// and voicemail line, config.language, the Google and OpenAI voices), a variable that is set still wins over the
// file's field, instructionsFile is read from the agent file's folder wherever the server runs, and the resolved
// agent (name, transfers, tools with their defaults, caller memory, summary) is in config.agent for the tool loop.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const DEV = { INSECURE_DEV_MODE: '1' };
const SECRET = 's'.repeat(32);
const dir = mkdtempSync(join(tmpdir(), 'wt-agentfile-merge-'));
const AGENT = join(dir, 'desk.yaml');
writeFileSync(AGENT, [
  'name: Front desk',
  'language: en',
  'greeting: "Hello from the file"',
  'instructions: "File instructions"',
  'voices: { google: en-US-Neural2-F, openai: nova }',
  'voicemail: "File voicemail"',
  'transfers: { sales: "+97231234567", support: "sip:desk@example.com" }',
  'callerMemory: true',
  'tools:',
  '  - name: check_order',
  '    description: Looks an order up',
  '    parameters: { type: object, properties: { orderId: { type: string } }, required: [orderId] }',
  '    url: https://crm.example.com/tools/check_order',
  '  - name: cancel_order',
  '    description: Cancels one',
  '    url: http://127.0.0.1:9/cancel',
  '    timeoutMs: 8000',
  'summary:',
  '  fields: { type: object, properties: { orderId: { type: string } } }',
  '  webhook: https://crm.example.com/calls',
  '',
].join('\n'));

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected a ConfigError');
}

describe('the agent file\'s settings', () => {
  it('reach the greeting, instructions, voicemail line, language and both voices', () => {
    const config = loadConfig({ ...DEV, AGENT_FILE: AGENT, WEBHOOK_SIGNING_SECRET: SECRET });
    expect(config.agent).toMatchObject({ greeting: 'Hello from the file', systemPrompt: 'File instructions', voicemailLine: 'File voicemail' });
    expect(config.language).toEqual({ code: 'en', whisper: 'en', google: 'en-US' });
    expect(config.google.voice).toBe('en-US-Neural2-F');
    expect(config.openai.ttsVoice).toBe('nova');
    expect(config.webhookSigningSecret).toBe(SECRET);
  });

  it('give the resolved agent: name, transfers in order, tools with their defaults, caller memory, summary', () => {
    const { agent } = loadConfig({ ...DEV, AGENT_FILE: AGENT, WEBHOOK_SIGNING_SECRET: SECRET });
    expect(agent.name).toBe('Front desk');
    expect(agent.file).toBe(AGENT);
    expect(agent.transfers).toEqual([{ name: 'sales', to: '+97231234567' }, { name: 'support', to: 'sip:desk@example.com' }]);
    expect(agent.tools).toEqual([
      { name: 'check_order', description: 'Looks an order up', parameters: { type: 'object', properties: { orderId: { type: 'string' } }, required: ['orderId'] }, url: 'https://crm.example.com/tools/check_order', timeoutMs: 3000 },
      { name: 'cancel_order', description: 'Cancels one', parameters: { type: 'object', properties: {} }, url: 'http://127.0.0.1:9/cancel', timeoutMs: 8000 },
    ]);
    expect(agent.callerMemory).toBe(true);
    expect(agent.summary).toEqual({ fields: { type: 'object', properties: { orderId: { type: 'string' } } }, webhook: 'https://crm.example.com/calls' });
    // plain data: it crosses to the edge threads by structured clone unchanged
    expect(structuredClone(agent)).toEqual(agent);
  });

  it('without a file, everything is as before: today\'s defaults and no tools, transfers or summary', () => {
    const config = loadConfig(DEV);
    expect(config.agent).toMatchObject({ kind: 'echo', name: 'ai-crmd', file: undefined, greeting: 'שלום, במה אפשר לעזור?', voicemailLine: undefined, transfers: [], tools: [], callerMemory: false, summary: undefined });
    expect(config.agent.systemPrompt).toMatch(/^You are a friendly, concise phone assistant/);
    expect(config.language.code).toBe('he');
    expect(config.google.voice).toBe('he-IL-Wavenet-A');
    expect(config.openai.ttsVoice).toBe('alloy');
    expect(config.webhookSigningSecret).toBeUndefined();
  });

  it('a file that sets only some keys keeps the defaults of the rest, by its language', () => {
    const path = join(dir, 'only-language.yml');
    writeFileSync(path, 'language: en-GB\n');
    const config = loadConfig({ ...DEV, AGENT_FILE: path });
    expect(config.agent.greeting).toBe('Hello, how can I help you?');
    expect(config.language.google).toBe('en-GB');
    expect(config.google.voice).toBeUndefined();
    writeFileSync(join(dir, 'empty.yaml'), '');
    expect(loadConfig({ ...DEV, AGENT_FILE: join(dir, 'empty.yaml') }).agent.name).toBe('ai-crmd');
  });
});

describe('the environment overrides single fields', () => {
  it('GREETING, SYSTEM_PROMPT, VOICEMAIL_LINE, LANGUAGE, GOOGLE_TTS_VOICE and OPENAI_TTS_VOICE each win over the file', () => {
    const config = loadConfig({
      ...DEV, AGENT_FILE: AGENT, WEBHOOK_SIGNING_SECRET: SECRET,
      GREETING: 'Env greeting', SYSTEM_PROMPT: 'Env prompt', VOICEMAIL_LINE: 'Env voicemail', LANGUAGE: 'he',
      GOOGLE_TTS_VOICE: 'he-IL-Wavenet-B', OPENAI_TTS_VOICE: 'shimmer',
    });
    expect(config.agent).toMatchObject({ greeting: 'Env greeting', systemPrompt: 'Env prompt', voicemailLine: 'Env voicemail', name: 'Front desk' });
    expect(config.language).toEqual({ code: 'he', whisper: 'he', google: 'he-IL' });
    expect(config.google.voice).toBe('he-IL-Wavenet-B');
    expect(config.openai.ttsVoice).toBe('shimmer');
  });

  it('one variable overrides one field: the file keeps the others', () => {
    const config = loadConfig({ ...DEV, AGENT_FILE: AGENT, WEBHOOK_SIGNING_SECRET: SECRET, GREETING: 'Env greeting' });
    expect(config.agent).toMatchObject({ greeting: 'Env greeting', systemPrompt: 'File instructions', voicemailLine: 'File voicemail' });
    expect(config.openai.ttsVoice).toBe('nova');
  });

  it('SYSTEM_PROMPT_FILE wins over the file\'s instructions (and over SYSTEM_PROMPT, as before)', () => {
    const prompt = join(dir, 'env-prompt.txt');
    writeFileSync(prompt, ' From the env file \n');
    expect(loadConfig({ ...DEV, AGENT_FILE: AGENT, WEBHOOK_SIGNING_SECRET: SECRET, SYSTEM_PROMPT_FILE: prompt, SYSTEM_PROMPT: 'inline' }).agent.systemPrompt).toBe('From the env file');
  });

  it('a blank variable counts as unset: the file\'s value stays', () => {
    expect(loadConfig({ ...DEV, AGENT_FILE: AGENT, WEBHOOK_SIGNING_SECRET: SECRET, GREETING: '', LANGUAGE: ' ' }).agent.greeting).toBe('Hello from the file');
  });
});

describe('instructionsFile', () => {
  it('is read relative to the agent file\'s folder, whatever the working directory', () => {
    const agentDir = join(dir, 'agents');
    mkdirSync(join(agentDir, 'prompts'), { recursive: true });
    writeFileSync(join(agentDir, 'prompts', 'desk.md'), '\nYou answer for the desk.\n\n');
    writeFileSync(join(agentDir, 'desk.yaml'), 'instructionsFile: prompts/desk.md\n');
    expect(loadConfig({ ...DEV, AGENT_FILE: join(agentDir, 'desk.yaml') }).agent.systemPrompt).toBe('You answer for the desk.');
    // a relative AGENT_FILE is taken from the working directory, its instructionsFile from the agent file's folder
    expect(loadConfig({ ...DEV, AGENT_FILE: relative(process.cwd(), join(agentDir, 'desk.yaml')) }).agent.systemPrompt).toBe('You answer for the desk.');
  });
});

describe('WEBHOOK_SIGNING_SECRET', () => {
  it('is required once a tool or the summary webhook is declared, saying why', () => {
    expect(problemsOf({ ...DEV, AGENT_FILE: AGENT })).toEqual([
      `WEBHOOK_SIGNING_SECRET is required: AGENT_FILE ${AGENT} declares tool check_order, tool cancel_order, summary.webhook, and every request to them is signed with it (X-AiCrmd-Signature) so the receiver can check it came from this server; set at least 32 random characters (e.g. openssl rand -hex 32)`,
    ]);
    const webhookOnly = join(dir, 'webhook-only.yaml');
    writeFileSync(webhookOnly, 'summary: { webhook: "https://crm.example.com/calls" }\n');
    expect(problemsOf({ ...DEV, AGENT_FILE: webhookOnly })).toEqual([expect.stringMatching(/^WEBHOOK_SIGNING_SECRET is required: AGENT_FILE .* declares summary\.webhook,/)]);
  });

  it('is not needed without tools or a webhook (summary fields alone are kept here)', () => {
    const fieldsOnly = join(dir, 'fields-only.yaml');
    writeFileSync(fieldsOnly, 'summary: { fields: { type: object, properties: { x: { type: string } } } }\ntransfers: { desk: "+97231234567" }\n');
    expect(loadConfig({ ...DEV, AGENT_FILE: fieldsOnly }).agent.summary).toEqual({ fields: { type: 'object', properties: { x: { type: 'string' } } }, webhook: undefined });
  });

  it('must be at least 32 characters, and is never echoed', () => {
    const problems = problemsOf({ ...DEV, AGENT_FILE: AGENT, WEBHOOK_SIGNING_SECRET: 'short-secret' });
    expect(problems).toEqual(['WEBHOOK_SIGNING_SECRET must be at least 32 characters without spaces (the HMAC key of X-AiCrmd-Signature)']);
  });
});

describe('a language from the file is checked like LANGUAGE', () => {
  it('one without a known region is named as the file\'s field', () => {
    const path = join(dir, 'xx.yaml');
    writeFileSync(path, 'language: xx\n');
    expect(problemsOf({ ...DEV, AGENT_FILE: path })).toEqual([`AGENT_FILE ${path}: language: must carry a region for xx (e.g. xx-XX): Google TTS needs one (got "xx")`]);
  });
});
