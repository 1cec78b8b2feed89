/** "Did you mean `tunnel status`?" for a mistyped command word. */

/** Edit distance where swapping two neighbouring letters counts once (`stauts` → `status` is 1). */
export function typoDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const d: number[][] = Array.from({ length: s.length + 1 }, (_, i) =>
    Array.from({ length: t.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => d[i]?.[j] ?? 0;
  for (let i = 1; i <= s.length; i++) {
    const row = d[i];
    if (row === undefined) continue;
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      row[j] = v;
    }
  }
  return at(s.length, t.length);
}

/**
 * The command `word` was probably meant to be, or undefined. Short words must be one typo away
 * (`dmeo`), longer ones two (`tragets`), so a target name like `db` is not taken for `ls`.
 */
export function suggestCommand(word: string, commands: readonly string[]): string | undefined {
  if (word.length < 2 || word.includes(':') || commands.includes(word)) return undefined;
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of commands) {
    const dist = typoDistance(word, c);
    if (dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  if (best === undefined) return undefined;
  const limit = Math.min(word.length, best.length) <= 4 ? 1 : 2;
  if (bestDistance <= limit && bestDistance < Math.min(word.length, best.length)) return best;
  // A prefix of a command (`targ`, `comp`) is also a likely slip.
  const prefixed = commands.filter((c) => word.length >= 3 && c.startsWith(word.toLowerCase()));
  return prefixed.length === 1 ? prefixed[0] : undefined;
}
