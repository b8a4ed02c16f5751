// What the caller hears when a provider fails: a short spoken line ("sorry, could you say that again?") synthesized
// once and cached as 8 kHz mu-law frames, so that playing it needs no provider at the moment something is broken.
// The first call to need it starts the synthesis (the pipeline asks at call start); until it is ready, or if
// synthesis itself is down, a generated two-beep tone stands in. The cache is per process (thread) and per
// synthesizer, line and language, so later calls reuse it.
import { mulawEncode } from '../audio/dsp.js';
import { SAMPLE_RATE_HZ, SAMPLES_PER_FRAME } from '../twilio/media-format.js';
import type { Synthesizer } from './types.js';

/** A default line per language (primary subtag); English otherwise. */
export const DEFAULT_FALLBACK_LINES: Readonly<Record<string, string>> = {
  he: 'סליחה, לא הצלחתי לשמוע. אפשר לחזור על זה?',
  en: "Sorry, I didn't catch that. Could you say it again?",
};

export function defaultFallbackLine(languageCode: string): string {
  const primary = languageCode.split('-')[0]?.toLowerCase() ?? 'en';
  return DEFAULT_FALLBACK_LINES[primary] ?? (DEFAULT_FALLBACK_LINES['en'] as string);
}

/** Converts synthesized audio to 8 kHz mu-law frames (the DSP pool's job in the pipeline). */
export type ToMulawFrames = (result: Awaited<ReturnType<Synthesizer['synthesize']>>) => Promise<Uint8Array>;

/**
 * Two short beeps (440 Hz, 180 ms each, 120 ms apart) at about -16 dBFS with 10 ms fades, as whole 20 ms mu-law
 * frames: clearly "something went wrong" and never a click.
 */
export function fallbackTone(): Uint8Array {
  const rateHz = SAMPLE_RATE_HZ;
  const samplesPerMs = rateHz / 1000;
  const beepSamples = 180 * samplesPerMs;
  const gapSamples = 120 * samplesPerMs;
  const fadeSamples = 10 * samplesPerMs;
  const total = Math.ceil((2 * beepSamples + gapSamples) / SAMPLES_PER_FRAME) * SAMPLES_PER_FRAME;
  const pcm = new Int16Array(total);
  const amplitude = 0.16 * 32767;
  for (const start of [0, beepSamples + gapSamples]) {
    for (let i = 0; i < beepSamples; i++) {
      const fade = Math.min(1, i / fadeSamples, (beepSamples - 1 - i) / fadeSamples);
      pcm[start + i] = Math.round(amplitude * fade * Math.sin((2 * Math.PI * 440 * i) / rateHz));
    }
  }
  return mulawEncode(pcm);
}

interface CacheEntry {
  mulaw: Uint8Array | undefined;
  pending: Promise<Uint8Array | undefined> | undefined;
  failedAtMs: number;
}

/** Don't hammer a synthesizer that failed: try the line again after this long. */
const RETRY_AFTER_MS = 30_000;

const cache = new Map<string, CacheEntry>();
let tone: Uint8Array | undefined;

export interface FallbackSource {
  synthesizer: Synthesizer;
  toMulaw: ToMulawFrames;
  text: string;
  /** Cache key part besides the synthesizer's name and the text (e.g. voice). */
  variant?: string;
}

/** The cached line for `source`, starting its synthesis when not done yet (never rejects). */
export function prepareFallback(source: FallbackSource, timeoutMs: number): Promise<Uint8Array | undefined> {
  const key = `${source.synthesizer.name}\u0000${source.variant ?? ''}\u0000${source.text}`;
  let entry = cache.get(key);
  if (entry === undefined) {
    entry = { mulaw: undefined, pending: undefined, failedAtMs: -Infinity };
    cache.set(key, entry);
  }
  if (entry.mulaw !== undefined) return Promise.resolve(entry.mulaw);
  if (entry.pending !== undefined) return entry.pending;
  if (performance.now() - entry.failedAtMs < RETRY_AFTER_MS) return Promise.resolve(undefined);
  const current = entry;
  const signal = AbortSignal.timeout(timeoutMs);
  current.pending = source.synthesizer.synthesize(source.text, signal)
    .then((result) => source.toMulaw(result))
    .then(
      (mulaw) => {
        current.mulaw = mulaw;
        return mulaw;
      },
      () => {
        current.failedAtMs = performance.now();
        return undefined;
      },
    )
    .finally(() => {
      current.pending = undefined;
    });
  return current.pending;
}

/** What to play now: the cached line when it is ready, else the tone. */
export function fallbackAudioNow(source: FallbackSource): { mulaw: Uint8Array; kind: 'line' | 'tone' } {
  const key = `${source.synthesizer.name}\u0000${source.variant ?? ''}\u0000${source.text}`;
  const line = cache.get(key)?.mulaw;
  if (line !== undefined) return { mulaw: line, kind: 'line' };
  tone ??= fallbackTone();
  return { mulaw: tone, kind: 'tone' };
}

/** Forgets every cached line (tests). */
export function clearFallbackCache(): void {
  cache.clear();
}
