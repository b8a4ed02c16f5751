// The Hebrew normaliser, on a table of cases: phone numbers digit by digit in their groups (zeros included), clock
// times as said with the part of the day, dates day-first, prices with the currency word in the masculine, percent,
// cardinals with the forms that trip a naive speller (1 and 2, 11-19, round hundreds and thousands, the ו before the
// last element), the gender a noun asks for; and what must stay as written (a score, codes glued to Latin letters,
// runs too long to be a number), with the work bounded for any input.
import { describe, expect, it } from 'vitest';
import { hebrewCardinal } from '../../../src/agent/speech-text/hebrew-numbers.js';
import { normalizeHebrew } from '../../../src/agent/speech-text/hebrew.js';
import { normalizeEnglish } from '../../../src/agent/speech-text/english.js';
import { speechTextFor } from '../../../src/agent/speech-text/speech-text.js';

const CARDINALS_F: Array<[number, string]> = [
  [0, 'אפס'], [1, 'אחת'], [2, 'שתיים'], [3, 'שלוש'], [8, 'שמונה'], [10, 'עשר'],
  [11, 'אחת עשרה'], [12, 'שתים עשרה'], [15, 'חמש עשרה'], [19, 'תשע עשרה'],
  [20, 'עשרים'], [21, 'עשרים ואחת'], [22, 'עשרים ושתיים'], [99, 'תשעים ותשע'],
  [100, 'מאה'], [101, 'מאה ואחת'], [111, 'מאה ואחת עשרה'], [120, 'מאה ועשרים'], [125, 'מאה עשרים וחמש'],
  [200, 'מאתיים'], [300, 'שלוש מאות'], [900, 'תשע מאות'],
  [1000, 'אלף'], [1005, 'אלף וחמש'], [1100, 'אלף ומאה'], [1120, 'אלף מאה ועשרים'], [2000, 'אלפיים'], [2500, 'אלפיים וחמש מאות'],
  [3000, 'שלושת אלפים'], [8000, 'שמונת אלפים'], [10_000, 'עשרת אלפים'], [11_000, 'אחד עשר אלף'], [21_000, 'עשרים ואחד אלף'],
  [100_000, 'מאה אלף'], [250_000, 'מאתיים וחמישים אלף'], [1_000_000, 'מיליון'], [1_000_005, 'מיליון וחמש'], [2_000_000, 'שני מיליון'],
  [1_250_000, 'מיליון מאתיים וחמישים אלף'], [3_000_000_000, 'שלושה מיליארד'],
];
const CARDINALS_M: Array<[number, string]> = [
  [1, 'אחד'], [2, 'שניים'], [3, 'שלושה'], [10, 'עשרה'], [11, 'אחד עשר'], [12, 'שנים עשר'], [19, 'תשעה עשר'], [21, 'עשרים ואחד'], [1002, 'אלף ושניים'],
];

