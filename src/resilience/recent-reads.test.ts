import { describe, expect, it } from 'vitest';
import { RecentReads } from './recent-reads.ts';

describe('RecentReads', () => {
  it('answers from the newest read of each key, absent keys included', () => {
    const recent = new RecentReads(100);
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
    const recent = new RecentReads(100);
    recent.remember(['a'], [[1]]);
    expect(recent.lookup(['a', 'zz'])).toBeUndefined();
    expect(new RecentReads(10).lookup(['a'])).toBeUndefined();
  });

  it('forgets the oldest reads past its bound of entries', () => {
    const recent = new RecentReads(4);
    recent.remember(['a', 'b'], [[1], [1]]);
    recent.remember(['c'], [[2]]);
    recent.remember(['d', 'e'], [[3], [3]]); // 5 entries > 4: the read of a, b goes
    expect(recent.size).toBe(3);
    expect(recent.lookup(['a'])).toBeUndefined();
    expect(recent.lookup(['c', 'd', 'e'])).toEqual([[2], [3], [3]]);
  });

  it('re-reading a key keeps it (LRU over reads)', () => {
    const recent = new RecentReads(3);
    recent.remember(['hot'], [[1]]);
    recent.remember(['x'], [[1]]);
    recent.remember(['hot'], [[2]]);
    recent.remember(['y'], [[1]]); // evicts the first read of hot, not hot itself
    expect(recent.lookup(['hot'])).toEqual([[2]]);
  });

  it('rebuilds its index after new reads; skips empty reads and reads larger than itself', () => {
    const recent = new RecentReads(2);
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
    const recent = new RecentReads(10);
    const keys = ['a'];
    recent.remember(keys, [[1]]);
    keys[0] = 'b';
    expect(recent.lookup(['a'])).toEqual([[1]]);
  });
});
