/**
 * A circuit breaker for calls to a dependency that may hang rather than refuse (a broker that
 * accepts the TCP connection but never confirms). After `failureThreshold` consecutive failures it
 * opens: calls fail at once for `openMs`, instead of each request waiting for its own timeout. Then
 * it lets a single trial call through (half-open); its success closes the breaker, its failure opens
 * it again. Pure state: the caller reports outcomes, the clock is injectable.
 *
 * @example
 *   if (!breaker.allow()) throw unavailable('circuit open');
 *   try { await call(); breaker.success(); } catch (e) { breaker.failure(); throw e; }
 */
export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  readonly failureThreshold: number;
  readonly openMs: number;
  /** Monotonic ms (injectable for tests). */
  readonly nowMs?: () => number;
}

export class CircuitBreaker {
  private failures = 0;
  private openedAtMs = 0;
  private opened = false;
  private trialInFlight = false;
  private readonly nowMs: () => number;

  constructor(private readonly options: CircuitBreakerOptions) {
    this.nowMs = options.nowMs ?? (() => performance.now());
  }

  get state(): BreakerState {
    if (!this.opened) return 'closed';
    return this.nowMs() - this.openedAtMs >= this.options.openMs ? 'half-open' : 'open';
  }

  /** Milliseconds until a trial call is allowed (0 when calls are allowed now). */
  retryInMs(): number {
    if (!this.opened) return 0;
    return Math.max(0, this.options.openMs - (this.nowMs() - this.openedAtMs));
  }

  /** Whether a call may go ahead now. In half-open state only one trial call at a time. */
  allow(): boolean {
    const state = this.state;
    if (state === 'closed') return true;
    if (state === 'open' || this.trialInFlight) return false;
    this.trialInFlight = true;
    return true;
  }

  success(): void {
    this.failures = 0;
    this.opened = false;
    this.trialInFlight = false;
  }

  failure(): void {
    this.failures++;
    if (this.trialInFlight || this.failures >= this.options.failureThreshold) {
      this.opened = true;
      this.openedAtMs = this.nowMs();
    }
    this.trialInFlight = false;
  }
}
