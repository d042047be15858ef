import { describe, expect, it } from 'vitest';
import { CircuitBreaker } from './circuit-breaker.ts';

function breaker(threshold = 3, openMs = 1000) {
  const clock = { now: 0 };
  const b = new CircuitBreaker({ failureThreshold: threshold, openMs, nowMs: () => clock.now });
  return { b, clock };
}

describe('CircuitBreaker', () => {
  it('stays closed below the threshold, and a success resets the count', () => {
    const { b } = breaker(3);
    b.failure();
    b.failure();
    b.success();
    b.failure();
    b.failure();
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
  });

  it('opens after N consecutive failures and refuses calls until openMs passed', () => {
    const { b, clock } = breaker(3, 1000);
    for (let i = 0; i < 3; i++) b.failure();
    expect(b.state).toBe('open');
    expect(b.allow()).toBe(false);
    expect(b.retryInMs()).toBe(1000);
    clock.now = 999;
    expect(b.allow()).toBe(false);
    expect(b.retryInMs()).toBe(1);
  });

  it('half-open lets exactly one trial through; its success closes the breaker', () => {
    const { b, clock } = breaker(2, 500);
    b.failure();
    b.failure();
    clock.now = 500;
    expect(b.state).toBe('half-open');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(false); // the trial is still running
    b.success();
    expect(b.state).toBe('closed');
    expect(b.allow()).toBe(true);
    expect(b.allow()).toBe(true);
  });

  it('a failed trial opens it again for a full openMs', () => {
    const { b, clock } = breaker(2, 500);
    b.failure();
    b.failure();
    clock.now = 600;
    expect(b.allow()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    clock.now = 1099;
    expect(b.allow()).toBe(false);
    clock.now = 1100;
    expect(b.allow()).toBe(true);
  });
});
