// The first sentence of a reply is what the caller waits for: a long one goes to speech synthesis at its first
// clause boundary (comma, semicolon, colon, dash, then a space), in English and in Hebrew, as soon as the space after
// the break arrives, not when the sentence ends; a short first clause ("Sure,") is not cut, later sentences are cut
// only at their end, numbers and times ("1,250", "14:30") and the Hebrew maqaf are never cut, and the settings
// (firstClauseMinChars, firstMaxChars; FIRST_CLAUSE_MIN_CHARS, FIRST_SENTENCE_MAX_CHARS) reach the cutter.
import { describe, expect, it } from 'vitest';
import { SentenceCutter } from '../../src/agent/sentences.js';
import { loadConfig } from '../../src/config.js';

function cutAll(text: string, size: number, cutter = new SentenceCutter()): string[] {
  const out: string[] = [];
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i += size) out.push(...cutter.push(chars.slice(i, i + size).join('')));
  out.push(...cutter.flush());
  return out;
}

const EN = 'I checked the calendar for tomorrow morning, and there is a free slot at ten. Does that work for you?';
const HE = 'בדקתי את היומן של המרפאה למחר בבוקר, ויש תור פנוי בשעה עשר בדיוק. זה מתאים לך?';

describe('the first sentence of a reply', () => {
  it('is cut at its first clause boundary in English, whatever the delta sizes', () => {
    for (const size of [1, 4, 9, 200]) {
      expect(cutAll(EN, size)).toEqual(['I checked the calendar for tomorrow morning,', 'and there is a free slot at ten.', 'Does that work for you?']);
    }
  });

  it('is cut at its first clause boundary in Hebrew', () => {
    for (const size of [1, 3, 200]) {
      expect(cutAll(HE, size)).toEqual(['בדקתי את היומן של המרפאה למחר בבוקר,', 'ויש תור פנוי בשעה עשר בדיוק.', 'זה מתאים לך?']);
    }
  });

  it('goes out as soon as the space after the comma arrives, long before the sentence ends', () => {
    const cutter = new SentenceCutter();
    expect(cutter.push('I checked the calendar for tomorrow morning,')).toEqual([]); // "1,250" could still follow
    expect(cutter.push(' and')).toEqual(['I checked the calendar for tomorrow morning,']);
  });

  it('is cut at a semicolon, a colon or a spaced dash too, but never at a Hebrew maqaf', () => {
    expect(cutAll('We have three free slots tomorrow morning; the first one is at nine.', 5)[0]).toBe('We have three free slots tomorrow morning;');
    expect(cutAll('Here is what I found for you in the calendar: two slots, at nine and at ten.', 5)[0]).toBe('Here is what I found for you in the calendar:');
    expect(cutAll('I looked at every option we have for you today - the best one is at ten.', 5)[0]).toBe('I looked at every option we have for you today -');
    expect(cutAll('אני בודק עכשיו את כל האפשרויות שיש לנו - הטובה ביותר היא בעשר.', 4)[0]).toBe('אני בודק עכשיו את כל האפשרויות שיש לנו -');
    const maqaf = 'הפגישה שלך נקבעה ליום שני בבית־החולים הגדול שבמרכז העיר.';
    expect(cutAll(maqaf, 3)).toEqual([maqaf]);
  });

  it('is not cut at a short first clause', () => {
    expect(cutAll('Sure, I can book that for you.', 3)).toEqual(['Sure, I can book that for you.']);
    expect(cutAll('בטח, אני יכול לקבוע לך תור.', 3)).toEqual(['בטח, אני יכול לקבוע לך תור.']);
  });

  it('never cuts inside a number or a time, at the clause rule or at the length limit', () => {
    expect(cutAll('The appointment next week is at 14:30 on Monday, and it costs 1,250 shekels.', 2))
      .toEqual(['The appointment next week is at 14:30 on Monday,', 'and it costs 1,250 shekels.']);
    const prices = 'We can offer it for 1,250 or 1,400 with the whole package included in it';
    const out = cutAll(prices, 3, new SentenceCutter({ firstMaxChars: 24, firstClauseMinChars: 0 }));
    expect(out.join(' ')).toBe(prices);
    for (const piece of out) expect(piece).not.toMatch(/\d,$/);
  });

  it('leaves later sentences alone: a long clause after the first sentence is cut only at its end', () => {
    const text = 'Okay. I checked the calendar for tomorrow morning, and there is a free slot at ten.';
    expect(cutAll(text, 4)).toEqual(['Okay.', 'I checked the calendar for tomorrow morning, and there is a free slot at ten.']);
  });

  it('can be set: 0 turns the clause rule off, a lower length cuts sooner', () => {
    // off: the same clause waits for the sentence's end or its length limit
    const off = new SentenceCutter({ firstClauseMinChars: 0 });
    expect(off.push('I checked the calendar for tomorrow morning, and')).toEqual([]);
    expect(cutAll(EN, 4, new SentenceCutter({ firstClauseMinChars: 0, firstMaxChars: 120 }))[0]).toBe('I checked the calendar for tomorrow morning, and there is a free slot at ten.');
    expect(cutAll('Sure, I can book that for you.', 3, new SentenceCutter({ firstClauseMinChars: 4 }))[0]).toBe('Sure,');
    const config = loadConfig({ INSECURE_DEV_MODE: '1', FIRST_CLAUSE_MIN_CHARS: '0', FIRST_SENTENCE_MAX_CHARS: '90' });
    expect(config.replyCut).toEqual({ firstClauseMinChars: 0, firstMaxChars: 90 });
    expect(() => loadConfig({ INSECURE_DEV_MODE: '1', FIRST_CLAUSE_MIN_CHARS: 'many', FIRST_SENTENCE_MAX_CHARS: '5' }))
      .toThrow(/FIRST_CLAUSE_MIN_CHARS[\s\S]*FIRST_SENTENCE_MAX_CHARS|FIRST_SENTENCE_MAX_CHARS[\s\S]*FIRST_CLAUSE_MIN_CHARS/);
  });
});
