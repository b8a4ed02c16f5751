// The agent file is checked like the configuration: each bad field is named with the file, its path (tools[1].url)
// and what it should be; unknown keys are named with the known key they resemble; a file that does not parse gives
// its line and column; and every problem of a file comes back at once, inside the one ConfigError of the start.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadAgentFile, MAX_AGENT_FILE_BYTES } from '../../src/agent/agent-file/load.js';
import { ConfigError, loadConfig } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'wt-agentfile-bad-'));
let counter = 0;
function write(contents: string, extension = '.yaml'): string {
  const path = join(dir, `agent-${++counter}${extension}`);
  writeFileSync(path, contents);
  return path;
}
const GOOD_TOOL = { name: 'check_order', description: 'Looks an order up', url: 'https://crm.example.com/tools/check_order' };
const problemsOf = (agent: unknown): string[] => {
  const path = write(stringify(agent));
  return loadAgentFile(path).problems.map((p) => p.replace(`AGENT_FILE ${path}: `, ''));
};

describe('each bad field is named with its path and what it should be', () => {
  it.each<[string, unknown, string]>([
    ['name', { name: '' }, 'name: must not be empty'],
    ['name', { name: 7 }, 'name: must be text'],
    ['language', { language: 'Hebrew' }, 'language: must be a language code such as he, he-IL, en or en-US'],
    ['greeting', { greeting: 'x'.repeat(1001) }, 'greeting: must be at most 1000 characters'],
    ['instructions', { instructions: ['a'] }, 'instructions: must be text'],
    ['instructionsFile', { instructions: 'a', instructionsFile: 'b.md' }, 'instructionsFile: give either instructions or instructionsFile, not both'],
    ['voices', { voices: 'alloy' }, 'voices: must be a mapping (voices)'],
    ['voices.google', { voices: { google: 'he IL' } }, 'voices.google: must be a Google voice name like he-IL-Wavenet-A'],
    ['voices.openai', { voices: { openai: '' } }, 'voices.openai: must be an OpenAI voice name like alloy'],
    ['voicemail', { voicemail: '   ' }, 'voicemail: must not be empty'],
    ['transfers', { transfers: ['+97231234567'] }, 'transfers: must be a mapping of names to numbers, like { sales: "+97231234567" }'],
    ['transfers.<name>', { transfers: { sales: '031234567' } }, 'transfers.sales: must be an E.164 number (+ and the country code, 7 to 15 digits, e.g. "+97231234567") or a sip: URI like sip:desk@example.com (got "031234567")'],
    ['transfers.<name> unquoted', { transfers: { sales: 97231234567 } }, 'transfers.sales: must be text: quote the number ("+97231234567"), YAML reads an unquoted +number as a number'],
    ['transfers name', { transfers: { 'sales desk': '+97231234567' } }, 'transfers["sales desk"]: the name must be 1 to 64 letters, digits, _ or -, starting with a letter or digit (the model passes it to transfer_call)'],
    ['transfers name from _', { transfers: { __proto__x: '+97231234567' } }, 'transfers.__proto__x: the name must be 1 to 64 letters, digits, _ or -, starting with a letter or digit (the model passes it to transfer_call)'],
    ['transfers.<name> too short', { transfers: { sales: '+12345' } }, 'transfers.sales: must be an E.164 number (+ and the country code, 7 to 15 digits, e.g. "+97231234567") or a sip: URI like sip:desk@example.com (got "+12345")'],
    ['callerMemory', { callerMemory: 'yes' }, 'callerMemory: must be true or false'],
    ['tools', { tools: { check_order: GOOD_TOOL } }, 'tools: must be a list of tools'],
    ['tools[].name', { tools: [GOOD_TOOL, { ...GOOD_TOOL, name: 'check order' }] }, 'tools[1].name: must be 1 to 64 letters (a-z, A-Z), digits, _ or - (what OpenAI accepts as a function name)'],
    ['tools[].name long', { tools: [{ ...GOOD_TOOL, name: 'x'.repeat(65) }] }, 'tools[0].name: must be 1 to 64 letters (a-z, A-Z), digits, _ or - (what OpenAI accepts as a function name)'],
    ['tools[].name built-in', { tools: [{ ...GOOD_TOOL, name: 'transfer_call' }] }, 'tools[0].name: "transfer_call" is a built-in tool\'s name (end_call, transfer_call, lookup_caller, take_message); pick another'],
    ['tools[].name twice', { tools: [GOOD_TOOL, GOOD_TOOL] }, 'tools[1].name: "check_order" is declared twice: tool names must be unique'],
    ['tools[].description', { tools: [{ ...GOOD_TOOL, description: undefined }] }, 'tools[0].description: must be text'],
    ['tools[].parameters', { tools: [{ ...GOOD_TOOL, parameters: { type: 'string' } }] }, 'tools[0].parameters.type: must be object: the top of the schema describes an object of named values (got "string")'],
    ['tools[].parameters not a mapping', { tools: [{ ...GOOD_TOOL, parameters: [] }] }, 'tools[0].parameters: must be a JSON schema mapping, like { type: object, properties: { ... } }'],
    ['tools[].parameters.properties', { tools: [{ ...GOOD_TOOL, parameters: { type: 'object', properties: { orderId: 'string' } } }] }, 'tools[0].parameters.properties.orderId: must be a schema mapping, like { type: string }'],
    ['tools[].parameters.required', { tools: [{ ...GOOD_TOOL, parameters: { type: 'object', properties: {}, required: ['orderId'] } }] }, 'tools[0].parameters.required[0]: names "orderId", which is not in properties'],
    ['tools[].url scheme', { tools: [{ ...GOOD_TOOL, url: 'ftp://crm.example.com/x' }] }, 'tools[0].url: must be an http:// or https:// URL (got "ftp://crm.example.com/x")'],
    ['tools[].url credentials', { tools: [{ ...GOOD_TOOL, url: 'https://me:pw@crm.example.com/x' }] }, 'tools[0].url: must not carry credentials (user:password@): the requests are signed instead (WEBHOOK_SIGNING_SECRET)'],
    ['tools[].url missing', { tools: [{ ...GOOD_TOOL, url: undefined }] }, 'tools[0].url: must be an http:// or https:// URL'],
    ['tools[].timeoutMs low', { tools: [{ ...GOOD_TOOL, timeoutMs: 50 }] }, 'tools[0].timeoutMs: must be a number of milliseconds from 100 to 30000'],
    ['tools[].timeoutMs high', { tools: [{ ...GOOD_TOOL, timeoutMs: 60_000 }] }, 'tools[0].timeoutMs: must be a number of milliseconds from 100 to 30000'],
    ['tools[].timeoutMs fraction', { tools: [{ ...GOOD_TOOL, timeoutMs: 150.5 }] }, 'tools[0].timeoutMs: must be a whole number of milliseconds from 100 to 30000'],
    ['summary', { summary: true }, 'summary: must be a mapping (summary)'],
    ['summary.fields', { summary: { fields: { type: 'array' } } }, 'summary.fields.type: must be object: the top of the schema describes an object of named values (got "array")'],
    ['summary.webhook', { summary: { webhook: 'crm.example.com/calls' } }, 'summary.webhook: must be an http:// or https:// URL (got "crm.example.com/calls")'],
  ])('%s', (_field, agent, problem) => {
    expect(problemsOf(agent)).toEqual([problem]);
  });
});

