// The sentence cutter turns a streamed reply into sentences as deltas arrive: at Hebrew and English sentence
// punctuation followed by a space, at newlines, never inside a number; a long clause is cut at a comma or a space;
// the first sentence may be cut sooner than the rest; the end of the stream flushes the rest.
import { describe, expect, it } from 'vitest';
import { SentenceCutter } from '../../src/agent/sentences.js';

/** Feeds `text` in pieces of `size` characters and collects every sentence (flush included). */
function cutAll(text: string, size: number, cutter = new SentenceCutter()): string[] {
  const out: string[] = [];
  const chars = Array.from(text);
  for (let i = 0; i < chars.length; i += size) out.push(...cutter.push(chars.slice(i, i + size).join('')));
  out.push(...cutter.flush());
  return out;
}

describe('SentenceCutter', () => {
  it('cuts English at . ! ? whatever the delta sizes', () => {
    const text = 'Sure! I can book that. Would ten work for you? Great';
    for (const size of [1, 3, 7, 100]) {
      expect(cutAll(text, size)).toEqual(['Sure!', 'I can book that.', 'Would ten work for you?', 'Great']);
    }
  });

  it('cuts Hebrew at its punctuation: . ? ! … and sof pasuq', () => {
    const text = 'שלום! אני יכול לעזור. מתי נוח לך? אולי מחר… או ביום שני׃ תגיד לי';
    expect(cutAll(text, 2)).toEqual(['שלום!', 'אני יכול לעזור.', 'מתי נוח לך?', 'אולי מחר…', 'או ביום שני׃', 'תגיד לי']);
  });

  it('gives a sentence out as soon as the space after its end arrives, before the reply is done', () => {
    const cutter = new SentenceCutter();
    expect(cutter.push('Hello there.')).toEqual([]); // "3.5" or "there.com" could still follow
    expect(cutter.push(' How')).toEqual(['Hello there.']);
    expect(cutter.pending).toBe(' How');
  });

  it('does not cut inside numbers, addresses or runs of dots', () => {
    expect(cutAll('It costs 3.5 shekels at www.example.com today... Ok?', 4)).toEqual(['It costs 3.5 shekels at www.example.com today...', 'Ok?']);
  });

  it('cuts at newlines and keeps closing quotes with their sentence', () => {
    expect(cutAll('He said "yes." Then\nwe left', 5)).toEqual(['He said "yes."', 'Then', 'we left']);
  });

  it('cuts a long first clause without a full stop at its last comma, sooner than later ones', () => {
    const cutter = new SentenceCutter({ firstMaxChars: 40, maxChars: 80 });
    const first = 'בסדר גמור, אני בודק עכשיו את היומן שלנו ואת השעות הפנויות';
    const out = cutAll(first, 3, cutter);
    expect(out[0]).toBe('בסדר גמור,');
    expect(out.join(' ')).toBe(first);
  });

  it('cuts a clause with no punctuation at all at a space, never inside a word', () => {
    const words = 'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen';
    const out = cutAll(words, 4, new SentenceCutter({ firstMaxChars: 30, maxChars: 30 }));
    expect(out.length).toBeGreaterThan(2);
    for (const piece of out) expect(piece.length).toBeLessThanOrEqual(30);
    expect(out.join(' ')).toBe(words);
  });

  it('drops pieces that are only punctuation or whitespace', () => {
    expect(cutAll('Ok.  ...  \n\n  !', 2)).toEqual(['Ok.']);
  });
});
