import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { chunkGroups, groupBySlot } from './slot-groups.ts';

describe('groupBySlot', () => {
  it('groups by Redis Cluster hash slot, keeping input positions and order', () => {
    // {user} is a hash tag: both keys share the slot of "user"; "a" and "b" differ from it.
    const keys = ['{user}:1', 'a', '{user}:2', 'b', 'a'];
    const groups = groupBySlot(keys, (k) => k);
    expect(groups.map((g) => g.items)).toEqual([['{user}:1', '{user}:2'], ['a', 'a'], ['b']]);
    expect(groups.map((g) => g.positions)).toEqual([[0, 2], [1, 4], [3]]);
    expect(groups.map((g) => g.slot)).toEqual([
      calculateSlot('user'),
      calculateSlot('a'),
      calculateSlot('b'),
    ]);
    // The examples of Redis' own CLUSTER KEYSLOT documentation.
    expect(calculateSlot('somekey')).toBe(11058);
    expect(calculateSlot('foo{hash_tag}')).toBe(2515);
  });
});

describe('chunkGroups', () => {
  it('splits groups into chunks of at most `size`, in order, never mixing slots', () => {
    const items = Array.from({ length: 7 }, (_, i) => ({ key: '{same}', n: i }));
    const chunks = chunkGroups(
      groupBySlot([...items, { key: 'other', n: 99 }], (x) => x.key),
      3,
    );
    expect(chunks.map((c) => c.items.map((x) => x.n))).toEqual([[0, 1, 2], [3, 4, 5], [6], [99]]);
    expect(chunks.map((c) => c.positions)).toEqual([[0, 1, 2], [3, 4, 5], [6], [7]]);
  });
});
