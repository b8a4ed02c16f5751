// Hebrew text for the TTS: the numbers in a reply written out as a Hebrew speaker says them, because Hebrew voices
// read digits badly (050-1234567 as a subtraction, 14:30 as "fourteen colon thirty", ₪120 in the wrong gender).
//   phone numbers   digit by digit in their groups: 050-1234567 -> אפס חמש אפס, אחת שתיים שלוש, ארבע חמש שש שבע;
//                   +972 as פלוס תשע שבע שתיים; 1-800-123-456 as אחת שמונה מאות, then digits
//   clock times     H:MM (0-23, two-digit minutes) the way it is said, with the part of the day unless the text names
//                   it: 14:30 -> שתיים וחצי אחר הצהריים, 9:05 -> תשע וחמש דקות בבוקר, 8:45 -> רבע לתשע בבוקר;
//                   9:00-17:00 -> ... עד ...; "2:1" (one-digit minutes) is a score, not a time, and stays as written
//   dates           3/12, 3/12/2026, 3.12.2026 (day first, as in Israel) -> שלושה בדצמבר אלפיים עשרים ושש; a
//                   two-part dotted 3.12 is a decimal, 24/7 is around the clock; 1/2 is read as a date too
//   prices          ₪120, 120 ש"ח, 120 שקל, 99.90 ₪, $5, 5€ -> masculine count and the currency word (שני שקלים,
//                   עשרים שקל, תשעים ותשעה שקל ותשעים אגורות)
//   percentages     25% -> עשרים וחמישה אחוז
//   cardinals       1,250 / 3.5 / 2026: feminine (the counting form) unless the next word is a masculine noun
//                   (3 ימים -> שלושה ימים; 1 and 2 take the noun's forms: יום אחד, שני ימים)
//   codes           a number with a leading zero (007) or of 7 to 15 digits without separators (an order or ID
//                   number) is read digit by digit; longer runs stay as digits
// A prefix written with a hyphen (ב-14:30, ל-050...) joins the words (בשתיים וחצי...). Everything else is untouched.
import { hebrewCardinal, hebrewDigits, twoBefore, type Gender } from './hebrew-numbers.js';
import { codeGroups, phoneRule, rewriteNumbers, type Rendered, type Rule } from './scan.js';

/** A whole number of more digits than this (without separators) is left as digits. */
const MAX_CODE_DIGITS = 15;
/** A number without separators of at least this many digits is a code (read digit by digit), not an amount. */
const MIN_CODE_DIGITS = 7;

const MONTHS = ['ינואר', 'פברואר', 'מרץ', 'אפריל', 'מאי', 'יוני', 'יולי', 'אוגוסט', 'ספטמבר', 'אוקטובר', 'נובמבר', 'דצמבר'];

/** A noun counted in money or percent: its forms, and whether from 11 up speakers use the singular (עשרים שקל). */
interface CountNoun {
  gender: Gender;
  singular: string;
  plural: string;
  isSingularFromEleven: boolean;
}
const SHEKEL: CountNoun = { gender: 'm', singular: 'שקל', plural: 'שקלים', isSingularFromEleven: true };
const AGORA: CountNoun = { gender: 'f', singular: 'אגורה', plural: 'אגורות', isSingularFromEleven: false };
const DOLLAR: CountNoun = { gender: 'm', singular: 'דולר', plural: 'דולרים', isSingularFromEleven: true };
const EURO: CountNoun = { gender: 'm', singular: 'אירו', plural: 'אירו', isSingularFromEleven: true };
const CENT: CountNoun = { gender: 'm', singular: 'סנט', plural: 'סנטים', isSingularFromEleven: true };
const PERCENT: CountNoun = { gender: 'm', singular: 'אחוז', plural: 'אחוזים', isSingularFromEleven: true };

const CURRENCIES: Record<string, { major: CountNoun; minor: CountNoun }> = {
  shekel: { major: SHEKEL, minor: AGORA },
  dollar: { major: DOLLAR, minor: CENT },
  euro: { major: EURO, minor: CENT },
};

function currencyOf(symbol: string): keyof typeof CURRENCIES {
  if (symbol === '$' || symbol.startsWith('דולר')) return 'dollar';
  if (symbol === '€' || symbol === 'אירו' || symbol === 'יורו') return 'euro';
  return 'shekel';
}

