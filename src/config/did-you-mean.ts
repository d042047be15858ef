/**
 * "Did you mean …?" for names a person typed: config keys, views, services, models, CLI arguments.
 * The closest candidate by edit distance (a swap of two neighbours counts as one edit), if it is
 * close enough to be a likely typo: at most a third of the name's length, and at least 1 edit.
 *
 * @example
 *   didYouMean('ttlSecond', ['ttlSeconds', 'schema']); // 'ttlSeconds'
 */
export function didYouMean(name: string, candidates: Iterable<string>): string | undefined {
  const lower = name.toLowerCase();
  const budget = Math.max(1, Math.floor(name.length / 3));
  let best: string | undefined;
  let bestDistance = budget + 1;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const d = editDistance(lower, candidate.toLowerCase(), bestDistance);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** Optimal string alignment distance; returns `limit` as soon as it cannot be below it. */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) >= limit) return limit;
  let before = new Array<number>(b.length + 1).fill(0);
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, before[j - 2]! + 1);
      current[j] = d;
      if (d < rowMin) rowMin = d;
    }
    if (rowMin >= limit) return limit;
    [before, previous, current] = [previous, current, before];
  }
  return Math.min(previous[b.length]!, limit);
}

/** An unknown name's error details: the valid names, and the likely intended one when there is one. */
// A type, not an interface, so that it fits errors' `details` (a record type).
export type Suggestion = { readonly available: string[]; readonly didYouMean?: string };

export function suggestion(name: string, names: Iterable<string>): Suggestion {
  const available = [...names].filter((n) => n !== name);
  const guess = didYouMean(name, available);
  return guess === undefined ? { available } : { available, didYouMean: guess };
}
