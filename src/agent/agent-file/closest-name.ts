// The known name a mistyped one most resembles (greting -> greeting, timeout -> timeoutMs), for error messages that
// point at the typo. Case and separators are ignored; a name is "close" within about a third of its length in edits.

/** Levenshtein distance (insertions, deletions and substitutions, each 1). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

const squash = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');

/** The closest of `known` to `name`, or undefined when none is close (a long unknown key gets no wild guess). */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const target = squash(name.slice(0, 200));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const squashed = squash(candidate);
    // a prefix counts as close: timeout for timeoutMs, instruction for instructions
    const distance = squashed.startsWith(target) && target.length >= 4 ? 1 : editDistance(target, squashed);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const limit = Math.max(1, Math.ceil(Math.max(target.length, 3) / 3));
  return bestDistance <= limit ? best : undefined;
}
