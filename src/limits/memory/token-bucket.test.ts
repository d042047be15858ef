import { describe, expect, it } from 'vitest';
import { runRateLimiterContract } from '../rate-limiter.contract.ts';
import { MemoryRateLimiter } from './token-bucket.ts';

/** A monotonic clock that moves only when told. */
class FakeClock {
  ms = 1_000;
  readonly now = (): number => this.ms;
  readonly pass = (ms: number): Promise<void> => {
    this.ms += ms;
    return Promise.resolve();
  };
}

runRateLimiterContract('memory', async (options) => {
  const clock = new FakeClock();
  const limiter = new MemoryRateLimiter({ ...options, clock: clock.now });
  return { limiters: [limiter, limiter], pass: clock.pass, cleanup: () => limiter.close() };
});

describe('MemoryRateLimiter', () => {
  it('answers synchronously', () => {
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 1, burst: 1 });
    const result = limiter.take('a');
    expect(result).not.toBeInstanceOf(Promise);
    expect(result.allowed).toBe(true);
  });

  it('computes retryAfterS and resetS exactly from the clock', () => {
    const clock = new FakeClock();
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 4, burst: 2, clock: clock.now });
    expect(limiter.take('a')).toEqual({
      allowed: true,
      remaining: 1,
      limit: 2,
      resetS: 0.25,
      retryAfterS: 0,
    });
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 0, limit: 2, resetS: 0.5, retryAfterS: 0 });
    expect(limiter.take('a')).toEqual({
      allowed: false,
      remaining: 0,
      limit: 2,
      resetS: 0.5,
      retryAfterS: 0.25,
    });
    clock.ms += 125; // half a token
    expect(limiter.take('a')).toEqual({
      allowed: false,
      remaining: 0,
      limit: 2,
      resetS: 0.375,
      retryAfterS: 0.125,
    });
    clock.ms += 124; // one ms short of a token
    expect(limiter.take('a').allowed).toBe(false);
    clock.ms += 1;
    expect(limiter.take('a')).toEqual({ allowed: true, remaining: 0, limit: 2, resetS: 0.5, retryAfterS: 0 });
  });

  it('refills fractionally and in proportion to the time passed', () => {
    const clock = new FakeClock();
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 1000, burst: 100, clock: clock.now });
    for (let i = 0; i < 100; i++) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    clock.ms += 10; // 10 tokens
    let allowed = 0;
    while (limiter.take('a').allowed) allowed++;
    expect(allowed).toBe(10);
  });

  it('refills nothing when the clock does not move or goes back', () => {
    const clock = new FakeClock();
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 1, burst: 1, clock: clock.now });
    limiter.take('a');
    clock.ms -= 5_000;
    expect(limiter.take('a').allowed).toBe(false);
    clock.ms += 5_000;
    expect(limiter.take('a').allowed).toBe(false);
    clock.ms += 1_000;
    expect(limiter.take('a').allowed).toBe(true);
  });

  it('keeps at most maxBuckets subjects under a flood of distinct ones', () => {
    const clock = new FakeClock();
    const limiter = new MemoryRateLimiter({
      tokensPerSecond: 0.01,
      burst: 5,
      maxBuckets: 1_000,
      clock: clock.now,
    });
    let refused = 0;
    let maxSize = 0;
    for (let i = 0; i < 50_000; i++) {
      clock.ms += 0.01;
      if (!limiter.take(`10.0.${i >> 8}.${i & 255}`).allowed) refused++;
      maxSize = Math.max(maxSize, limiter.size);
    }
    expect(refused).toBe(0); // each subject is new: a fresh bucket
    expect(maxSize).toBe(1_000);
  });

  it('evicts full buckets first: their subjects lose nothing', () => {
    const clock = new FakeClock();
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 10, burst: 2, maxBuckets: 4, clock: clock.now });
    // "busy" is in debt and stays so; three others fill up again while time passes.
    for (const s of ['busy', 'x', 'y', 'z']) limiter.take(s);
    limiter.take('busy');
    clock.ms += 150; // x, y, z are full again (1.5 tokens back, capped at 2); busy has 1.5
    limiter.take('new');
    expect(limiter.size).toBe(2); // busy and new
    expect(limiter.take('busy')).toMatchObject({ allowed: true, remaining: 0 }); // its debt was kept
  });

  it('when every bucket is in debt, drops the least recently used ones', () => {
    const clock = new FakeClock();
    const limiter = new MemoryRateLimiter({
      tokensPerSecond: 0.001,
      burst: 1,
      maxBuckets: 8,
      clock: clock.now,
    });
    for (let i = 0; i < 8; i++) {
      limiter.take(`s${i}`);
      clock.ms += 1;
    }
    limiter.take('s0'); // s0 is now the most recently used (still in debt)
    clock.ms += 1;
    limiter.take('new'); // drops one eighth: s1, the least recently used
    expect(limiter.size).toBe(8);
    expect(limiter.take('s0').allowed).toBe(false);
    expect(limiter.take('s2').allowed).toBe(false);
    expect(limiter.take('s1').allowed).toBe(true); // forgotten, so full again
  });

  it('fails with QUIVER_ERR_CLOSED after close()', async () => {
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 1, burst: 1 });
    await limiter.close();
    expect(() => limiter.take('a')).toThrow(expect.objectContaining({ code: 'QUIVER_ERR_CLOSED' }));
  });

  it('rejects impossible parameters', () => {
    expect(() => new MemoryRateLimiter({ tokensPerSecond: 0, burst: 1 })).toThrow(RangeError);
    expect(() => new MemoryRateLimiter({ tokensPerSecond: 1, burst: 0.5 })).toThrow(RangeError);
  });
});