const CASES: Array<[what: string, text: string, spoken: string]> = [
  // phone numbers: every digit, zeros as אפס, in the writer's groups (a 7-digit group as 3 + 4) or Israel's
  ['mobile with a dash', '050-1234567', 'אפס חמש אפס, אחת שתיים שלוש, ארבע חמש שש שבע'],
  ['mobile without separators', '0541234567', 'אפס חמש ארבע, אחת שתיים שלוש, ארבע חמש שש שבע'],
  ['mobile with spaces', '052 300 4005', 'אפס חמש שתיים, שלוש אפס אפס, ארבע אפס אפס חמש'],
  ['landline', '03-1234567', 'אפס שלוש, אחת שתיים שלוש, ארבע חמש שש שבע'],
  ['landline without separators', '021234567', 'אפס שתיים, אחת שתיים שלוש, ארבע חמש שש שבע'],
  ['international', '+972-50-1234567', 'פלוס תשע שבע שתיים, חמש אפס, אחת שתיים שלוש, ארבע חמש שש שבע'],
  ['international without separators', '+972501234567', 'פלוס תשע שבע שתיים, חמש אפס, אחת שתיים שלוש, ארבע חמש שש שבע'],
  ['1-800', '1-800-200-300', 'אחת שמונה מאות, שתיים אפס אפס, שלוש אפס אפס'],
  ['a phone number then another number', 'חייגו 050-1234567 תוך 10 דקות', 'חייגו אפס חמש אפס, אחת שתיים שלוש, ארבע חמש שש שבע תוך עשר דקות'],
  ['a hyphenated prefix joins', 'התקשרו ל-03-1234567', 'התקשרו לאפס שלוש, אחת שתיים שלוש, ארבע חמש שש שבע'],
  // clock times
  ['half past, afternoon', 'בשעה 14:30', 'בשעה שתיים וחצי אחר הצהריים'],
  ['minutes under ten', '9:05', 'תשע וחמש דקות בבוקר'],
  ['a round hour with a leading zero', '08:00', 'שמונה בבוקר'],
  ['quarter past', '10:15', 'עשר ורבע בבוקר'],
  ['quarter to', '8:45', 'רבע לתשע בבוקר'],
  ['other minutes', '19:20', 'שבע ועשרים בערב'],
  ['noon and midnight', '12:00 או 00:00', 'שתים עשרה בצהריים או חצות'],
  ['the part of the day already written', 'ב-20:00 בערב', 'בשמונה בערב'],
  ['a range', 'פתוחים 9:00-17:00', 'פתוחים תשע בבוקר עד חמש אחר הצהריים'],
  // not a clock (one-digit minutes, hour 25, three parts): each number read as a number, the colon kept
  ['a score is not a time', 'ניצחנו 2:1', 'ניצחנו שתיים:אחת'],
  ['not a clock', '25:00 ו-1:30:00', 'עשרים וחמש:אפס אפס ואחת:שלושים:אפס אפס'],
  // dates
  ['day/month', 'ב-3/12', 'בשלושה בדצמבר'],
  ['dotted with the year', '3.12.2026', 'שלושה בדצמבר אלפיים עשרים ושש'],
  ['two-digit year', '21/1/27', 'עשרים ואחד בינואר אלפיים עשרים ושבע'],
  ['a day written before its month', '3 בדצמבר', 'שלושה בדצמבר'],
  ['around the clock is not a date', 'שירות 24/7', 'שירות עשרים וארבע שבע'],
  // prices
  ['shekel sign before', '₪120', 'מאה ועשרים שקל'],
  ['ש"ח after', '120 ש"ח', 'מאה ועשרים שקל'],
  ['ש״ח with gershayim', '45 ש״ח', 'ארבעים וחמישה שקל'],
  ['the word after', '120 שקל', 'מאה ועשרים שקל'],
  ['one shekel', '₪1', 'שקל אחד'],
  ['two shekels', '2 שקלים', 'שני שקלים'],
  ['few shekels take the plural', '₪5', 'חמישה שקלים'],
  ['agorot', '99.90 ₪', 'תשעים ותשעה שקל ותשעים אגורות'],
  ['agorot only', '0.50 ₪', 'חמישים אגורות'],
  ['one agora', '₪3.01', 'שלושה שקלים ואגורה אחת'],
  ['thousands separator', '₪1,250', 'אלף מאתיים וחמישים שקל'],
  ['dollars and cents', '$12.50', 'שנים עשר דולר וחמישים סנט'],
  ['euro after', '5€', 'חמישה אירו'],
  // percent
  ['percent', '25%', 'עשרים וחמישה אחוז'],
  ['one percent', '1%', 'אחוז אחד'],
  ['decimal percent', '2.5%', 'שניים נקודה חמש אחוז'],
  // cardinals and the noun's gender
  ['a bare number counts in the feminine', 'יש 3 אפשרויות או 12', 'יש שלוש אפשרויות או שתים עשרה'],
  ['a masculine noun', '3 ימים', 'שלושה ימים'],
  ['a masculine plural by its ending', '4 חדרים', 'ארבעה חדרים'],
  ['one goes after its noun', '1 יום', 'יום אחד'],
  ['two in the construct form', '2 דקות ו-2 ימים', 'שתי דקות ושני ימים'],
  ['decimal', '3.5', 'שלוש נקודה חמש'],
  ['decimal with a zero', '3.05', 'שלוש נקודה אפס חמש'],
  ['a year', 'בשנת 2026', 'בשנת אלפיים עשרים ושש'],
  ['thousands', '1,000,000', 'מיליון'],
  // codes and what stays as written
  ['a leading zero is a code', 'קוד 007', 'קוד אפס אפס שבע'],
  ['a long number is read digit by digit', 'הזמנה 1234567', 'הזמנה אחת שתיים שלוש, ארבע חמש שש שבע'],
  ['glued to Latin letters', 'טיסה A320 ב-4K', 'טיסה A320 ב-4K'],
  ['a version number', 'גרסה 1.2.3', 'גרסה 1.2.3'],
  ['no numbers', 'שלום, במה אפשר לעזור?', 'שלום, במה אפשר לעזור?'],
];

