import { describe, expect, it } from 'vitest';
import { MIN_POOLED_BYTES, ResponseBuffers } from './response-buffers.ts';

describe('ResponseBuffers', () => {
  it('hands a released body’s memory to the next body of its size class', () => {
    const pool = new ResponseBuffers();
    const first = pool.acquire(MIN_POOLED_BYTES + 10);
    expect(first.length).toBe(MIN_POOLED_BYTES + 10);
    expect(pool.owns(first)).toBe(true);
    expect(pool.owns(Buffer.alloc(MIN_POOLED_BYTES + 10))).toBe(false);
    pool.release(first);
    const second = pool.acquire(MIN_POOLED_BYTES + 500); // same power-of-two class
    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(MIN_POOLED_BYTES + 500);
    expect(pool.reused).toBe(1);
  });

  it('never gives one memory to two bodies at once', () => {
    const pool = new ResponseBuffers();
    const a = pool.acquire(40_000);
    const b = pool.acquire(40_000);
    expect(b.buffer).not.toBe(a.buffer);
    pool.release(a);
    pool.release(a); // a second release of the same body must not make it free twice
    const c = pool.acquire(40_000);
    const d = pool.acquire(40_000);
    expect(c.buffer).toBe(a.buffer);
    expect(d.buffer).not.toBe(a.buffer);
  });

  it('leaves small, huge and foreign buffers alone', () => {
    const pool = new ResponseBuffers();
    const small = pool.acquire(100);
    const huge = pool.acquire(2 * 1024 * 1024);
    pool.release(small);
    pool.release(huge);
    pool.release(Buffer.alloc(40_000));
    expect(pool.acquire(40_000).buffer.byteLength).toBe(65_536);
    expect(pool.reused).toBe(0);
  });
});
