import { describe, expect, it } from 'vitest';
import { RingBuffer } from './ring-buffer.ts';

describe('RingBuffer', () => {
  it('is FIFO across wrap-around and growth', () => {
    const ring = new RingBuffer<number>(2);
    const expected: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < (round % 7) + 1; i++) {
        ring.push(next);
        expected.push(next++);
      }
      for (let i = 0; i < round % 5; i++) expect(ring.shift()).toBe(expected.shift());
      expect(ring.length).toBe(expected.length);
      for (let i = 0; i < expected.length; i++) expect(ring.at(i)).toBe(expected[i]);
    }
    expect(ring.peek()).toBe(expected[0]);
  });

  it('returns undefined when empty', () => {
    const ring = new RingBuffer<string>();
    expect(ring.shift()).toBeUndefined();
    expect(ring.peek()).toBeUndefined();
    ring.push('a');
    expect(ring.shift()).toBe('a');
    expect(ring.length).toBe(0);
  });
});

describe('RingBuffer.removeWhere', () => {
  it('removes the selected items across the wrap-around, keeping the order of the rest', () => {
    const ring = new RingBuffer<number>(8);
    for (let i = 0; i < 6; i++) ring.push(i);
    for (let i = 0; i < 5; i++) ring.shift(); // head at index 5: the next pushes wrap around
    for (let i = 6; i < 12; i++) ring.push(i);
    const removed: number[] = [];
    ring.removeWhere(
      (n) => n % 3 === 0,
      (n) => removed.push(n),
    );
    expect(removed).toEqual([6, 9]);
    expect(Array.from({ length: ring.length }, (_, i) => ring.at(i))).toEqual([5, 7, 8, 10, 11]);
    ring.push(12);
    expect(ring.shift()).toBe(5);
    expect(ring.length).toBe(5);
  });

  it('can empty the buffer, and removes nothing when nothing matches', () => {
    const ring = new RingBuffer<string>(4);
    ring.push('a');
    ring.push('b');
    ring.removeWhere(
      () => false,
      () => undefined,
    );
    expect(ring.length).toBe(2);
    ring.removeWhere(
      () => true,
      () => undefined,
    );
    expect(ring.length).toBe(0);
    expect(ring.peek()).toBeUndefined();
  });
});