describe('Hebrew number words', () => {
  it.each(CARDINALS_F)('%i in the feminine (counting) is %s', (n, words) => {
    expect(hebrewCardinal(n, 'f')).toBe(words);
  });
  it.each(CARDINALS_M)('%i in the masculine is %s', (n, words) => {
    expect(hebrewCardinal(n, 'm')).toBe(words);
  });
  it('refuses what it cannot say (negative, fractional, beyond 999,999,999,999)', () => {
    expect(hebrewCardinal(-1, 'f')).toBeUndefined();
    expect(hebrewCardinal(1.5, 'f')).toBeUndefined();
    expect(hebrewCardinal(1e12, 'f')).toBeUndefined();
  });
});

describe('normalizeHebrew', () => {
  it.each(CASES)('%s: %s', (_what, text, spoken) => {
    expect(normalizeHebrew(text)).toBe(spoken);
  });

  it('reads a whole reply with several kinds at once', () => {
    expect(normalizeHebrew('קבעתי לך תור ל-3/12 בשעה 14:30, המחיר ₪250 ואפשר לבטל בטלפון 03-1234567.'))
      .toBe('קבעתי לך תור לשלושה בדצמבר בשעה שתיים וחצי אחר הצהריים, המחיר מאתיים וחמישים שקל ואפשר לבטל בטלפון אפס שלוש, אחת שתיים שלוש, ארבע חמש שש שבע.');
  });

  it('leaves a 10 KB run of digits as it is, and keeps the output of 10 KB of small numbers bounded', () => {
    const digits = '7'.repeat(10_240);
    expect(normalizeHebrew(digits)).toBe(digits);
    const many = '1-2 '.repeat(2560);
    const out = normalizeHebrew(many);
    expect(out.startsWith('אחת-שתיים אחת-שתיים')).toBe(true);
    expect(out.length).toBeLessThan(many.length * 4);
    const mixed = '050-1234567 14:30 ₪99.90 25% 3/12 '.repeat(300);
    expect(normalizeHebrew(mixed).split('אפס חמש אפס').length - 1).toBe(300);
  });
});

describe('normalizeEnglish', () => {
  it.each([
    ['Call 050-1234567', 'Call zero five zero, one two three, four five six seven'],
    ['+972 3 123 4567', 'plus nine seven two, three, one two three, four five six seven'],
    ['It costs ₪120 or 1 NIS', 'It costs 120 shekels or 1 shekel'],
    ['See you at 14:30 for $20', 'See you at 14:30 for $20'],
  ])('%s', (text, spoken) => {
    expect(normalizeEnglish(text)).toBe(spoken);
  });
});

describe('speechTextFor', () => {
  it('is on for Hebrew by default, off for English unless asked, off when turned off', () => {
    expect(speechTextFor('he', undefined)?.('₪2')).toBe('שני שקלים');
    expect(speechTextFor('he-IL', true)?.('₪2')).toBe('שני שקלים');
    expect(speechTextFor('he', false)).toBeUndefined();
    expect(speechTextFor('en-US', undefined)).toBeUndefined();
    expect(speechTextFor('en-US', true)?.('₪2')).toBe('2 shekels');
    expect(speechTextFor('fr-FR', true)).toBeUndefined();
  });
});
