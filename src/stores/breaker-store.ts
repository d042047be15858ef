/**
 * An OnlineStore decorator for a remote store (Redis): every call goes through a circuit breaker
 * (resilience/circuit-breaker.ts), so when the store is down calls fail in microseconds with
 * QUIVER_ERR_STORE_UNAVAILABLE (503, Retry-After = time until the next probe) instead of each
 * waiting for a timeout, and one probe call per `openMs` finds out when it is back.
 *
 * Optional hot cache (`hotCacheEntriesPerView` > 0): the most recent reads of each view are kept
 * (resilience/recent-reads.ts) and used ONLY while the circuit is open. A read whose keys were all
 * read recently is then answered from the cache, and its result carries the STALE_CACHE marker
 * (online-store.ts), which serving turns into the response header `x-quiver-degraded: stale-cache`.
 * TTLs still apply to cached rows (statuses come from each row's event time), so a row past its
 * view's TTL is still flagged OUTSIDE_MAX_AGE. A read with any key not in the cache fails like any
 * other: a partial answer would pass unknown rows off as absent.
 *
 * Only QUIVER_ERR_STORE_UNAVAILABLE counts as a failure; other errors (closed store, a bug) say
 * nothing about the dependency and do not move the breaker. Reads stay synchronous when the inner
 * store answers synchronously.
 *
 * @example
 *   const store = new BreakerStore(await RedisStore.create(opts), {
 *     ...DEFAULTS.redisBreaker,
 *     hotCacheEntriesPerView: DEFAULTS.redisHotCacheEntries,
 *   });
 */
import { isQuiverError, QuiverError, quiverError, withoutStackTrace } from '../errors.ts';
import {
  CircuitBreaker,
  type CircuitBreakerPolicy,
  type CircuitState,
  type Permit,
} from '../resilience/circuit-breaker.ts';
import { RecentReads } from '../resilience/recent-reads.ts';
import {
  STALE_CACHE,
  type OnlineStore,
  type ReadResult,
  type WriteResult,
  type WriteRow,
} from './online-store.ts';

/** Retry-After of an outage error seen before the circuit opened (the store's own error has none). */
const OUTAGE_RETRY_AFTER_S = 1;

export interface BreakerStoreOptions extends CircuitBreakerPolicy {
  /** (key, row) entries of recent reads kept per view for reads while the circuit is open; 0: none. */
  readonly hotCacheEntriesPerView: number;
  /** Monotonic ms (tests). */
  readonly nowMs?: () => number;
  readonly onStateChange?: (from: CircuitState, to: CircuitState) => void;
}

export class BreakerStore implements OnlineStore {
  readonly kind: string;
  readonly breaker: CircuitBreaker;
  readonly #inner: OnlineStore;
  readonly #cacheEntries: number;
  readonly #recent = new Map<string, RecentReads>();

  constructor(inner: OnlineStore, options: BreakerStoreOptions) {
    this.#inner = inner;
    this.kind = inner.kind;
    this.#cacheEntries = options.hotCacheEntriesPerView;
    this.breaker = new CircuitBreaker({
      ...options,
      // Refusals while open are normal flow (possibly thousands a second): no stack trace.
      openError: (retryAfterS) =>
        withoutStackTrace(() =>
          quiverError(
            'QUIVER_ERR_STORE_UNAVAILABLE',
            {
              store: inner.kind,
              reason: `failing repeatedly, calls are paused (circuit open); next attempt within ${retryAfterS} s`,
            },
            { retryAfterS },
          ),
        ),
    });
  }

  read(view: string, keys: readonly string[]): ReadResult | Promise<ReadResult> {
    let permit: Permit;
    try {
      permit = this.breaker.acquire();
    } catch (open) {
      const cached = this.#recent.get(view)?.lookup(keys);
      if (cached === undefined) throw open;
      // Non-enumerable: the rows compare and serialise like every other read result.
      return Object.defineProperty(cached, STALE_CACHE, { value: true });
    }
    let result: ReadResult | Promise<ReadResult>;
    try {
      result = this.#inner.read(view, keys);
    } catch (err) {
      throw this.#failed(permit, err);
    }
    if (result instanceof Promise) {
      return result.then(
        (rows) => this.#readOk(permit, view, keys, rows),
        (err: unknown) => {
          throw this.#failed(permit, err);
        },
      );
    }
    return this.#readOk(permit, view, keys, result);
  }

  write(view: string, rows: readonly WriteRow[]): Promise<WriteResult> {
    return this.#guard(() => this.#inner.write(view, rows));
  }

  getMeta(name: string): Promise<string | undefined> {
    return this.#guard(() => this.#inner.getMeta(name));
  }

  setMeta(name: string, value: string): Promise<void> {
    return this.#guard(() => this.#inner.setMeta(name, value));
  }

  /** The store's own readiness check, not the breaker's view: it is a real probe. */
  ready(): Promise<void> {
    return this.#inner.ready();
  }

  close(): Promise<void> {
    this.#recent.clear();
    return this.#inner.close();
  }

  #readOk(permit: Permit, view: string, keys: readonly string[], rows: ReadResult): ReadResult {
    this.breaker.succeeded(permit);
    if (this.#cacheEntries > 0) {
      let recent = this.#recent.get(view);
      if (recent === undefined) this.#recent.set(view, (recent = new RecentReads(this.#cacheEntries)));
      recent.remember(keys, rows);
    }
    return rows;
  }

  async #guard<T>(call: () => Promise<T>): Promise<T> {
    const permit = this.breaker.acquire();
    try {
      const result = await call();
      this.breaker.succeeded(permit);
      return result;
    } catch (err) {
      throw this.#failed(permit, err);
    }
  }

  /** Reports the failure to the breaker; returns what to throw (an outage always says Retry-After). */
  #failed(permit: Permit, err: unknown): unknown {
    if (!isQuiverError(err) || err.code !== 'QUIVER_ERR_STORE_UNAVAILABLE') {
      this.breaker.ignored(permit);
      return err;
    }
    this.breaker.failed(permit);
    if (err.retryAfterS !== undefined) return err;
    return new QuiverError(err.code, err.message, err.details, OUTAGE_RETRY_AFTER_S, {
      cause: err.cause ?? err,
    });
  }
}
