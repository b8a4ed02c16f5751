// Whisper invents text on silence and noise ("thank you", "thanks for watching", subtitle credits). This file holds
// the whole rule against it, in two steps: a turn too short or too quiet is not sent to ASR at all (asrSkipReason),
// and a transcript that is empty, or a known hallucination phrase on a low-energy turn, is dropped
// (shouldDropTranscript). Pure functions, per turn.
import type { CallerTurn } from '../call/agent-contract.js';

/** Turns shorter than this are not transcribed. */
export const DEFAULT_MIN_ASR_TURN_MS = 300;
/** Turns whose loudest frame is quieter than this are not transcribed. */
export const DEFAULT_MIN_PEAK_DBFS = -45;

/** Phrases Whisper is known to produce on silence, noise or music (compared after normalizeTranscript). */
export const HALLUCINATION_PHRASES: readonly string[] = [
  'thank you', 'thank you very much', 'thanks', 'thanks for watching', 'thank you for watching',
  'thanks for watching and see you next time', 'please subscribe', 'subscribe to my channel', 'like and subscribe',
  'see you next time', 'bye', 'bye bye', 'you', 'so', 'okay', 'oh', 'music', 'applause', 'silence',
  'תודה', 'תודה רבה', 'תודה שצפיתם', 'תודה על הצפייה', 'תודה רבה על הצפייה', 'תודה לכם', 'ביי', 'להתראות',
  'הירשמו לערוץ', 'תרגום', 'כתוביות', 'שלום',
];
/** Fragments that mark a hallucination anywhere in the text (subtitle credits and the like). */
const HALLUCINATION_FRAGMENTS = [/amara\.org/i, /subtitles? by/i, /transcri(bed|ption) by/i, /כתוביות/, /תורגם (ע"י|על ידי)/, /♪/];

/** Why a turn is not worth transcribing (Whisper would invent something), or undefined when it is. */
export function asrSkipReason(
  turn: Pick<CallerTurn, 'durationMs' | 'peakDbfs'>,
  minAsrTurnMs: number = DEFAULT_MIN_ASR_TURN_MS,
  minPeakDbfs: number = DEFAULT_MIN_PEAK_DBFS,
): 'too-short' | 'too-quiet' | undefined {
  if (turn.durationMs < minAsrTurnMs) return 'too-short';
  if (turn.peakDbfs < minPeakDbfs) return 'too-quiet';
  return undefined;
}

/** Lower case, punctuation and brackets removed, whitespace collapsed. */
export function normalizeTranscript(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function isKnownHallucination(text: string): boolean {
  if (HALLUCINATION_FRAGMENTS.some((pattern) => pattern.test(text))) return true;
  const normalized = normalizeTranscript(text);
  return normalized.length === 0 || HALLUCINATION_PHRASES.includes(normalized);
}

export interface EnergyThresholds {
  lowEnergyMeanDbfs: number;
  lowEnergyPeakDbfs: number;
}

export const DEFAULT_ENERGY: EnergyThresholds = { lowEnergyMeanDbfs: -42, lowEnergyPeakDbfs: -30 };

export function isLowEnergyTurn(turn: Pick<CallerTurn, 'meanDbfs' | 'peakDbfs'>, thresholds: EnergyThresholds = DEFAULT_ENERGY): boolean {
  return turn.meanDbfs < thresholds.lowEnergyMeanDbfs || turn.peakDbfs < thresholds.lowEnergyPeakDbfs;
}

/** A transcript to drop: empty, or a known hallucination phrase on a low-energy turn. */
export function shouldDropTranscript(text: string, turn: Pick<CallerTurn, 'meanDbfs' | 'peakDbfs'>, thresholds?: EnergyThresholds): boolean {
  if (normalizeTranscript(text).length === 0) return true;
  return isLowEnergyTurn(turn, thresholds) && isKnownHallucination(text);
}
