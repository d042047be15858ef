/**
 * The behaviour every RateLimiter implementation must show. Each implementation's test file calls
 * runRateLimiterContract with a factory giving fresh limiters (fresh buckets) per test.
 *
 * Time: the memory limiter runs on a fake clock that `pass()` advances at once; Redis uses its own
 * server clock, so `pass()` really waits. Cases are written to hold either way: a refill is awaited
 * for at least the time the limiter itself announced, and no case depends on time NOT passing
 * beyond what the rates allow (rates are low enough that a loaded machine cannot refill a token
 * between two consecutive calls).
 *
 * @example
 *   runRateLimiterContract('memory', async (options) => {
 *     const clock = new FakeClock();
 *     const limiter = new MemoryRateLimiter({ ...options, clock: clock.now });
 *     return { limiters: [limiter, limiter], pass: clock.pass, cleanup: () => limiter.close() };
 *   });
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimiter, RateLimiterOptions, TakeResult } from './rate-limiter.ts';

export interface RateLimiterSubject {
  /** Two limiters over one shared budget (two connections for Redis; the same object in memory). */
  readonly limiters: readonly [RateLimiter, RateLimiter];
  /** Lets `ms` of the limiter's clock pass. */
  pass(ms: number): Promise<void>;
  /** Closes the limiters and removes what they stored. */
  cleanup(): Promise<void>;
}

export function runRateLimiterContract(
  name: string,
  make: (options: RateLimiterOptions) => Promise<RateLimiterSubject>,
): void {
  describe(`RateLimiter contract: ${name}`, () => {
    const subjects: RateLimiterSubject[] = [];
    const open = async (options: RateLimiterOptions): Promise<RateLimiterSubject> => {
      const subject = await make(options);
      subjects.push(subject);
      return subject;
    };
    afterEach(async () => {
      await Promise.all(subjects.splice(0).map((s) => s.cleanup()));
    });
    const take = async (limiter: RateLimiter, subject: string): Promise<TakeResult> => limiter.take(subject);

    it('allows a burst of `burst` takes, counting down, then refuses', async () => {
      const { limiters } = await open({ tokensPerSecond: 2, burst: 3 });
      const [limiter] = limiters;
      const results = [await take(limiter, 'a'), await take(limiter, 'a'), await take(limiter, 'a')];
      expect(results.map((r) => [r.allowed, r.remaining, r.limit, r.retryAfterS])).toEqual([
        [true, 2, 3, 0],
        [true, 1, 3, 0],
        [true, 0, 3, 0],
      ]);
      const refused = await take(limiter, 'a');
      expect(refused.allowed).toBe(false);
      expect(refused.remaining).toBe(0);
      expect(refused.limit).toBe(3);
      // Less than one token is back, so the wait is in (0, 1 / rate].
      expect(refused.retryAfterS).toBeGreaterThan(0);
      expect(refused.retryAfterS).toBeLessThanOrEqual(0.5);
      // Nearly three tokens missing: about burst / rate until full.
      expect(refused.resetS).toBeGreaterThan(1);
      expect(refused.resetS).toBeLessThanOrEqual(1.5);
    });

    it('refills at tokensPerSecond: allowed again after retryAfterS, and only once', async () => {
      const { limiters, pass } = await open({ tokensPerSecond: 2, burst: 2 });
      const [limiter] = limiters;
      await take(limiter, 'a');
      await take(limiter, 'a');
      const refused = await take(limiter, 'a');
      expect(refused.allowed).toBe(false);
      await pass(Math.ceil(refused.retryAfterS * 1000) + 5);
      const again = await take(limiter, 'a');
      expect(again).toMatchObject({ allowed: true, remaining: 0 });
      expect((await take(limiter, 'a')).allowed).toBe(false);
    });

    it('never holds more than `burst` tokens, however long it idles', async () => {
      const { limiters, pass } = await open({ tokensPerSecond: 20, burst: 3 });
      const [limiter] = limiters;
      await take(limiter, 'a');
      await pass(300); // 6 tokens' worth of time
      expect(await take(limiter, 'a')).toMatchObject({ allowed: true, remaining: 2 });
    });

    it('reports resetS as the time until the bucket is full again', async () => {
      const { limiters } = await open({ tokensPerSecond: 4, burst: 10 });
      const first = await take(limiters[0], 'a');
      expect(first.remaining).toBe(9);
      // One token missing at 4 tokens/s: 0.25 s (less if time passed since).
      expect(first.resetS).toBeGreaterThan(0.2);
      expect(first.resetS).toBeLessThanOrEqual(0.25);
    });

    it('keeps one bucket per subject', async () => {
      const { limiters } = await open({ tokensPerSecond: 1, burst: 2 });
      const [limiter] = limiters;
      await take(limiter, 'a');
      await take(limiter, 'a');
      expect((await take(limiter, 'a')).allowed).toBe(false);
      expect(await take(limiter, 'b')).toMatchObject({ allowed: true, remaining: 1 });
      expect(await take(limiter, 'a:b')).toMatchObject({ allowed: true, remaining: 1 });
    });

    it('shares one budget between limiters over the same store: exactly `burst` of N concurrent takes pass', async () => {
      const burst = 7;
      // One token per ~17 minutes: nothing refills during the test.
      const { limiters } = await open({ tokensPerSecond: 0.001, burst });
      const takes = Array.from({ length: 40 }, (_, i) => take(limiters[i % 2]!, 'shared'));
      const results = await Promise.all(takes);
      expect(results.filter((r) => r.allowed)).toHaveLength(burst);
      const remaining = results.filter((r) => r.allowed).map((r) => r.remaining);
      expect(remaining.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6]);
    });
  });
}
