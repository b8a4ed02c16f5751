// The agent file's vocabulary is bounded (how many names, how long each, how long all together: Whisper reads only
// the start of a longer prompt) and each bad entry is named with its index; normalizeNumbers is a boolean and
// TTS_NORMALIZE_NUMBERS an on/off variable, each with its own message; good values reach config.agent.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadAgentFile } from '../../../src/agent/agent-file/load.js';
import { MAX_VOCABULARY_CHARS, MAX_VOCABULARY_NAME_CHARS, MAX_VOCABULARY_NAMES } from '../../../src/agent/agent-file/schema.js';
import { asrPromptOf } from '../../../src/agent/speech-text/speech-text.js';
import { ConfigError, loadConfig } from '../../../src/config.js';

const DEV = { INSECURE_DEV_MODE: '1' };
const dir = mkdtempSync(join(tmpdir(), 'aicrmd-vocabulary-'));
let counter = 0;
function write(agent: unknown): string {
  const path = join(dir, `agent-${++counter}.yaml`);
  writeFileSync(path, stringify(agent));
  return path;
}
const problemsOf = (agent: unknown): string[] => {
  const path = write(agent);
  return loadAgentFile(path).problems.map((p) => p.replace(`AGENT_FILE ${path}: `, ''));
};

describe('the vocabulary', () => {
  it.each<[string, unknown, string]>([
    ['not a list', { vocabulary: 'Dentix' }, 'vocabulary: must be a list of names (business and product names the caller may say)'],
    ['an empty name', { vocabulary: ['Dentix', '  '] }, 'vocabulary[1]: must not be empty'],
    ['a name that is not text', { vocabulary: [42] }, 'vocabulary[0]: must be text'],
    ['a long name', { vocabulary: ['x'.repeat(MAX_VOCABULARY_NAME_CHARS + 1)] }, `vocabulary[0]: must be at most ${MAX_VOCABULARY_NAME_CHARS} characters`],
    ['too many names', { vocabulary: Array.from({ length: MAX_VOCABULARY_NAMES + 1 }, (_, i) => `name ${i}`) }, `vocabulary: must list at most ${MAX_VOCABULARY_NAMES} names`],
    ['too long in all', { vocabulary: Array.from({ length: 20 }, () => 'y'.repeat(50)) }, `vocabulary: must be at most ${MAX_VOCABULARY_CHARS} characters in all (got 1000): the transcriber reads only the start of a longer prompt`],
    ['normalizeNumbers', { normalizeNumbers: 'yes' }, 'normalizeNumbers: must be true or false'],
  ])('%s', (_what, agent, problem) => {
    expect(problemsOf(agent)).toEqual([problem]);
  });

  it('reaches config.agent trimmed, and becomes one comma-separated prompt', () => {
    const config = loadConfig({ ...DEV, AGENT_FILE: write({ vocabulary: [' קליניקת לוי ', 'Dentix Pro'], normalizeNumbers: false }) });
    expect(config.agent.vocabulary).toEqual(['קליניקת לוי', 'Dentix Pro']);
    expect(config.agent.normalizeNumbers).toBe(false);
    expect(asrPromptOf(config.agent.vocabulary)).toBe('קליניקת לוי, Dentix Pro');
    expect(asrPromptOf([])).toBeUndefined();
  });

  it('is empty, and the setting undefined (the language decides), without an agent file', () => {
    const config = loadConfig({ ...DEV });
    expect(config.agent.vocabulary).toEqual([]);
    expect(config.agent.normalizeNumbers).toBeUndefined();
  });
});

describe('TTS_NORMALIZE_NUMBERS', () => {
  it('wins over the file, and a bad value is named', () => {
    expect(loadConfig({ ...DEV, AGENT_FILE: write({ normalizeNumbers: true }), TTS_NORMALIZE_NUMBERS: 'off' }).agent.normalizeNumbers).toBe(false);
    expect(loadConfig({ ...DEV, TTS_NORMALIZE_NUMBERS: 'on' }).agent.normalizeNumbers).toBe(true);
    try {
      loadConfig({ ...DEV, TTS_NORMALIZE_NUMBERS: 'maybe' });
      expect.unreachable('a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems).toEqual(['TTS_NORMALIZE_NUMBERS must be on or off (also true/false, 1/0, yes/no) (got "maybe")']);
    }
  });
});
