// Backchannels: what a listener says to show they are listening ("uh-huh", "ok", "yes", "כן", "אהה"), not to take
// the turn. Said over the agent, such a turn is no interruption: the agent's line goes on (barge-in-hold.ts) and the
// words are not answered. A transcript is a backchannel when, normalised (case, punctuation, Hebrew niqqud and
// cantillation, repeated letters as in "mmmm" or "אההה"), it is made only of the list's phrases, at most
// MAX_BACKCHANNEL_WORDS words: "ok ok" and "כן, כן" are; "yes please book it" is not. The list is per language
// (defaults for English and Hebrew; the agent file's `backchannels` replaces its language's list) and bounded.

/** A longer transcript is never a backchannel (whatever its words): someone saying that much is taking the turn. */
export const MAX_BACKCHANNEL_WORDS = 6;
/** The agent file's list: at most this many phrases, each at most MAX_BACKCHANNEL_PHRASE_CHARS. */
export const MAX_BACKCHANNELS = 64;
export const MAX_BACKCHANNEL_PHRASE_CHARS = 40;
/** A phrase of the list has at most this many words (matched greedily, longest first). */
const MAX_PHRASE_WORDS = 3;

export const DEFAULT_BACKCHANNELS: Readonly<Record<'en' | 'he', readonly string[]>> = {
  en: [
    'uh-huh', 'uh huh', 'mm-hmm', 'mm hmm', 'mhm', 'hmm', 'mm', 'um', 'uh', 'ah', 'oh', 'ok', 'okay', 'yes', 'yeah', 'yep', 'yup',
    'right', 'sure', 'i see', 'got it', 'alright', 'all right', 'cool',
  ],
  he: ['כן', 'אהה', 'אה', 'אהא', 'אממ', 'הממ', 'מממ', 'אוקיי', 'אוקי', 'בסדר', 'נכון', 'ברור', 'יופי', 'אוקיי אוקיי', 'או קיי', 'ok', 'okay'],
};

/** The default list for a language code (he, he-IL, en-US, iw); none for other languages. */
export function defaultBackchannels(languageCode: string): readonly string[] {
  const primary = languageCode.toLowerCase().split('-')[0];
  if (primary === 'he' || primary === 'iw') return DEFAULT_BACKCHANNELS.he;
  if (primary === 'en') return DEFAULT_BACKCHANNELS.en;
  return [];
}

/**
 * Lower case, NFKC, Hebrew points and cantillation removed, punctuation (hyphens too) as spaces, a letter repeated
 * three or more times as two ("mmmm" -> "mm", "אההה" -> "אהה"), whitespace collapsed.
 */
export function normalizeBackchannel(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\u0591-\u05C7]/g, '') // niqqud and cantillation
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/(\p{L})\1{2,}/gu, '$1$1')
    .replace(/\s+/g, ' ')
    .trim();
}

/** A language's backchannels, ready to match (built once per call, not per turn). */
export class BackchannelMatcher {
  /** Normalised phrases, by their words joined with one space. */
  private readonly phrases: ReadonlySet<string>;

  constructor(list: readonly string[]) {
    const phrases = new Set<string>();
    for (const phrase of list.slice(0, MAX_BACKCHANNELS)) {
      const normalized = normalizeBackchannel(phrase.slice(0, MAX_BACKCHANNEL_PHRASE_CHARS));
      if (normalized.length > 0 && normalized.split(' ').length <= MAX_PHRASE_WORDS) phrases.add(normalized);
    }
    this.phrases = phrases;
  }

  get size(): number {
    return this.phrases.size;
  }

  /** Whether `text` is only backchannel phrases (one or more, up to MAX_BACKCHANNEL_WORDS words). Empty is not. */
  isBackchannel(text: string): boolean {
    if (this.phrases.size === 0 || text.length > MAX_BACKCHANNEL_WORDS * 20) return false;
    const normalized = normalizeBackchannel(text);
    if (normalized.length === 0) return false;
    const words = normalized.split(' ');
    if (words.length > MAX_BACKCHANNEL_WORDS) return false;
    // greedy, longest phrase first: "uh huh ok" = "uh huh" + "ok"
    for (let at = 0; at < words.length;) {
      let matched = 0;
      for (let n = Math.min(MAX_PHRASE_WORDS, words.length - at); n > 0 && matched === 0; n--) {
        if (this.phrases.has(words.slice(at, at + n).join(' '))) matched = n;
      }
      if (matched === 0) return false;
      at += matched;
    }
    return true;
  }
}
