import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitBreakerPolicy, type CircuitState } from './circuit-breaker.ts';

class OpenError extends Error {
  constructor(readonly retryAfterS: number) {
    super(`open, retry in ${retryAfterS} s`);
  }
}

const POLICY: CircuitBreakerPolicy = {
  consecutiveFailures: 3,
  failureRate: 0.5,
  windowMs: 10_000,
  minimumCalls: 10,
  openMs: 2_500,
};

function breakerWithClock(policy: Partial<CircuitBreakerPolicy> = {}) {
  let now = 1_000_000;
  const changes: string[] = [];
  const breaker = new CircuitBreaker({
    ...POLICY,
    ...policy,
    openError: (s) => new OpenError(s),
    nowMs: () => now,
    onStateChange: (from: CircuitState, to: CircuitState) => changes.push(`${from}→${to}`),
  });
  return { breaker, changes, advance: (ms: number) => (now += ms) };
}

/** acquire() + report: 'ok' | 'fail'. Returns the error thrown by acquire(), if any. */
function call(breaker: CircuitBreaker, outcome: 'ok' | 'fail'): OpenError | undefined {
  let permit;
  try {
    permit = breaker.acquire();
  } catch (err) {
    return err as OpenError;
  }
  if (outcome === 'ok') breaker.succeeded(permit);
  else breaker.failed(permit);
  return undefined;
}

