// What the caller heard of a reply that was cut (barge-in), so that the conversation keeps only that. An utterance is
// a list of sentences with their lengths in 20 ms frames, and the playout reports how many frames were heard: the
// heard text is every sentence heard whole, plus the heard share of the one that was cut, by characters (backed off
// to the last word boundary so that no half word is kept), then "…" to tell the model that it was interrupted.

/** One sentence as played: its text and its length in 20 ms frames. */
export interface SpokenSentence {
  text: string;
  frames: number;
}

/** The mark that ends a reply the caller did not hear to its end. */
export const CUT_MARK = '…';

/**
 * What the caller heard of an utterance made of `sentences`, given how many of its frames were heard: the sentences
 * heard whole, then the heard share (by characters, backed off to a word boundary) of the one that was cut, then "…".
 * Returns the whole text when every frame was heard and '' when none was.
 */
export function heardText(sentences: readonly SpokenSentence[], framesHeard: number): string {
  const total = sentences.reduce((n, s) => n + s.frames, 0);
  const whole = sentences.map((s) => s.text).join(' ');
  if (framesHeard >= total) return whole;
  if (framesHeard <= 0) return '';
  const kept: string[] = [];
  let start = 0;
  for (const sentence of sentences) {
    const end = start + sentence.frames;
    if (end <= framesHeard) {
      kept.push(sentence.text);
    } else {
      const share = (framesHeard - start) / Math.max(1, sentence.frames);
      let chars = Math.floor(share * sentence.text.length);
      const text = sentence.text;
      // back off to a word boundary (no half words), unless that leaves nothing of a long-heard sentence
      if (chars < text.length && chars > 0 && !/\s/.test(text[chars] ?? ' ')) {
        const space = text.lastIndexOf(' ', chars);
        chars = space > 0 ? space : 0;
      }
      const part = text.slice(0, chars).trim();
      if (part.length > 0) kept.push(part);
      break;
    }
    start = end;
  }
  const text = kept.join(' ').trim();
  return text.length > 0 ? `${text}${CUT_MARK}` : '';
}
