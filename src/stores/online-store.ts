/**
 * The online store port: where materialize and push write feature rows and where serving reads them.
 * Implementations live beside this file (lmdb/, redis/, memory/) and all pass the shared contract
 * suite in online-store.contract.ts. Nothing here imports an implementation.
 *
 * Record layout (the same for every implementation): one record per (view, entity key), holding the
 * event timestamp and the values in the view's schema order. A write never replaces a record whose
 * event timestamp is newer than the written one.
 */

/** A stored record as read: `[eventTsMs, v0, v1, ...]`, values in the view's schema order. */
export type StoredRow = readonly unknown[];

/** One read result per requested key, by position; `undefined` where the key has no record. */
export type ReadResult = (StoredRow | undefined)[];

/**
 * Marks a read result served from a decorator's hot cache while the store itself was unreachable
 * (stores/breaker-store.ts): the rows as last read, possibly stale. Serving answers such a read
 * with the header `x-quiver-degraded: stale-cache`. A symbol property on the result array rather
 * than a new field or method, so read() keeps its signature and an ordinary result costs nothing.
 */
export const STALE_CACHE: unique symbol = Symbol('quiver.staleCache');

/** True when `result` came from a hot cache instead of the store (see STALE_CACHE). */
export function isStaleCache(result: ReadResult): boolean {
  return (result as ReadResult & { [STALE_CACHE]?: true })[STALE_CACHE] === true;
}

export interface WriteRow {
  /** Encoded entity key (features/entity-key.ts). */
  readonly key: string;
  readonly eventTsMs: number;
  /** Values in the view's schema order; `null` for a missing value. */
  readonly values: readonly unknown[];
}

export interface WriteResult {
  /** Rows stored. */
  written: number;
  /** Rows skipped because the stored record has a newer event timestamp. */
  skippedStale: number;
}

export interface OnlineStore {
  /** 'lmdb' | 'redis' | 'memory': shown in logs, metrics and errors. */
  readonly kind: string;

  /**
   * Reads the records of `keys` in one view. Results line up with `keys` by position. LMDB and
   * memory answer synchronously (no promise allocated on the hot path); Redis returns a promise and
   * costs one round trip per call, never one per key.
   */
  read(view: string, keys: readonly string[]): ReadResult | Promise<ReadResult>;

  /** Writes rows of one view; older events never overwrite newer ones. Atomic per row. */
  write(view: string, rows: readonly WriteRow[]): Promise<WriteResult>;

  /** Small persistent metadata (e.g. the last materialization watermark per view). */
  getMeta(name: string): Promise<string | undefined>;
  setMeta(name: string, value: string): Promise<void>;

  /** Resolves when the store can serve (connected, databases open). */
  ready(): Promise<void>;
  /** Waits for pending writes, then releases resources. Later calls fail with QUIVER_ERR_CLOSED. */
  close(): Promise<void>;
}
