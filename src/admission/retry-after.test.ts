import { describe, expect, it } from 'vitest';
import { DrainRate, MAX_RETRY_AFTER_S, retryAfterS } from './retry-after.ts';

describe('DrainRate', () => {
  it('is unknown (0) before any batch finished', () => {
    expect(new DrainRate().perSecond(1)).toBe(0);
  });

  it('is the runners divided by the service time per request', () => {
    const drain = new DrainRate();
    drain.observe(4, 8_000); // 2 ms per request
    expect(drain.perSecond(1)).toBe(500);
    expect(drain.perSecond(2)).toBe(1000);
  });

  it('follows a change of service time smoothly (EWMA), ignoring empty or nonsensical samples', () => {
    const drain = new DrainRate();
    drain.observe(1, 1000);
    drain.observe(1, 2000); // 1000 + 0.2 × 1000 = 1200 µs
    expect(drain.perSecond(1)).toBeCloseTo(1e6 / 1200, 6);
    drain.observe(0, 5000);
    drain.observe(1, Number.NaN);
    drain.observe(1, -1);
    expect(drain.perSecond(1)).toBeCloseTo(1e6 / 1200, 6);
    for (let i = 0; i < 200; i++) drain.observe(1, 4000);
    expect(drain.perSecond(1)).toBeCloseTo(250, 3);
  });
});

describe('retryAfterS', () => {
  it('is the time to drain what is ahead, rounded up to whole seconds', () => {
    expect(retryAfterS(2500, 1000)).toBe(3);
    expect(retryAfterS(2000, 1000)).toBe(2);
  });

  it('is at least 1 s and at most MAX_RETRY_AFTER_S', () => {
    expect(retryAfterS(0, 1000)).toBe(1);
    expect(retryAfterS(10, 1000)).toBe(1);
    expect(retryAfterS(1e9, 1)).toBe(MAX_RETRY_AFTER_S);
  });

  it('falls back to 1 s while the drain rate is unknown', () => {
    expect(retryAfterS(5000, 0)).toBe(1);
  });
});
