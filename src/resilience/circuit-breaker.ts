/**
 * A circuit breaker for calls to one remote dependency, as a state machine with an injectable clock
 * (no timers of its own, so tests drive it with a fake clock):
 *
 *   closed ──(N consecutive failures, or failure rate ≥ R over the window)──► open
 *   open ──(openMs elapsed: the next call goes through as the one probe)──► half-open
 *   half-open ──(probe succeeds)──► closed      half-open ──(probe fails)──► open (again for openMs)
 *
 * While open (and while the probe is in flight) calls are refused at once with the dependency's own
 * catalogued error, carrying Retry-After = the time left before the next probe, so a dead
 * dependency costs callers microseconds instead of a timeout each.
 *
 * The caller reports the outcome of every call it was let through. Only failures that say "the
 * dependency is unavailable" should be reported as failures; a caller's own mistakes are neither.
 *
 * @example
 *   const breaker = new CircuitBreaker({ ...DEFAULTS.redisBreaker, openError: (s) => unavailable(s) });
 *   const permit = breaker.acquire(); // throws openError(retryAfterS) while open
 *   try { const r = await call(); breaker.succeeded(permit); return r; }
 *   catch (err) { if (isOutage(err)) breaker.failed(permit); else breaker.ignored(permit); throw err; }
 */

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerPolicy {
  /** Consecutive failures that open the circuit. */
  readonly consecutiveFailures: number;
  /** Failure rate (0..1] over the window that opens the circuit, once the window holds `minimumCalls`. */
  readonly failureRate: number;
  /** Length of the failure-rate window. */
  readonly windowMs: number;
  /** Calls the window must hold before its failure rate counts. */
  readonly minimumCalls: number;
  /** How long the circuit stays open before one probe call is let through. */
  readonly openMs: number;
}

export interface CircuitBreakerOptions extends CircuitBreakerPolicy {
  /** The error to throw while open; `retryAfterS` is the time left before the next probe. */
  readonly openError: (retryAfterS: number) => Error;
  /** Monotonic ms (injectable for tests). */
  readonly nowMs?: () => number;
  readonly onStateChange?: (from: CircuitState, to: CircuitState) => void;
}

/** What acquire() let through: an ordinary call, or the single probe of a half-open circuit. */
export type Permit = 'call' | 'probe';

/** The failure-rate window is kept as this many buckets (coarse, allocation-free). */
const BUCKETS = 10;

export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #consecutive = 0;
  #openedAtMs = 0;
  #probeStartedMs = -1;
  readonly #calls = new Uint32Array(BUCKETS);
  readonly #failures = new Uint32Array(BUCKETS);
  /** Index (time / bucket length) of the bucket written last. */
  #bucketEpoch = 0;
  readonly #bucketMs: number;
  readonly #nowMs: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.#bucketMs = options.windowMs / BUCKETS;
    this.#nowMs = options.nowMs ?? (() => performance.now());
  }

  /** The state as of now: an open circuit whose time is up reads as half-open. */
  get state(): CircuitState {
    if (this.#state === 'open' && this.#nowMs() >= this.#openedAtMs + this.options.openMs) return 'half-open';
    return this.#state;
  }

  /** Lets a call through, or throws `openError` (open, or the probe is already out). */
  acquire(): Permit {
    if (this.#state === 'closed') return 'call';
    const now = this.#nowMs();
    const reopenAt = this.#openedAtMs + this.options.openMs;
    if (this.#state === 'open' && now < reopenAt) throw this.options.openError(secondsUntil(reopenAt - now));
    // Time for a probe. One at a time; a probe whose outcome never came (a caller that forgot to
    // report) is given up after openMs so the circuit cannot stay stuck.
    if (this.#probeStartedMs >= 0 && now < this.#probeStartedMs + this.options.openMs) {
      throw this.options.openError(secondsUntil(this.#probeStartedMs + this.options.openMs - now));
    }
    this.#transition('half-open');
    this.#probeStartedMs = now;
    return 'probe';
  }

  succeeded(permit: Permit): void {
    if (permit === 'probe') {
      if (this.#state !== 'half-open') return;
      this.#probeStartedMs = -1;
      this.#calls.fill(0);
      this.#failures.fill(0);
      this.#consecutive = 0;
      this.#transition('closed');
      return;
    }
    if (this.#state !== 'closed') return; // a call from before the circuit opened
    this.#consecutive = 0;
    this.#count(false);
  }

  failed(permit: Permit): void {
    if (permit === 'probe') {
      if (this.#state === 'half-open') this.#open();
      return;
    }
    if (this.#state !== 'closed') return;
    this.#consecutive++;
    const { calls, failures } = this.#count(true);
    if (
      this.#consecutive >= this.options.consecutiveFailures ||
      (calls >= this.options.minimumCalls && failures >= this.options.failureRate * calls)
    ) {
      this.#open();
    }
  }

  /** The call ended in a way that says nothing about the dependency (e.g. a bad request). */
  ignored(permit: Permit): void {
    if (permit === 'probe' && this.#state === 'half-open') this.#probeStartedMs = -1;
  }

  #open(): void {
    this.#openedAtMs = this.#nowMs();
    this.#probeStartedMs = -1;
    this.#transition('open');
  }

  #transition(to: CircuitState): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    this.options.onStateChange?.(from, to);
  }

  /** Adds one call to the window; returns the window's totals. */
  #count(failure: boolean): { calls: number; failures: number } {
    const epoch = Math.floor(this.#nowMs() / this.#bucketMs);
    // Clear the buckets that slid out of the window since the last call (all of them after a gap).
    const stale = Math.min(BUCKETS, epoch - this.#bucketEpoch);
    for (let i = 1; i <= stale; i++) {
      const b = (this.#bucketEpoch + i) % BUCKETS;
      this.#calls[b] = 0;
      this.#failures[b] = 0;
    }
    this.#bucketEpoch = Math.max(this.#bucketEpoch, epoch);
    const b = this.#bucketEpoch % BUCKETS;
    this.#calls[b]!++;
    if (failure) this.#failures[b]!++;
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.#calls[i]!;
      failures += this.#failures[i]!;
    }
    return { calls, failures };
  }
}

/** Whole seconds for Retry-After, at least 1. */
function secondsUntil(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
