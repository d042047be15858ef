import { describe, expect, it } from 'vitest';
import { RecentReads } from './recent-reads.ts';

/** A clock a second further on at every look: the intake cap never binds (tested on its own below). */
function ticking(): () => number {
  let ms = 0;
  return () => (ms += 1000);
}

/** A cache whose intake cap never binds, for the tests of everything else. */
const uncapped = (maxEntries: number): RecentReads => new RecentReads(maxEntries, ticking());

describe('RecentReads', () => {
  it('answers from the newest read of each key, absent keys included', () => {
    const recent = uncapped(100);
    recent.remember(['a', 'b'], [[1, 'a-old'], undefined]);
    recent.remember(
      ['a', 'c'],
      [
        [2, 'a-new'],
        [2, 'c'],
      ],
    );
    expect(recent.lookup(['c', 'a', 'b'])).toEqual([[2, 'c'], [2, 'a-new'], undefined]);
    expect(recent.size).toBe(4);
  });

  it('refuses a lookup when any key is unknown, rather than passing it off as absent', () => {
    const recent = uncapped(100);
    recent.remember(['a'], [[1]]);
    expect(recent.lookup(['a', 'zz'])).toBeUndefined();
    expect(uncapped(10).lookup(['a'])).toBeUndefined();
  });

  it('forgets the oldest reads past its bound of entries', () => {
    const recent = uncapped(4);
    recent.remember(['a', 'b'], [[1], [1]]);
    recent.remember(['c'], [[2]]);
    recent.remember(['d', 'e'], [[3], [3]]); // 5 entries > 4: the read of a, b goes
    expect(recent.size).toBe(3);
    expect(recent.lookup(['a'])).toBeUndefined();
    expect(recent.lookup(['c', 'd', 'e'])).toEqual([[2], [3], [3]]);
  });

  it('re-reading a key keeps it (LRU over reads)', () => {
    const recent = uncapped(3);
    recent.remember(['hot'], [[1]]);
    recent.remember(['x'], [[1]]);
    recent.remember(['hot'], [[2]]);
    recent.remember(['y'], [[1]]); // evicts the first read of hot, not hot itself
    expect(recent.lookup(['hot'])).toEqual([[2]]);
  });

  it('rebuilds its index after new reads; skips empty reads and reads larger than itself', () => {
    const recent = uncapped(2);
    recent.remember(['a'], [[1]]);
    expect(recent.lookup(['a'])).toEqual([[1]]);
    recent.remember(['a'], [[2]]);
    expect(recent.lookup(['a'])).toEqual([[2]]);
    recent.remember([], []);
    recent.remember(['p', 'q', 'r'], [[9], [9], [9]]);
    expect(recent.size).toBe(2);
    expect(recent.lookup(['p'])).toBeUndefined();
  });

  it('keeps its own copy of the keys', () => {
    const recent = uncapped(10);
    const keys = ['a'];
    recent.remember(keys, [[1]]);
    keys[0] = 'b';
    expect(recent.lookup(['a'])).toEqual([[1]]);
  });

  it('takes in at most maxEntries entries a second, so a busy cache does not turn over faster', () => {
    let nowMs = 0;
    const recent = new RecentReads(4, () => nowMs);
    for (const key of ['a', 'b', 'c', 'd']) recent.remember([key], [[1]]);
    recent.remember(['e'], [[1]]); // the second's allowance is spent: not kept
    expect(recent.lookup(['a', 'b', 'c', 'd'])).toEqual([[1], [1], [1], [1]]);
    expect(recent.lookup(['e'])).toBeUndefined();

    nowMs = 500; // half a second refills half the allowance: two entries
    recent.remember(['f', 'g', 'h'], [[2], [2], [2]]); // three: not kept
    recent.remember(['f', 'g'], [[2], [2]]);
    recent.remember(['h'], [[2]]);
    expect(recent.lookup(['f', 'g'])).toEqual([[2], [2]]);
    expect(recent.lookup(['h'])).toBeUndefined();
    expect(recent.size).toBe(4); // a and b made room for f and g

    nowMs = 10_000; // a long pause refills to maxEntries, not beyond
    for (const key of ['i', 'j', 'k', 'l', 'm']) recent.remember([key], [[3]]);
    expect(recent.lookup(['i', 'j', 'k', 'l'])).toEqual([[3], [3], [3], [3]]);
    expect(recent.lookup(['m'])).toBeUndefined();
  });
});