describe('CircuitBreaker', () => {
  it('stays closed while failures are never N in a row (and the rate rule is off)', () => {
    const { breaker, changes } = breakerWithClock({ failureRate: 1 });
    for (let i = 0; i < 20; i++) {
      call(breaker, 'fail');
      call(breaker, 'fail');
      expect(call(breaker, 'ok')).toBeUndefined(); // a success resets the consecutive count
    }
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual([]);
  });

  it('opens after N consecutive failures and refuses calls at once with Retry-After = time left', () => {
    const { breaker, changes, advance } = breakerWithClock();
    call(breaker, 'fail');
    call(breaker, 'fail');
    expect(breaker.state).toBe('closed');
    call(breaker, 'fail');
    expect(breaker.state).toBe('open');
    expect(changes).toEqual(['closed→open']);
    expect(call(breaker, 'ok')).toMatchObject({ retryAfterS: 3 }); // 2.5 s left → 3
    advance(1_600);
    expect(call(breaker, 'ok')).toMatchObject({ retryAfterS: 1 }); // 0.9 s left → at least 1
  });

  it('opens when the failure rate over the window reaches the threshold (with enough calls)', () => {
    const { breaker, advance } = breakerWithClock({ consecutiveFailures: 100 });
    // Alternating: never 2 failures in a row, rate 50%. Opens at the 10th call (minimumCalls).
    for (let i = 0; i < 9; i++) {
      call(breaker, i % 2 === 0 ? 'fail' : 'ok');
      advance(100);
    }
    expect(breaker.state).toBe('closed'); // 5 failures of 9 calls: below minimumCalls
    call(breaker, 'ok'); // 5/10 = 50%: the rate counts from the 10th call… but the last was a success
    expect(breaker.state).toBe('closed');
    call(breaker, 'fail'); // 6/11 ≥ 50%
    expect(breaker.state).toBe('open');
  });

  it('forgets failures that slid out of the window', () => {
    const { breaker, advance } = breakerWithClock({ consecutiveFailures: 100 });
    for (let i = 0; i < 8; i++) call(breaker, 'fail'); // 8 failures, below minimumCalls
    advance(10_500); // the whole window has passed
    for (let i = 0; i < 8; i++) call(breaker, 'ok');
    call(breaker, 'fail');
    call(breaker, 'ok'); // 1 failure in 10 recent calls
    expect(breaker.state).toBe('closed');
    // Within the window, older buckets still count: 5 more failures half a window later → 6/15.
    advance(5_000);
    for (let i = 0; i < 4; i++) call(breaker, 'fail');
    expect(breaker.state).toBe('closed'); // 5/14
    call(breaker, 'fail'); // 6/15 < 50%
    call(breaker, 'fail'); // 7/16 < 50%
    call(breaker, 'fail'); // 8/17 < 50%
    expect(breaker.state).toBe('closed');
    call(breaker, 'fail'); // 9/18 = 50%
    expect(breaker.state).toBe('open');
  });

  it('after openMs lets exactly one probe through; its success closes the circuit', () => {
    const { breaker, changes, advance } = breakerWithClock();
    for (let i = 0; i < 3; i++) call(breaker, 'fail');
    advance(2_499);
    expect(breaker.state).toBe('open');
    advance(1);
    expect(breaker.state).toBe('half-open');
    const probe = breaker.acquire();
    expect(probe).toBe('probe');
    expect(() => breaker.acquire()).toThrow(OpenError); // the probe is out: others still refused
    breaker.succeeded(probe);
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['closed→open', 'open→half-open', 'half-open→closed']);
    // Closed afresh: it takes N new consecutive failures to open again.
    call(breaker, 'fail');
    call(breaker, 'fail');
    expect(breaker.state).toBe('closed');
  });

  it('a failed probe opens the circuit for another openMs', () => {
    const { breaker, changes, advance } = breakerWithClock();
    for (let i = 0; i < 3; i++) call(breaker, 'fail');
    advance(2_500);
    breaker.failed(breaker.acquire());
    expect(breaker.state).toBe('open');
    expect(call(breaker, 'ok')).toMatchObject({ retryAfterS: 3 });
    advance(2_500);
    expect(call(breaker, 'ok')).toBeUndefined();
    expect(changes).toEqual([
      'closed→open',
      'open→half-open',
      'half-open→open',
      'open→half-open',
      'half-open→closed',
    ]);
  });

  it('a probe whose outcome never came is given up after openMs', () => {
    const { breaker, advance } = breakerWithClock();
    for (let i = 0; i < 3; i++) call(breaker, 'fail');
    advance(2_500);
    breaker.acquire(); // never reported
    advance(1_000);
    expect(call(breaker, 'ok')).toMatchObject({ retryAfterS: 2 });
    advance(1_500);
    expect(breaker.acquire()).toBe('probe');
  });

  it('an ignored probe frees the slot for the next one; ignored calls count for nothing', () => {
    const { breaker, advance } = breakerWithClock();
    breaker.ignored(breaker.acquire());
    for (let i = 0; i < 3; i++) call(breaker, 'fail');
    advance(2_500);
    breaker.ignored(breaker.acquire());
    expect(breaker.state).toBe('half-open');
    expect(breaker.acquire()).toBe('probe');
  });

  it('outcomes of calls let through before the circuit opened do not move it', () => {
    const { breaker, advance } = breakerWithClock();
    const early = [breaker.acquire(), breaker.acquire()];
    for (let i = 0; i < 3; i++) call(breaker, 'fail');
    breaker.succeeded(early[0]!); // late success while open: stays open
    breaker.failed(early[1]!); // late failure while open: does not restart the open time
    expect(breaker.state).toBe('open');
    advance(2_500);
    expect(breaker.state).toBe('half-open');
    // A late probe report after the circuit already closed is ignored too.
    const probe = breaker.acquire();
    breaker.succeeded(probe);
    breaker.succeeded(probe);
    breaker.failed(probe);
    expect(breaker.state).toBe('closed');
  });

  it('uses the monotonic clock by default', () => {
    const breaker = new CircuitBreaker({ ...POLICY, openMs: 60_000, openError: (s) => new OpenError(s) });
    for (let i = 0; i < 3; i++) breaker.failed(breaker.acquire());
    expect(breaker.state).toBe('open');
    expect(() => breaker.acquire()).toThrow(OpenError);
  });
});
