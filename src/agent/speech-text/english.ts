// English text for the TTS: only what English voices get wrong, since they read amounts, times and dates well on their
// own. Phone numbers are read digit by digit in their groups (050-1234567 -> zero five zero, one two three, four
// five six seven; +972 as plus nine seven two), and shekels, which the voices do not know as a symbol, get their word
// (₪120, 120 ש"ח, 120 NIS -> 120 shekels; 1 shekel). Everything else is left to the voice.
import { phoneRule, rewriteNumbers, type Rule } from './scan.js';

const DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];

function englishDigits(group: string): string {
  return Array.from(group, (ch) => DIGITS[ch.charCodeAt(0) - 48] ?? '').filter((w) => w.length > 0).join(' ');
}

const englishPhoneRule = phoneRule({ digits: englishDigits, serviceNumber: englishDigits, plus: 'plus' });

const AMOUNT = String.raw`(\d{1,3}(?:,\d{3})+(?:\.\d{1,2})?|\d{1,12}(?:\.\d{1,2})?)(?!\d|[.,]\d)`;

function shekels(amount: string): string {
  return `${amount} ${amount === '1' ? 'shekel' : 'shekels'}`;
}

const shekelBeforeRule: Rule = {
  pattern: new RegExp(String.raw`₪\s?${AMOUNT}`, 'y'),
  render: (match) => ({ text: shekels(match[1] as string), end: match.index + match[0].length }),
};

const shekelAfterRule: Rule = {
  pattern: new RegExp(String.raw`${AMOUNT}\s?(?:₪|ש["״]ח|NIS(?![A-Za-z]))`, 'y'),
  render: (match) => ({ text: shekels(match[1] as string), end: match.index + match[0].length }),
};

const ENGLISH_RULES: readonly Rule[] = [englishPhoneRule, shekelBeforeRule, shekelAfterRule];

/** The reply's text with phone numbers and shekels written out for an English voice (see the top of this file). */
export function normalizeEnglish(text: string): string {
  return rewriteNumbers(text, ENGLISH_RULES);
}
