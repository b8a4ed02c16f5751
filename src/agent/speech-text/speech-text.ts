// What the TTS reads, as against what the model wrote: numbers, phone numbers, times, dates and prices written out
// in words for the agent's language (hebrew.ts; english.ts for the few things English voices get wrong), applied at
// the synthesizer seam only. The pipeline, its history, the records and the heard-text cut of a barge-in all keep
// the model's own text: only the words sent to the provider change, so nothing has to map spoken words back to
// the sentence. The fallback line, the filler and `say` commands pass through the same seam.
// Also the ASR side of the same concern: the agent file's vocabulary (business and product names) as the prompt
// that steers the transcriber's spelling.
import { normalizeEnglish } from './english.js';
import { normalizeHebrew } from './hebrew.js';
import type { SynthesisChunk, SynthesisResult, Synthesizer } from '../types.js';

/** Turns a sentence into the text the TTS should read. */
export type SpeechTextNormalizer = (text: string) => string;

/** Text longer than this goes to the TTS as it is (no sentence is this long; the work stays bounded regardless). */
export const MAX_NORMALIZED_CHARS = 16_384;

/**
 * The normaliser for a language (he/iw Hebrew, en English), or undefined when there is none or it is off.
 * `setting` is the agent file's normalizeNumbers under TTS_NORMALIZE_NUMBERS: undefined means the default, which
 * is on for Hebrew and off for English (English voices read numbers well; turn it on for phone numbers and ₪).
 */
export function speechTextFor(languageCode: string, setting: boolean | undefined): SpeechTextNormalizer | undefined {
  if (setting === false) return undefined;
  const primary = languageCode.split('-')[0]?.toLowerCase();
  const normalize = primary === 'he' || primary === 'iw' ? normalizeHebrew : primary === 'en' && setting === true ? normalizeEnglish : undefined;
  if (normalize === undefined) return undefined;
  return (text) => (text.length > MAX_NORMALIZED_CHARS ? text : normalize(text));
}

/**
 * A synthesizer that reads the normalised text: same name (the fallback cache and the logs name the provider),
 * same result (a fail-over's `provider` included). A normaliser that throws (it should not) costs nothing: the
 * original text is read.
 */
export class SpeechTextSynthesizer implements Synthesizer {
  readonly name: string;
  /** Present when the inner synthesizer streams (the pipeline plays a streamed sentence as it arrives). */
  readonly synthesizeStream?: (text: string, signal: AbortSignal) => AsyncIterable<SynthesisChunk>;

  constructor(private readonly inner: Synthesizer, private readonly normalize: SpeechTextNormalizer) {
    this.name = inner.name;
    if (inner.synthesizeStream !== undefined) this.synthesizeStream = (text, signal) => inner.synthesizeStream!(this.spoken(text), signal);
  }

  synthesize(text: string, signal: AbortSignal): Promise<SynthesisResult> {
    return this.inner.synthesize(this.spoken(text), signal);
  }

  private spoken(text: string): string {
    try {
      return this.normalize(text);
    } catch {
      return text;
    }
  }
}

/** `synthesizer` reading normalised text, or itself when there is no normaliser. */
export function withSpeechText(synthesizer: Synthesizer, normalize: SpeechTextNormalizer | undefined): Synthesizer {
  return normalize === undefined ? synthesizer : new SpeechTextSynthesizer(synthesizer, normalize);
}

/**
 * The transcriber's prompt from the agent file's vocabulary: the names as one comma-separated line (Whisper takes
 * its prompt as earlier text of the same recording, so a plain list of the names is what steers its spelling).
 * Undefined when there are none.
 */
export function asrPromptOf(vocabulary: readonly string[] | undefined): string | undefined {
  const names = (vocabulary ?? []).map((name) => name.trim()).filter((name) => name.length > 0);
  return names.length > 0 ? names.join(', ') : undefined;
}
