// Whisper invents text on silence and noise. A known hallucination phrase is dropped when the turn was quiet (low
// energy), and kept when the caller clearly said it; an empty transcript is always dropped.
import { describe, expect, it } from 'vitest';
import { isKnownHallucination, isLowEnergyTurn, normalizeTranscript, shouldDropTranscript } from '../../src/agent/hallucinations.js';

const quiet = { meanDbfs: -50, peakDbfs: -35 };
const loud = { meanDbfs: -24, peakDbfs: -8 };

describe('hallucination filter', () => {
  it('normalizes case, punctuation and spaces', () => {
    expect(normalizeTranscript('  Thanks for watching!  ')).toBe('thanks for watching');
    expect(normalizeTranscript('תודה רבה.')).toBe('תודה רבה');
  });

  it('knows the usual phrases in English and Hebrew, and subtitle credits anywhere', () => {
    for (const text of ['Thank you.', 'Thanks for watching!', 'you', 'תודה רבה.', 'תודה שצפיתם', 'Subtitles by the Amara.org community', '♪ ♪']) {
      expect(isKnownHallucination(text), text).toBe(true);
    }
    for (const text of ['I want an appointment tomorrow', 'תודה רבה, להתראות.', 'שלום, אני רוצה לקבוע תור']) {
      expect(isKnownHallucination(text), text).toBe(false);
    }
  });

  it('drops a known phrase on a quiet turn and keeps it on a loud one', () => {
    expect(isLowEnergyTurn(quiet)).toBe(true);
    expect(isLowEnergyTurn(loud)).toBe(false);
    expect(shouldDropTranscript('Thank you.', quiet)).toBe(true);
    expect(shouldDropTranscript('Thank you.', loud)).toBe(false);
    expect(shouldDropTranscript('I need a plumber', quiet)).toBe(false);
  });

  it('always drops an empty or punctuation-only transcript', () => {
    expect(shouldDropTranscript('', loud)).toBe(true);
    expect(shouldDropTranscript(' ... ', loud)).toBe(true);
  });
});
