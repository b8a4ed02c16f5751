// Hebrew number words, as a speaker says them: cardinals in either gender (feminine is the counting form, used for a
// bare number, digits and clock hours; masculine goes with masculine nouns such as שקל or אחוז), with the conjunction
// ו before the last element (מאה עשרים וחמש, אלפיים ושלוש מאות), the dual and construct forms of hundreds and
// thousands (מאתיים, אלפיים, שלושת אלפים), and the masculine count in front of אלף, מיליון and מיליארד from 11 up
// (אחד עשר אלף). Whole numbers up to MAX_SPOKEN_INTEGER only: the caller leaves anything larger as digits.

export type Gender = 'f' | 'm';

/** The largest whole number read as words (999,999,999,999); anything larger stays as digits. */
export const MAX_SPOKEN_INTEGER = 999_999_999_999;

const UNITS: Record<Gender, readonly string[]> = {
  f: ['אפס', 'אחת', 'שתיים', 'שלוש', 'ארבע', 'חמש', 'שש', 'שבע', 'שמונה', 'תשע'],
  m: ['אפס', 'אחד', 'שניים', 'שלושה', 'ארבעה', 'חמישה', 'שישה', 'שבעה', 'שמונה', 'תשעה'],
};
/** 10 to 19. */
const TEENS: Record<Gender, readonly string[]> = {
  f: ['עשר', 'אחת עשרה', 'שתים עשרה', 'שלוש עשרה', 'ארבע עשרה', 'חמש עשרה', 'שש עשרה', 'שבע עשרה', 'שמונה עשרה', 'תשע עשרה'],
  m: ['עשרה', 'אחד עשר', 'שנים עשר', 'שלושה עשר', 'ארבעה עשר', 'חמישה עשר', 'שישה עשר', 'שבעה עשר', 'שמונה עשר', 'תשעה עשר'],
};
const TENS = ['', '', 'עשרים', 'שלושים', 'ארבעים', 'חמישים', 'שישים', 'שבעים', 'שמונים', 'תשעים'];
const HUNDREDS = ['', 'מאה', 'מאתיים', 'שלוש מאות', 'ארבע מאות', 'חמש מאות', 'שש מאות', 'שבע מאות', 'שמונה מאות', 'תשע מאות'];
/** 1000 to 10000 in thousands: their own forms (dual, construct + אלפים). */
const SMALL_THOUSANDS = ['', 'אלף', 'אלפיים', 'שלושת אלפים', 'ארבעת אלפים', 'חמשת אלפים', 'ששת אלפים', 'שבעת אלפים', 'שמונת אלפים', 'תשעת אלפים', 'עשרת אלפים'];

/** The digit words (feminine: how digits are read one by one, as in a phone number). */
export const DIGIT_WORDS: readonly string[] = UNITS.f;

/** The construct form of 2 in front of a noun: שני שקלים, שתי דקות. */
export function twoBefore(gender: Gender): string {
  return gender === 'm' ? 'שני' : 'שתי';
}

/** 1..999 as its elements, before the conjunction is placed: [מאה, עשרים, חמש]. */
function elementsBelow1000(n: number, gender: Gender): string[] {
  const elements: string[] = [];
  const hundreds = Math.floor(n / 100);
  const rest = n % 100;
  if (hundreds > 0) elements.push(HUNDREDS[hundreds] as string);
  if (rest >= 10 && rest < 20) {
    elements.push(TEENS[gender][rest - 10] as string);
  } else {
    const tens = Math.floor(rest / 10);
    const units = rest % 10;
    if (tens > 0) elements.push(TENS[tens] as string);
    if (units > 0) elements.push(UNITS[gender][units] as string);
  }
  return elements;
}

/**
 * Joins elements with ו before the last one (עשרים ואחת, אלף ומאה), unless that last element already has its own
 * (מיליון מאתיים וחמישים אלף, not מיליון ומאתיים וחמישים אלף).
 */
function joinElements(elements: readonly string[]): string {
  if (elements.length <= 1) return elements[0] ?? '';
  const last = elements[elements.length - 1] as string;
  const conjoined = last.includes(' ו') ? last : `ו${last}`;
  return [...elements.slice(0, -1), conjoined].join(' ');
}

/** A count of thousands, millions or billions: 1 and 2 have their own forms, the rest is the masculine count + the word. */
function scaleElement(count: number, one: string, two: string, word: string): string {
  if (count === 1) return one;
  if (count === 2) return two;
  return `${joinElements(elementsBelow1000(count, 'm'))} ${word}`;
}

/**
 * `n` (a whole number from 0 to MAX_SPOKEN_INTEGER) in Hebrew words; the gender is that of the last element (the
 * units), as the noun counted requires: 21 f עשרים ואחת, m עשרים ואחד. Undefined for anything else.
 */
export function hebrewCardinal(n: number, gender: Gender): string | undefined {
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SPOKEN_INTEGER) return undefined;
  if (n === 0) return UNITS[gender][0];
  const billions = Math.floor(n / 1e9);
  const millions = Math.floor(n / 1e6) % 1000;
  const thousands = Math.floor(n / 1000) % 1000;
  const rest = n % 1000;
  const elements: string[] = [];
  if (billions > 0) elements.push(scaleElement(billions, 'מיליארד', 'שני מיליארד', 'מיליארד'));
  if (millions > 0) elements.push(scaleElement(millions, 'מיליון', 'שני מיליון', 'מיליון'));
  if (thousands > 0) {
    elements.push(thousands <= 10 ? (SMALL_THOUSANDS[thousands] as string) : `${joinElements(elementsBelow1000(thousands, 'm'))} אלף`);
  }
  if (rest > 0) elements.push(...elementsBelow1000(rest, gender));
  return joinElements(elements);
}

/** Digits read one by one (feminine digit words): "050" -> אפס חמש אפס. Non-digits are skipped. */
export function hebrewDigits(digits: string): string {
  const words: string[] = [];
  for (const ch of digits) {
    const d = ch.charCodeAt(0) - 48;
    if (d >= 0 && d <= 9) words.push(DIGIT_WORDS[d] as string);
  }
  return words.join(' ');
}
