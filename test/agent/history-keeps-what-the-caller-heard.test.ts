// After a barge-in the conversation keeps only what the caller heard of the agent's reply: sentences heard whole,
// then the heard share (by characters, at a word boundary) of the sentence that was cut, marked with "…"; a reply
// of which nothing was heard leaves no text.
import { describe, expect, it } from 'vitest';
import { CUT_MARK, heardText } from '../../src/agent/heard-text.js';

const sentences = [
  { text: 'Sure, I can help.', frames: 50 },
  { text: 'Tomorrow at ten works for the doctor.', frames: 100 },
  { text: 'Shall I book it?', frames: 40 },
];

describe('heardText', () => {
  it('keeps everything when every frame was heard', () => {
    expect(heardText(sentences, 190)).toBe('Sure, I can help. Tomorrow at ten works for the doctor. Shall I book it?');
    expect(heardText(sentences, 500)).toBe('Sure, I can help. Tomorrow at ten works for the doctor. Shall I book it?');
  });

  it('keeps nothing when nothing was heard', () => {
    expect(heardText(sentences, 0)).toBe('');
  });

  it('keeps whole sentences heard, and cuts at the sentence boundary exactly', () => {
    expect(heardText(sentences, 50)).toBe(`Sure, I can help.${CUT_MARK}`);
    expect(heardText(sentences, 150)).toBe(`Sure, I can help. Tomorrow at ten works for the doctor.${CUT_MARK}`);
  });

  it('keeps the heard share of the cut sentence by characters, backed off to a whole word', () => {
    // 50 of the second sentence's 100 frames: half of its 37 characters is 18 -> "Tomorrow at ten" (no half word)
    expect(heardText(sentences, 100)).toBe(`Sure, I can help. Tomorrow at ten${CUT_MARK}`);
    // a few frames into the first sentence: not even a word
    expect(heardText(sentences, 3)).toBe('');
  });

  it('works for Hebrew text the same way', () => {
    const he = [{ text: 'בטח, אני אשמח לעזור לך היום.', frames: 80 }];
    expect(heardText(he, 40)).toBe(`בטח, אני אשמח${CUT_MARK}`);
  });
});
