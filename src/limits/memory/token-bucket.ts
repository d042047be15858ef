/**
 * The in-memory token-bucket limiter: one bucket per subject in a Map, two numbers each, refilled
 * lazily from a monotonic clock when the subject is next seen (no timers, no per-bucket work while
 * idle). A take() costs one Map lookup, a few float operations and the result object.
 *
 * Memory is bounded: when the map holds `maxBuckets` subjects and a new one arrives, buckets that
 * have refilled to full are dropped (a full bucket and a missing one behave the same, so this is
 * exact); if that frees nothing because every bucket is in use, the least recently used eighth is
 * dropped, which forgives their debt. A flood of distinct IPs therefore costs at most `maxBuckets`
 * entries, and the O(n) sweep runs once per n/8 new subjects at worst (amortised O(log n)).
 *
 * Limits are per process: with N instances, a subject gets N × the budget. Use the Redis limiter
 * for one budget across instances.
 *
 * @example
 *   const limiter = new MemoryRateLimiter({ tokensPerSecond: 100, burst: 200 });
 *   limiter.take('svc-a'); // { allowed: true, remaining: 199, limit: 200, resetS: 0.01, retryAfterS: 0 }
 */
import { quiverError } from '../../errors.ts';
import type { RateLimiter, RateLimiterOptions, TakeResult } from '../rate-limiter.ts';

export interface MemoryRateLimiterOptions extends RateLimiterOptions {
  /** Most subjects kept at once (default 100,000: ~10 MB). */
  readonly maxBuckets?: number;
  /** Monotonic clock in ms (default performance.now); tests inject a fake one. */
  readonly clock?: () => number;
}

const DEFAULT_MAX_BUCKETS = 100_000;
/** Last-use times sampled to find the eviction cut-off. */
const SAMPLE_SIZE = 512;

/** A class, so every bucket has the same hidden class and the fields stay unboxed doubles. */
class Bucket {
  constructor(
    public tokens: number,
    public updatedMs: number,
  ) {}
}

export class MemoryRateLimiter implements RateLimiter {
  readonly tokensPerSecond: number;
  readonly burst: number;
  readonly maxBuckets: number;
  readonly #ratePerMs: number;
  readonly #clock: () => number;
  readonly #buckets = new Map<string, Bucket>();
  #closed = false;

  constructor(options: MemoryRateLimiterOptions) {
    if (!(options.tokensPerSecond > 0) || !Number.isFinite(options.tokensPerSecond))
      throw new RangeError(`tokensPerSecond must be a positive number, got ${options.tokensPerSecond}`);
    if (!Number.isInteger(options.burst) || options.burst < 1)
      throw new RangeError(`burst must be an integer ≥ 1, got ${options.burst}`);
    this.tokensPerSecond = options.tokensPerSecond;
    this.burst = options.burst;
    this.maxBuckets = Math.max(1, options.maxBuckets ?? DEFAULT_MAX_BUCKETS);
    this.#ratePerMs = options.tokensPerSecond / 1000;
    this.#clock = options.clock ?? (() => performance.now());
  }

  /** Subjects currently held (for tests and introspection). */
  get size(): number {
    return this.#buckets.size;
  }

  take(subject: string, nowMs: number = this.#clock()): TakeResult {
    if (this.#closed) throw quiverError('QUIVER_ERR_CLOSED', { component: 'rate limiter' });
    const burst = this.burst;
    let bucket = this.#buckets.get(subject);
    let tokens: number;
    if (bucket === undefined) {
      if (this.#buckets.size >= this.maxBuckets) this.#evict(nowMs);
      tokens = burst;
      bucket = new Bucket(burst, nowMs);
      this.#buckets.set(subject, bucket);
    } else {
      tokens = bucket.tokens;
      const elapsedMs = nowMs - bucket.updatedMs;
      // A clock that did not move (or a fake one moved back) refills nothing.
      if (elapsedMs > 0) {
        tokens = Math.min(burst, tokens + elapsedMs * this.#ratePerMs);
        bucket.updatedMs = nowMs;
      }
    }
    const allowed = tokens >= 1;
    if (allowed) tokens -= 1;
    bucket.tokens = tokens;
    return {
      allowed,
      remaining: Math.floor(tokens),
      limit: burst,
      resetS: (burst - tokens) / this.tokensPerSecond,
      retryAfterS: allowed ? 0 : (1 - tokens) / this.tokensPerSecond,
    };
  }

  close(): Promise<void> {
    this.#closed = true;
    this.#buckets.clear();
    return Promise.resolve();
  }

  /** Makes room for one more subject; see the file comment. */
  #evict(nowMs: number): void {
    const buckets = this.#buckets;
    const rate = this.#ratePerMs;
    for (const [subject, b] of buckets) {
      if (b.tokens + (nowMs - b.updatedMs) * rate >= this.burst) buckets.delete(subject);
    }
    if (buckets.size < this.maxBuckets) return;
    // Everyone is in debt: drop about the least recently used eighth (at least one). The cut-off
    // time is the eighth of a sample of last-use times; sorting every bucket costs more than the rest.
    const dropCount = Math.max(1, this.maxBuckets >>> 3);
    const stride = Math.max(1, Math.floor(buckets.size / SAMPLE_SIZE));
    const sample: number[] = [];
    let i = 0;
    for (const b of buckets.values()) if (i++ % stride === 0) sample.push(b.updatedMs);
    sample.sort((x, y) => x - y);
    const cutoffMs =
      sample[Math.min(sample.length - 1, Math.floor((sample.length * dropCount) / buckets.size))]!;
    let dropped = 0;
    for (const [subject, b] of buckets) {
      if (b.updatedMs <= cutoffMs) {
        buckets.delete(subject);
        if (++dropped === dropCount) return;
      }
    }
    // Many buckets share the cut-off time: top up with the oldest inserted.
    for (const subject of buckets.keys()) {
      if (dropped++ >= dropCount) return;
      buckets.delete(subject);
    }
  }
}
