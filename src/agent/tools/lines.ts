// The lines the tool loop speaks itself, per language (the primary subtag of LANGUAGE; English when the language has
// none): the filler while a tool runs long, the goodbye of an end_call that gave none, the line before a transfer,
// and the apology when the model keeps calling tools past the turn's bound.

export interface ToolLines {
  filler: string;
  goodbye: string;
  transfer: string;
  tooManyRounds: string;
}

export const TOOL_LINES: Readonly<Record<string, ToolLines>> = {
  he: {
    filler: 'רק רגע, אני בודק.',
    goodbye: 'תודה שהתקשרת, להתראות.',
    transfer: 'אני מעביר אותך עכשיו, רק רגע.',
    tooManyRounds: 'סליחה, לא הצלחתי לבדוק את זה כרגע. אפשר לנסות שוב?',
  },
  en: {
    filler: 'One moment, let me check.',
    goodbye: 'Thank you for calling. Goodbye.',
    transfer: "I'm transferring you now, one moment.",
    tooManyRounds: "Sorry, I couldn't check that right now. Could we try again?",
  },
};

export function toolLinesFor(languageCode: string): ToolLines {
  const primary = languageCode.split('-')[0]?.toLowerCase() ?? 'en';
  return TOOL_LINES[primary] ?? (TOOL_LINES['en'] as ToolLines);
}
