/** "Did you mean …?" suggestions for misspelt keys and names. */

/** Levenshtein distance, case-insensitive (config keys are camelCase; typos often differ only in case). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const cur = [i];
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
    }
    prev = cur;
  }
  return prev[t.length] ?? 0;
}

/**
 * The candidate closest to `word`, or undefined when nothing is reasonably close
 * (more than a third of the word would have to change).
 */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.max(2, Math.ceil(Math.max(word.length, best.length) / 3));
  return bestDistance <= limit ? best : undefined;
}

/** `did you mean "x"?` or a fallback text. */
export function didYouMean(word: string, candidates: Iterable<string>, fallback?: string): string | undefined {
  // A very long word is no typo of a name; comparing it would cost length × candidates.
  const c = word.length > 100 ? undefined : closest(word, candidates);
  return c !== undefined ? `did you mean "${c}"?` : fallback;
}