/** `n` of `noun`, as said: שקל אחד, שני שקלים, חמישה שקלים, עשרים שקל (or אגורות: the plural throughout). */
function countOf(n: number, noun: CountNoun): string | undefined {
  if (n === 1) return `${noun.singular} ${noun.gender === 'm' ? 'אחד' : 'אחת'}`;
  if (n === 2) return `${twoBefore(noun.gender)} ${noun.plural}`;
  const words = hebrewCardinal(n, noun.gender);
  if (words === undefined) return undefined;
  return `${words} ${n > 10 && noun.isSingularFromEleven ? noun.singular : noun.plural}`;
}

/** "1,250" -> 1250; undefined when it is not a whole number we read. */
function integerOf(digits: string): number | undefined {
  const plain = digits.replaceAll(',', '');
  if (plain.length > MAX_CODE_DIGITS) return undefined;
  const n = Number(plain);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** The digits after a decimal point: a short one as a number (נקודה עשרים וחמש), else digit by digit (נקודה אפס חמש). */
function fractionWords(fraction: string): string {
  if (fraction.length <= 2 && !fraction.startsWith('0')) return hebrewCardinal(Number(fraction), 'f') as string;
  return hebrewDigits(fraction);
}

// ---- the rules, in the order they are tried ----

const hebrewPhoneRule = phoneRule({ digits: hebrewDigits, serviceNumber: (group) => hebrewCardinal(Number(group), 'f') ?? '', plus: 'פלוס' });

/** The part of the day a clock hour is in (0-23). */
function partOfDay(hour: number): string {
  if (hour >= 5 && hour <= 11) return 'בבוקר';
  if (hour === 12) return 'בצהריים';
  if (hour >= 13 && hour <= 17) return 'אחר הצהריים';
  if (hour >= 18 && hour <= 21) return 'בערב';
  return 'בלילה';
}
/** The text already says which part of the day (right after the time). */
const PART_OF_DAY_AFTER = /\s*(?:בבוקר|בצהריים|בצהרים|אחר הצהריים|אחה["״]צ|בערב|בלילה|לפנות בוקר)/y;

/** A clock time as said, or undefined when it is not one (hours 0-24, minutes 0-59, 24 only as 24:00). */
function clockWords(hour: number, minute: number, withPartOfDay: boolean): string | undefined {
  if (hour > 24 || minute > 59 || (hour === 24 && minute !== 0)) return undefined;
  if ((hour === 0 || hour === 24) && minute === 0) return 'חצות';
  const hourOf = (h: number): string => hebrewCardinal(h % 12 === 0 ? 12 : h % 12, 'f') as string;
  let words: string;
  let partHour = hour;
  if (minute === 0) words = hourOf(hour);
  else if (minute === 15) words = `${hourOf(hour)} ורבע`;
  else if (minute === 30) words = `${hourOf(hour)} וחצי`;
  else if (minute === 45) {
    partHour = (hour + 1) % 24;
    words = `רבע ל${hourOf(hour + 1)}`;
  } else if (minute === 1) words = `${hourOf(hour)} ודקה`;
  else if (minute === 2) words = `${hourOf(hour)} ושתי דקות`;
  else if (minute < 10) words = `${hourOf(hour)} ו${hebrewCardinal(minute, 'f') as string} דקות`;
  else words = `${hourOf(hour)} ו${hebrewCardinal(minute, 'f') as string}`;
  return withPartOfDay ? `${words} ${partOfDay(partHour)}` : words;
}

const timeRule: Rule = {
  pattern: /(\d{1,2}):(\d{2})(?:\s?[-–]\s?(\d{1,2}):(\d{2}))?(?![\d:])/y,
  render(match, text) {
    const end = match.index + match[0].length;
    PART_OF_DAY_AFTER.lastIndex = end;
    const isPartNamed = PART_OF_DAY_AFTER.test(text);
    const first = clockWords(Number(match[1]), Number(match[2]), match[3] !== undefined || !isPartNamed);
    if (first === undefined) return undefined;
    if (match[3] === undefined) return { text: first, end };
    const second = clockWords(Number(match[3]), Number(match[4]), !isPartNamed);
    if (second === undefined) return undefined;
    return { text: `${first} עד ${second}`, end };
  },
};

const dateRule: Rule = {
  pattern: /(\d{1,2})([./])(\d{1,2})(?:\2(\d{4}|\d{2}))?(?!\d|[./]\d)/y,
  render(match) {
    const [, dayText, separator, monthText, yearText] = match;
    // 3.12 is a decimal; a dotted date has its year
    if (separator === '.' && yearText === undefined) return undefined;
    // "around the clock", not the 24th of July
    if (match[0] === '24/7') return { text: 'עשרים וארבע שבע', end: match.index + match[0].length };
    const day = Number(dayText);
    const month = Number(monthText);
    if (day < 1 || day > 31 || month < 1 || month > 12) return undefined;
    let words = `${hebrewCardinal(day, 'm') as string} ב${MONTHS[month - 1] as string}`;
    if (yearText !== undefined) {
      const year = yearText.length === 2 ? 2000 + Number(yearText) : Number(yearText);
      words += ` ${hebrewCardinal(year, 'f') as string}`;
    }
    return { text: words, end: match.index + match[0].length };
  },
};

const AMOUNT = String.raw`(\d{1,3}(?:,\d{3})+|\d{1,12})(?:\.(\d{1,2}))?(?!\d|[.,]\d)`;

function moneyWords(whole: string, fraction: string | undefined, symbol: string): string | undefined {
  const currency = CURRENCIES[currencyOf(symbol)] as { major: CountNoun; minor: CountNoun };
  const major = integerOf(whole);
  if (major === undefined) return undefined;
  const minor = fraction === undefined ? 0 : Number(fraction.padEnd(2, '0'));
  if (minor === 0) return countOf(major, currency.major);
  const minorWords = countOf(minor, currency.minor) as string;
  if (major === 0) return minorWords;
  const majorWords = countOf(major, currency.major);
  return majorWords === undefined ? undefined : `${majorWords} ו${minorWords}`;
}

const moneyBeforeRule: Rule = {
  pattern: new RegExp(String.raw`([₪$€])\s?${AMOUNT}`, 'y'),
  render(match) {
    const words = moneyWords(match[2] as string, match[3], match[1] as string);
    return words === undefined ? undefined : { text: words, end: match.index + match[0].length };
  },
};

const moneyAfterRule: Rule = {
  pattern: new RegExp(String.raw`${AMOUNT}\s?(₪|\$|€|ש["״]ח|שקלים|שקל|דולרים|דולר|אירו|יורו|NIS)(?![\p{L}"״])`, 'uy'),
  render(match) {
    const words = moneyWords(match[1] as string, match[2], match[3] as string);
    return words === undefined ? undefined : { text: words, end: match.index + match[0].length };
  },
};

const percentRule: Rule = {
  pattern: /(\d{1,3}(?:,\d{3})+|\d{1,12})(?:\.(\d{1,3}))?\s?%/y,
  render(match) {
    const whole = integerOf(match[1] as string);
    if (whole === undefined) return undefined;
    const end = match.index + match[0].length;
    if (match[2] === undefined) {
      const words = countOf(whole, PERCENT);
      return words === undefined ? undefined : { text: words, end };
    }
    return { text: `${hebrewCardinal(whole, 'm') as string} נקודה ${fractionWords(match[2])} אחוז`, end };
  },
};

// ---- plain numbers: their gender from the noun after them ----

const MASCULINE_NOUNS = new Set([
  'שקל', 'שקלים', 'דולר', 'דולרים', 'אירו', 'יורו', 'סנט', 'סנטים', 'אחוז', 'אחוזים', 'יום', 'ימים', 'שבוע', 'שבועות', 'חודש',
  'חודשים', 'מטר', 'מטרים', 'קילומטר', 'קילומטרים', 'ק"מ', 'ק״מ', 'קילו', 'גרם', 'ליטר', 'איש', 'אנשים', 'ילד', 'ילדים',
  'חדר', 'חדרים', 'מקום', 'מקומות', 'תשלום', 'תשלומים', 'פריט', 'פריטים', 'מוצר', 'מוצרים', 'לילה', 'לילות', 'שולחן',
  'שולחנות', 'סניף', 'סניפים', 'רחוב', 'רחובות', 'חשבון', 'חשבונות', 'כרטיס', 'כרטיסים', 'מספר', 'זוג', 'זוגות', 'כיסא', 'כיסאות',
]);
const FEMININE_NOUNS = new Set([
  'דקה', 'דקות', 'שעה', 'שעות', 'שנה', 'שנים', 'אגורה', 'אגורות', 'פעם', 'פעמים', 'שנייה', 'שניות', 'קומה', 'קומות', 'מנה',
  'מנות', 'יחידה', 'יחידות', 'נקודה', 'נקודות', 'כוס', 'כוסות', 'הזמנה', 'הזמנות', 'חבילה', 'חבילות', 'שיחה', 'שיחות',
  'ילדה', 'ילדות', 'נשים', 'אישה', 'מילים', 'ערים', 'ביצים',
]);

/** The gender a number takes from the word after it: a known noun's, else a plural's by its ending, else undefined. */
function genderOfNoun(word: string): Gender | undefined {
  if (MASCULINE_NOUNS.has(word)) return 'm';
  if (FEMININE_NOUNS.has(word)) return 'f';
  if (word.length >= 3 && word.endsWith('ים')) return 'm';
  if (word.length >= 3 && word.endsWith('ות')) return 'f';
  // a day of the month: 3 בדצמבר
  if (word.startsWith('ב') && MONTHS.includes(word.slice(1))) return 'm';
  return undefined;
}

const NEXT_WORD = /\s([\u05D0-\u05EA][\u05D0-\u05EA"״']*)/uy;

const numberRule: Rule = {
  pattern: /(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![.,]\d)/y,
  render(match, text): Rendered | undefined {
    const [whole, wholeDigits, fraction] = match as unknown as [string, string, string | undefined];
    const end = match.index + whole.length;
    const hasSeparators = wholeDigits.includes(',');
    // codes: a leading zero, or a long run without separators (an order or ID number), digit by digit in threes
    if (!hasSeparators && fraction === undefined && (wholeDigits.length >= MIN_CODE_DIGITS || (wholeDigits.length > 1 && wholeDigits.startsWith('0')))) {
      if (wholeDigits.length > MAX_CODE_DIGITS) return undefined;
      return { text: codeGroups(wholeDigits).map(hebrewDigits).join(', '), end };
    }
    const n = integerOf(wholeDigits);
    if (n === undefined || (fraction !== undefined && fraction.length > MAX_CODE_DIGITS)) return undefined;
    NEXT_WORD.lastIndex = end;
    const next = NEXT_WORD.exec(text);
    const noun = next?.[1];
    const gender: Gender = (noun !== undefined ? genderOfNoun(noun) : undefined) ?? 'f';
    if (fraction !== undefined) {
      const words = hebrewCardinal(n, gender);
      return words === undefined ? undefined : { text: `${words} נקודה ${fractionWords(fraction)}`, end };
    }
    if (noun !== undefined && next !== null && genderOfNoun(noun) !== undefined) {
      // one goes after its noun (יום אחד); two takes the construct form (שני ימים)
      if (n === 1) return { text: `${noun} ${gender === 'm' ? 'אחד' : 'אחת'}`, end: next.index + next[0].length };
      if (n === 2) return { text: twoBefore(gender), end };
    }
    const words = hebrewCardinal(n, gender);
    return words === undefined ? undefined : { text: words, end };
  },
};

const HEBREW_RULES: readonly Rule[] = [hebrewPhoneRule, timeRule, dateRule, moneyBeforeRule, moneyAfterRule, percentRule, numberRule];

/** A one-to-three-letter prefix written with a hyphen or maqaf before the number (ב-, ל-, וב-, מה-): joined. */
const HYPHENATED_PREFIX = /(^|[^\u05D0-\u05EA])([ובלמהכש]{1,3})[-־]$/u;

function joinHebrewPrefix(before: string): string {
  const tail = before.slice(-5);
  const match = HYPHENATED_PREFIX.exec(tail);
  // at the very start of a slice that is not the text's start, the character before is unknown: only a whole-slice
  // match (the prefix alone) or one with a non-letter before it counts
  if (match === null) return before;
  if (match[1] === '' && tail.length !== before.length) return before;
  return before.slice(0, -1);
}

/** The reply's text with its numbers written as a Hebrew speaker says them (see the top of this file). */
export function normalizeHebrew(text: string): string {
  return rewriteNumbers(text, HEBREW_RULES, joinHebrewPrefix);
}
