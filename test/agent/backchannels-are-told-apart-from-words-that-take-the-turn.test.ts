// Backchannels (src/agent/backchannels.ts): "uh-huh", "ok ok", "כן, כן" and "אהההה" over the agent only say that the
// caller is listening; "yes please book it" takes the turn. Case, punctuation, niqqud and drawn-out letters do not
// matter; the lists are per language (en, he by default), the agent file's replaces its language's, and it is
// bounded (schema and matcher).
import { describe, expect, it } from 'vitest';
import { BackchannelMatcher, DEFAULT_BACKCHANNELS, defaultBackchannels, MAX_BACKCHANNELS, normalizeBackchannel } from '../../src/agent/backchannels.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkAgentFile } from '../../src/agent/agent-file/schema.js';
import { loadConfig } from '../../src/config.js';

describe('backchannels', () => {
  const en = new BackchannelMatcher(defaultBackchannels('en-US'));
  const he = new BackchannelMatcher(defaultBackchannels('he'));

  it('knows English listening words, alone or repeated, whatever the case and punctuation', () => {
    for (const text of ['uh-huh', 'Uh huh.', 'OK', 'ok ok', 'Okay, okay!', 'mm-hmm', 'Mmmm hmm', 'yeah', 'Yes.', 'right, right', 'I see.', 'got it']) {
      expect(en.isBackchannel(text), text).toBe(true);
    }
  });

  it('knows Hebrew ones, with or without niqqud, drawn out or repeated', () => {
    for (const text of ['כן', 'כן, כן', 'כֵּן', 'אהה', 'אהההה...', 'אוקיי', 'בסדר.', 'נכון נכון']) {
      expect(he.isBackchannel(text), text).toBe(true);
    }
  });

  it('does not take words that take the turn', () => {
    for (const text of ['yes please book it', 'ok but not tomorrow', 'wait', 'no', 'stop', '', '   ', '...', 'ok ok ok ok ok ok ok']) {
      expect(en.isBackchannel(text), text).toBe(false);
    }
    for (const text of ['כן, אני רוצה לקבוע תור', 'רגע', 'לא']) expect(he.isBackchannel(text), text).toBe(false);
    // the other language's words are not this one's
    expect(en.isBackchannel('כן')).toBe(false);
    expect(he.isBackchannel('uh-huh')).toBe(false);
  });

  it('normalizes case, punctuation, niqqud and drawn-out letters', () => {
    expect(normalizeBackchannel('  Uh-HUH!! ')).toBe('uh huh');
    expect(normalizeBackchannel('כֵּן, כֵּן')).toBe('כן כן');
    expect(normalizeBackchannel('mmmmm')).toBe('mm');
  });

  it('a language without a default list has none; a list given replaces the default', () => {
    expect(defaultBackchannels('fr')).toEqual([]);
    expect(new BackchannelMatcher([]).isBackchannel('ok')).toBe(false);
    const custom = new BackchannelMatcher(['d\'accord', 'oui']);
    expect(custom.isBackchannel("Oui, d'accord.")).toBe(true);
    expect(custom.isBackchannel('ok')).toBe(false);
    expect(DEFAULT_BACKCHANNELS.he).toContain('כן');
  });

  it('is bounded: the matcher keeps at most MAX_BACKCHANNELS phrases, the agent file may list at most that many', () => {
    const many = Array.from({ length: MAX_BACKCHANNELS + 10 }, (_, i) => `word${i}`);
    expect(new BackchannelMatcher(many).size).toBe(MAX_BACKCHANNELS);
    expect(checkAgentFile({ backchannels: ['uh-huh', 'כן'] }).issues).toEqual([]);
    const tooMany = checkAgentFile({ backchannels: many });
    expect(tooMany.issues.map((i) => i.path.join('.'))).toContain('backchannels');
    const tooLong = checkAgentFile({ backchannels: ['x'.repeat(41)] });
    expect(tooLong.issues.map((i) => i.path.join('.'))).toContain('backchannels.0');
  });

  it("the agent file's list reaches config.agent (absent: the language's defaults apply in the pipeline)", () => {
    const dir = mkdtempSync(join(tmpdir(), 'wt-backchannels-'));
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'language: he\nbackchannels: [כן, "אה-הה", סבבה]\n');
    expect(loadConfig({ INSECURE_DEV_MODE: '1', AGENT_FILE: file }).agent.backchannels).toEqual(['כן', 'אה-הה', 'סבבה']);
    writeFileSync(file, 'language: he\n');
    expect(loadConfig({ INSECURE_DEV_MODE: '1', AGENT_FILE: file }).agent.backchannels).toBeUndefined();
  });
});
