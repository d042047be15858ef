/**
 * The rate-limiter port: a token bucket per subject (an API key's id, or a client IP). Each bucket
 * holds up to `burst` tokens and refills at `tokensPerSecond`; a request takes one token or is
 * refused with the time until one is back. Implementations live beside this file (memory/, redis/)
 * and all pass the shared contract suite in rate-limiter.contract.ts. Nothing here imports one.
 *
 * @example
 *   const r = await limiter.take('svc-a');
 *   if (!r.allowed) throw quiverError('QUIVER_ERR_RATE_LIMITED', { subject }, { retryAfterS: r.retryAfterS });
 */

/** The answer to one take(). Times are in seconds (fractional); the HTTP layer rounds them up. */
export interface TakeResult {
  readonly allowed: boolean;
  /** Whole tokens left after this take (what RateLimit-Remaining shows). */
  readonly remaining: number;
  /** The bucket's capacity, `burst` (what RateLimit-Limit shows). */
  readonly limit: number;
  /** Seconds until the bucket is full again (RateLimit-Reset); 0 when it is full. */
  readonly resetS: number;
  /** Seconds until one token is available: 0 when allowed, > 0 when refused (Retry-After). */
  readonly retryAfterS: number;
}

export interface RateLimiterOptions {
  readonly tokensPerSecond: number;
  /** Bucket capacity: how many requests may arrive at once after a quiet period. Integer ≥ 1. */
  readonly burst: number;
}

export interface RateLimiter {
  readonly tokensPerSecond: number;
  readonly burst: number;
  /**
   * Takes one token from `subject`'s bucket. The memory limiter answers synchronously (no promise on
   * the hot path); Redis returns a promise and costs one round trip. `nowMs` is a monotonic time in
   * ms for limiters that use a local clock (tests pass a fake one); Redis uses its server's clock.
   */
  take(subject: string, nowMs?: number): TakeResult | Promise<TakeResult>;
  /** Releases resources (connections). Later take() calls fail with QUIVER_ERR_CLOSED. */
  close(): Promise<void>;
}
