// The scan both languages' normalisers share: one pass over the text, and at each place a number-like token can start
// (a digit, or + ₪ $ € in front of one) an ordered list of rules is tried, each a sticky regular expression with a
// fixed or bounded shape (no nested repetition: matching is linear in the text) and a renderer that may still decline.
// The first rule that renders wins, and the scan goes on after what it consumed; where none does, the run of
// digits and separators is copied as it is. A token glued to Latin letters or other digits (A320, mp3, 4K) is
// never touched. So any input costs one pass, and its output is at most a small multiple of its length.

export interface Rendered {
  /** What the TTS reads instead. */
  text: string;
  /** Where the scan goes on (an index into the whole text, after the match and anything the renderer took too). */
  end: number;
}

export interface Rule {
  /** A sticky (`y`) expression, tried at the token's start. */
  pattern: RegExp;
  /** The spoken form of a match, or undefined to let the next rule try. `text` is the whole input. */
  render(match: RegExpExecArray, text: string): Rendered | undefined;
}

/** Where a token may start: a digit, or a sign or currency symbol right before one. */
const TOKEN_START = /[+₪$€]\s?\d|\d/g;
/** A run copied as it is when no rule takes it (so that its tail is not read as a token of its own). */
const PLAIN_RUN = /[\d.,:/\-]*\d|\d/y;
const LATIN_OR_DIGIT = /[A-Za-z0-9_]/;

export function rewriteNumbers(text: string, rules: readonly Rule[], joinPrefix?: (before: string) => string): string {
  const out: string[] = [];
  let copiedTo = 0;
  TOKEN_START.lastIndex = 0;
  for (let found = TOKEN_START.exec(text); found !== null; found = TOKEN_START.exec(text)) {
    const start = found.index;
    const previous = start > 0 ? (text[start - 1] as string) : '';
    if (LATIN_OR_DIGIT.test(previous)) {
      // inside a word or a longer token: skip the rest of its digits
      TOKEN_START.lastIndex = skipDigits(text, start);
      continue;
    }
    let rendered: Rendered | undefined;
    for (const rule of rules) {
      rule.pattern.lastIndex = start;
      const match = rule.pattern.exec(text);
      if (match === null) continue;
      const end = match.index + match[0].length;
      // a token glued to letters or digits after it is not ours (3G, 4K, 10x)
      if (end < text.length && LATIN_OR_DIGIT.test(text[end] as string)) continue;
      rendered = rule.render(match, text);
      if (rendered !== undefined) break;
    }
    if (rendered === undefined) {
      PLAIN_RUN.lastIndex = start;
      const run = PLAIN_RUN.exec(text);
      TOKEN_START.lastIndex = run !== null ? start + run[0].length : start + 1;
      continue;
    }
    const before = text.slice(copiedTo, start);
    out.push(joinPrefix !== undefined ? joinPrefix(before) : before, rendered.text);
    copiedTo = rendered.end;
    TOKEN_START.lastIndex = rendered.end;
  }
  if (copiedTo === 0) return text;
  out.push(text.slice(copiedTo));
  return out.join('');
}

function skipDigits(text: string, from: number): number {
  let i = from;
  while (i < text.length && LATIN_OR_DIGIT.test(text[i] as string)) i++;
  return i;
}

/** The digit groups of a phone-number-like token: "050-123 4567" -> ["050", "123", "4567"]. */
export function digitGroups(raw: string): string[] {
  return raw.split(/[^\d]+/).filter((group) => group.length > 0);
}

export type PhoneKind = 'domestic' | 'international' | 'national-service';

/**
 * Whether a token is a phone number, and which kind: an Israeli number (0 and 9 or 10 digits), a 1-800 style
 * national number (1-800/1-700/1-599 and 10 digits in all), or an international one (+ and 8 to 15 digits).
 * Undefined for anything else (a sum, a year, a list of numbers).
 */
