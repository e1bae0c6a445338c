// Owns "did you mean": the nearest names to a misspelt one, by edit distance.

export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** Up to `limit` candidates within a distance that scales with the name's length; ties by name. */
export function closestNames(name: string, candidates: Iterable<string>, limit = 5): string[] {
  const max = Math.max(2, Math.floor(name.length / 3));
  const scored: Array<[number, string]> = [];
  for (const c of candidates) {
    if (Math.abs(c.length - name.length) > max) continue;
    const d = editDistance(name, c);
    if (d <= max) scored.push([d, c]);
  }
  scored.sort((x, y) => x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0));
  return scored.slice(0, limit).map(([, c]) => c);
}

export function closestName(name: string, candidates: Iterable<string>): string | undefined {
  return closestNames(name, candidates, 1)[0];
}
