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