export function phoneKind(raw: string): PhoneKind | undefined {
  const digits = digitGroups(raw).join('');
  if (raw.trimStart().startsWith('+')) return digits.length >= 8 && digits.length <= 15 ? 'international' : undefined;
  if (digits.startsWith('0') && !digits.startsWith('00') && (digits.length === 9 || digits.length === 10)) return 'domestic';
  if (/^1(?:800|801|809|700|599)\d{6}$/.test(digits)) return 'national-service';
  return undefined;
}

/**
 * How a phone number is grouped for reading: the writer's groups when there are several (a group of 6 to 8 digits
 * split in two), else 0X-XXX-XXXX / 0XX-XXX-XXXX, +972 X(X)-XXX-XXXX, 1-800-XXX-XXX, or threes for any other.
 */
export function phoneGroups(raw: string, kind: PhoneKind): string[] {
  const written = digitGroups(raw);
  if (written.length > 1) {
    // 6 -> 3 + 3, 7 -> 3 + 4, 8 -> 4 + 4
    return written.flatMap((group) => {
      if (group.length < 6) return [group];
      const split = group.length === 7 ? 3 : group.length / 2;
      return [group.slice(0, split), group.slice(split)];
    });
  }
  const digits = written[0] ?? '';
  if (kind === 'domestic') return israeliGroups(digits);
  if (kind === 'national-service') return [digits.slice(0, 1), digits.slice(1, 4), digits.slice(4, 7), digits.slice(7)];
  if (digits.startsWith('972') && (digits.length === 11 || digits.length === 12)) return ['972', ...israeliGroups(digits.slice(3))];
  return codeGroups(digits);
}

/** An Israeli number without separators: the area or mobile prefix, then 3 + 4 digits. */
function israeliGroups(digits: string): string[] {
  const prefix = digits.length - 7;
  return [digits.slice(0, prefix), digits.slice(prefix, prefix + 3), digits.slice(prefix + 3)];
}

/**
 * A phone number as the writer grouped it: groups separated by one dash or space, at most 6 groups of at most 15
 * digits (a whole number without separators is one group), so that a long run of numbers is never taken for one.
 */
export const PHONE_PATTERN = /\+?\s?\d{1,15}(?:[-\s]\d{1,15}){0,5}(?!\d)/y;

/** Digits read in threes, the last group of four rather than leave one digit alone (1234567 -> 123 4567). */
export function codeGroups(digits: string): string[] {
  const groups: string[] = [];
  for (let i = 0; i < digits.length; i += 3) {
    const take = digits.length - i === 4 ? 4 : 3;
    groups.push(digits.slice(i, i + take));
    if (take === 4) break;
  }
  return groups;
}

/**
 * The longest phone number at the start of `candidate` (a PHONE_PATTERN match): the whole match, else the match less
 * its last groups (a number followed by another number, "050-1234567 10 דקות"). Undefined when no prefix is a number.
 */
export function longestPhone(candidate: string): { raw: string; kind: PhoneKind } | undefined {
  let raw = candidate;
  for (let tries = 0; tries < 6; tries++) {
    const kind = phoneKind(raw);
    if (kind !== undefined) return { raw, kind };
    const cut = Math.max(raw.lastIndexOf(' '), raw.lastIndexOf('-'));
    if (cut <= 0) return undefined;
    raw = raw.slice(0, cut).trimEnd();
  }
  return undefined;
}

/**
 * The phone-number rule in a language's words: digit by digit in the number's groups, the second group of a
 * national service number (1-800) as one number, a leading + as `plus`.
 */
export function phoneRule(words: { digits(group: string): string; serviceNumber(group: string): string; plus: string }): Rule {
  return {
    pattern: PHONE_PATTERN,
    render(match) {
      const phone = longestPhone(match[0]);
      if (phone === undefined) return undefined;
      const groups = phoneGroups(phone.raw, phone.kind);
      const spoken = phone.kind === 'national-service'
        ? [`${words.digits(groups[0] ?? '')} ${words.serviceNumber(groups[1] ?? '')}`, ...groups.slice(2).map(words.digits)]
        : groups.map(words.digits);
      const plus = phone.raw.trimStart().startsWith('+') ? `${words.plus} ` : '';
      return { text: plus + spoken.join(', '), end: match.index + phone.raw.length };
    },
  };
}