describe('good values pass', () => {
  it('a Hebrew transfer name, sip: and sips: targets, a JSON file\'s schema keywords beyond the shape checked', () => {
    expect(problemsOf({
      transfers: { 'קבלה': '+97231234567', desk: 'sip:desk@example.com', secure: 'sips:desk@example.com;transport=tls' },
      tools: [{ ...GOOD_TOOL, parameters: { type: 'object', properties: { orderId: { type: 'string', pattern: '^[0-9]+$' } }, required: ['orderId'], additionalProperties: false } }],
    })).toEqual([]);
  });
});

describe('empty keys', () => {
  it('count as unset, as a blank variable does (a required key of a tool is still required)', () => {
    const path = write('name:\ngreeting:\nvoices: { google: }\ntools:\n  - name: check_order\n    description: Looks it up\n    url:\n');
    expect(loadAgentFile(path).problems).toEqual([`AGENT_FILE ${path}: tools[0].url: must be an http:// or https:// URL`]);
    const ok = write('name:\ngreeting:\nvoices: { google: }\n');
    expect(loadAgentFile(ok)).toEqual({ contents: { voices: {} }, problems: [] });
  });
});

describe('unknown keys', () => {
  it('are named with their path and the known key they resemble, at every level', () => {
    expect(problemsOf({ greting: 'hi', voices: { gogle: 'x' }, tools: [{ ...GOOD_TOOL, timeout: 3000 }], summary: { webhok: 'https://a.example.com' } })).toEqual([
      'voices.gogle: unknown key (did you mean "google"?)',
      'tools[0].timeout: unknown key (did you mean "timeoutMs"?)',
      'summary.webhok: unknown key (did you mean "webhook"?)',
      'greting: unknown key (did you mean "greeting"?)',
    ]);
  });

  it('with nothing close, list the keys that are allowed there', () => {
    expect(problemsOf({ summary: { recipients: ['a'] } })).toEqual(['summary.recipients: unknown key; the keys here are fields, webhook']);
  });
});

