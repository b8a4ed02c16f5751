// Cuts a streamed LLM reply into sentences as its deltas arrive, so that the first sentence can go to speech
// synthesis while the model is still writing the rest. A sentence ends at . ! ? … or the Hebrew sof pasuq ׃ when
// whitespace follows (so "3.5" and "www.x.com" are not cut), and at every newline. A clause that runs long without
// such punctuation is cut at its last comma (or semicolon, colon, dash), else at its last space, else hard; the first
// sentence uses a lower limit than the rest so that the caller hears something sooner.

/** Characters that end a sentence when whitespace (or the end of the reply) follows them. */
const TERMINATORS = new Set(['.', '!', '?', '…', '׃', '։', '؟', '。']);
/** Closing quotes and brackets that may sit between a terminator and the space after it. */
const CLOSERS = new Set(['"', "'", '”', '’', '»', ')', ']', '״', '׳']);
/** Where a long clause may be cut (after the character). */
const SOFT_BREAKS = new Set([',', ';', ':', '،', '—', '–']);

export interface SentenceCutterOptions {
  /** The first sentence is cut at a soft break (or a space) once it is this long. Default 70. */
  firstMaxChars?: number;
  /** Any later sentence is cut at a soft break (or a space) once it is this long. Default 160. */
  maxChars?: number;
  /** Never cut off a piece shorter than this at a soft break (a lone "Yes," stays with what follows). Default 8. */
  minSoftCutChars?: number;
}

export class SentenceCutter {
  private readonly firstMaxChars: number;
  private readonly maxChars: number;
  private readonly minSoftCutChars: number;
  private buffer = '';
  private sentencesOut = 0;

  constructor(options: SentenceCutterOptions = {}) {
    this.firstMaxChars = options.firstMaxChars ?? 70;
    this.maxChars = options.maxChars ?? 160;
    this.minSoftCutChars = options.minSoftCutChars ?? 8;
    if (!(this.firstMaxChars >= 1) || !(this.maxChars >= 1) || !(this.minSoftCutChars >= 0)) {
      throw new RangeError('SentenceCutter limits must be positive numbers');
    }
  }

  /** Adds a delta; returns the sentences it completed (trimmed, non-empty), oldest first. */
  push(delta: string): string[] {
    this.buffer += delta;
    const out: string[] = [];
    for (;;) {
      const cut = this.findCut();
      if (cut < 0) break;
      this.emit(this.buffer.slice(0, cut), out);
      this.buffer = this.buffer.slice(cut);
    }
    return out;
  }

  /** The reply ended: whatever is left, as the last sentence (or nothing). */
  flush(): string[] {
    const out: string[] = [];
    this.emit(this.buffer, out);
    this.buffer = '';
    return out;
  }

  /** Text held back, waiting for the end of its sentence. */
  get pending(): string {
    return this.buffer;
  }

  private emit(piece: string, out: string[]): void {
    const text = piece.replace(/\s+/g, ' ').trim();
    if (text.length === 0 || !/[\p{L}\p{N}]/u.test(text)) {
      // punctuation or whitespace alone is not worth a synthesis request
      return;
    }
    out.push(text);
    this.sentencesOut++;
  }

  /** Index just past the first place to cut, or -1 when the buffer must wait for more text. */
  private findCut(): number {
    const b = this.buffer;
    const limit = this.sentencesOut === 0 ? this.firstMaxChars : this.maxChars;
    for (let i = 0; i < b.length; i++) {
      const ch = b[i] as string;
      if (ch === '\n' || ch === '\r') return i + 1;
      if (TERMINATORS.has(ch)) {
        let j = i + 1;
        while (j < b.length && (TERMINATORS.has(b[j] as string) || CLOSERS.has(b[j] as string))) j++;
        if (j >= b.length) return -1; // the next delta decides (a space, or more of a number / word)
        if (/\s/.test(b[j] as string)) return j;
        i = j - 1;
        continue;
      }
      if (i + 1 >= limit) return this.softCut(i + 1);
    }
    return -1;
  }

  /** Cut within b[0, end): after the last soft break, else the last space, else at `end`. */
  private softCut(end: number): number {
    const b = this.buffer;
    for (let i = end - 1; i >= this.minSoftCutChars - 1 && i > 0; i--) {
      // a break only when a space follows it: never inside 14:30 or 1,250 (the TTS normaliser reads them whole)
      if (SOFT_BREAKS.has(b[i] as string) && /\s/.test(b[i + 1] ?? '')) return i + 1;
    }
    for (let i = end - 1; i >= this.minSoftCutChars && i > 0; i--) {
      // not between two digit groups (a phone number written with spaces, 050 123 4567)
      if (/\s/.test(b[i] as string) && !(/\d/.test(b[i - 1] as string) && /\d/.test(b[i + 1] ?? ''))) return i + 1;
    }
    return end;
  }
}
