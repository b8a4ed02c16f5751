// The seam where normalisation happens: the wrapped synthesizer is asked with the spoken form, keeps its provider's
// name and result (a fail-over's `provider` too), and reads the original text if the normaliser ever throws; no
// wrapper at all when normalisation is off. And the sentence cutter, which runs before the seam, never cuts a long
// clause inside a clock time, a number with a thousands separator or a phone number written with spaces, so the
// normaliser always sees them whole.
import { describe, expect, it } from 'vitest';
import { SentenceCutter } from '../../../src/agent/sentences.js';
import { SpeechTextSynthesizer, speechTextFor, withSpeechText } from '../../../src/agent/speech-text/speech-text.js';
import type { SynthesisChunk, SynthesisResult, Synthesizer } from '../../../src/agent/types.js';

class RecordingSynthesizer implements Synthesizer {
  readonly name = 'google-tts>openai-tts';
  readonly texts: string[] = [];
  async synthesize(text: string): Promise<SynthesisResult & { provider: string }> {
    this.texts.push(text);
    return { audio: new Uint8Array(160), encoding: 'mulaw', sampleRateHz: 8000, provider: 'openai-tts' };
  }
}

function cutAll(text: string): string[] {
  const cutter = new SentenceCutter();
  const out: string[] = [];
  for (const ch of text) out.push(...cutter.push(ch));
  return [...out, ...cutter.flush()];
}

describe('the synthesizer seam', () => {
  it('asks the provider with the spoken form and hands its result back as it is', async () => {
    const inner = new RecordingSynthesizer();
    const synthesizer = withSpeechText(inner, speechTextFor('he-IL', undefined));
    expect(synthesizer).toBeInstanceOf(SpeechTextSynthesizer);
    expect(synthesizer.name).toBe(inner.name);
    const result = await synthesizer.synthesize('נתראה ב-9:00.', new AbortController().signal);
    expect(inner.texts).toEqual(['נתראה בתשע בבוקר.']);
    expect((result as SynthesisResult & { provider: string }).provider).toBe('openai-tts');
  });

  it('reads the original text when the normaliser throws', async () => {
    const inner = new RecordingSynthesizer();
    const synthesizer = new SpeechTextSynthesizer(inner, () => {
      throw new Error('broken');
    });
    await synthesizer.synthesize('בשעה 9:00', new AbortController().signal);
    expect(inner.texts).toEqual(['בשעה 9:00']);
  });

  it('keeps a streaming synthesizer streaming, with the spoken form', async () => {
    const texts: string[] = [];
    const inner: Synthesizer = {
      name: 'openai-tts',
      synthesize: async () => ({ audio: new Int16Array(0), encoding: 'pcm16', sampleRateHz: 24_000 }),
      async *synthesizeStream(text: string): AsyncIterable<SynthesisChunk> {
        texts.push(text);
        yield { audio: new Int16Array(240), encoding: 'pcm16', sampleRateHz: 24_000, isWhole: false } as SynthesisChunk;
      },
    };
    const synthesizer = withSpeechText(inner, speechTextFor('he', undefined));
    expect(synthesizer.synthesizeStream).toBeDefined();
    for await (const _ of synthesizer.synthesizeStream!('נתראה ב-9:00.', new AbortController().signal)) { /* drained */ }
    expect(texts).toEqual(['נתראה בתשע בבוקר.']);
    // a synthesizer that does not stream is not made to look as if it did
    expect(withSpeechText(new RecordingSynthesizer(), speechTextFor('he', undefined)).synthesizeStream).toBeUndefined();
  });

  it('is not there when normalisation is off', () => {
    const inner = new RecordingSynthesizer();
    expect(withSpeechText(inner, speechTextFor('he', false))).toBe(inner);
  });
});

describe('the sentence cutter keeps numbers whole for the normaliser', () => {
  it('does not cut a long clause inside a clock time or a number with a thousands separator', () => {
    const time = cutAll('אפשר לקבוע לך תור ליום שלישי הקרוב אצל הרופאה שלנו ד"ר לוי בשעה 14:30 או ביום רביעי בבוקר');
    expect(time.some((s) => s.includes('14:30'))).toBe(true);
    const sum = cutAll('הטיפול המלא כולל בדיקה ראשונית, צילום וניקוי אבנית, והמחיר הכולל הוא 12,250 שקלים לכל');
    expect(sum.some((s) => s.includes('12,250'))).toBe(true);
  });

  it('does not cut between the groups of a phone number written with spaces', () => {
    const sentences = cutAll('אם משהו לא ברור אפשר תמיד לחזור אלינו למספר הישיר של המשרד 052 300 4005 בכל שעה');
    expect(sentences.some((s) => s.includes('052 300 4005')), JSON.stringify(sentences)).toBe(true);
  });
});