describe('the file itself', () => {
  it('YAML that does not parse gives the line and column', () => {
    const path = write('name: Desk\ntools: [\n  a: b: c\n');
    expect(loadAgentFile(path).problems).toEqual([`AGENT_FILE ${path}: is not valid YAML at line 3, column 6: Block collections are not allowed within flow collections`]);
  });

  it('a YAML key given twice is an error, not a silent choice', () => {
    const path = write('greeting: one\ngreeting: two\n');
    expect(loadAgentFile(path).problems).toEqual([expect.stringMatching(new RegExp(`^AGENT_FILE ${path}: is not valid YAML at line 2, column 1: Map keys must be unique`))]);
  });

  it('JSON that does not parse gives the line and column', () => {
    const path = write('{\n  "name": "Desk",,\n}', '.json');
    expect(loadAgentFile(path).problems).toEqual([`AGENT_FILE ${path}: is not valid JSON at line 2, column 18: Expected double-quoted property name`]);
  });

  it('a JSON file is read as JSON and checked like YAML', () => {
    const path = write(JSON.stringify({ name: 'Desk', callerMemory: 1 }), '.json');
    expect(loadAgentFile(path).problems).toEqual([`AGENT_FILE ${path}: callerMemory: must be true or false`]);
  });

  it('must say its format by its extension, exist, and be small', () => {
    const txt = write('name: Desk\n', '.txt');
    expect(loadAgentFile(txt).problems).toEqual([`AGENT_FILE ${txt}: must end in .yaml, .yml or .json (that says how to read it)`]);
    expect(loadAgentFile(join(dir, 'missing.yml')).problems).toEqual([`AGENT_FILE ${join(dir, 'missing.yml')}: cannot be read (no such file)`]);
    const folder = join(dir, 'a-folder.yaml');
    mkdirSync(folder);
    expect(loadAgentFile(folder).problems).toEqual([`AGENT_FILE ${folder}: is not a regular file`]);
    expect(loadAgentFile('/dev/zero.yaml').problems[0]).toMatch(/cannot be read/);
    const big = write(`# ${'x'.repeat(MAX_AGENT_FILE_BYTES)}\n`);
    expect(loadAgentFile(big).problems).toEqual([`AGENT_FILE ${big}: is ${MAX_AGENT_FILE_BYTES + 3} bytes, larger than the ${MAX_AGENT_FILE_BYTES} bytes allowed`]);
  });

  it('a top level that is not a mapping is named', () => {
    const path = write('- name: Desk\n');
    expect(loadAgentFile(path).problems).toEqual([`AGENT_FILE ${path}: must be a mapping (an agent file)`]);
  });

  it('an instructionsFile that cannot be read is named, resolved from the agent file\'s folder', () => {
    const path = write('instructionsFile: prompts/none.md\n');
    expect(loadAgentFile(path).problems).toEqual([`AGENT_FILE ${path}: instructionsFile: ${join(dir, 'prompts', 'none.md')} cannot be read (no such file)`]);
  });
});

describe('at start-up', () => {
  it('every problem of the file comes in the one ConfigError, with the other variables\' problems', () => {
    const path = write(stringify({ greting: 'hi', tools: [{ ...GOOD_TOOL, url: 'nope' }, { ...GOOD_TOOL, name: 'end_call', timeoutMs: 5 }] }));
    let problems: string[] = [];
    try {
      loadConfig({ INSECURE_DEV_MODE: '1', AGENT_FILE: path, PORT: 'x' });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      problems = (error as ConfigError).problems;
    }
    expect(problems).toEqual([
      'PORT must be an integer from 0 to 65535 (got "x")',
      `AGENT_FILE ${path}: tools[0].url: must be an http:// or https:// URL (got "nope")`,
      `AGENT_FILE ${path}: tools[1].timeoutMs: must be a number of milliseconds from 100 to 30000`,
      `AGENT_FILE ${path}: greting: unknown key (did you mean "greeting"?)`,
      `AGENT_FILE ${path}: tools[1].name: "end_call" is a built-in tool's name (end_call, transfer_call, lookup_caller, take_message); pick another`,
    ]);
  });
});
