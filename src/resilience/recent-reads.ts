/**
 * The hot cache behind a circuit breaker: the most recent reads of one view, bounded by the number
 * of (key, row) entries they hold, kept so that reads can still be answered — marked stale — while
 * the store is unreachable.
 *
 * Remembering must cost next to nothing, because it happens on every successful read while the
 * cache is almost never used: a read is remembered as ONE reference to its keys and rows (no
 * per-key work), and the oldest reads are forgotten past the bound. That is an LRU over reads: a
 * key read recently is in a recent read. The per-key index (newest row wins) is built only when a
 * lookup needs it — the first read after the circuit opened — and dropped at the next remember.
 *
 * What remembering does cost is garbage collection: a remembered row outlives the scavenges that
 * happen while it is held, so it is copied and then promoted instead of dying young. At 20k reads a
 * second a 2,000-entry cache turned over every 100 ms, about once per scavenge, so every row it
 * held was copied: scavenges took 3.3–3.9 ms instead of 1.3–1.6 ms and the old generation grew by
 * ~7 MB a second (`--trace-gc`, features-1 on Redis). So the cache takes in at most `maxEntries`
 * entries a second (a token bucket of that size): it holds as many rows as before, over a window of
 * a second or more, the reads it skips die young, and scavenges ~100 ms apart find at most a tenth
 * of its rows new. Measured the same way: scavenges of 1.4 ms on average, the old generation
 * growing ~0.4 MB a second, as with no cache at all (1.46 ms, ~0.1 MB a second). Keys read often
 * are still in it (each of their reads has the same chance); below `maxEntries` keys a second it
 * keeps every read, as before.
 *
 * @example
 *   const recent = new RecentReads(2_000);
 *   recent.remember(['u1', 'u2'], rows);   // on every successful read
 *   recent.lookup(['u2']);                 // while the store is down: [row of u2], or undefined
 */
import { RingBuffer } from '../admission/ring-buffer.ts';
import type { ReadResult, StoredRow } from '../stores/online-store.ts';

interface Read {
  readonly keys: readonly string[];
  readonly rows: ReadResult;
}

export class RecentReads {
  readonly #reads = new RingBuffer<Read>(64);
  #entries = 0;
  #index: Map<string, StoredRow | undefined> | undefined;
  /** Entries that may still be taken in: refills at maxEntries a second, up to maxEntries. */
  #allowance: number;
  #refilledAtMs: number;

  /**
   * @param maxEntries (key, row) entries kept at most, over all remembered reads; also how many
   *   are taken in per second at most.
   * @param nowMs a millisecond clock (tests pass a fake one).
   */
  constructor(
    readonly maxEntries: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.#allowance = maxEntries;
    this.#refilledAtMs = nowMs();
  }

  /** Entries currently held. */
  get size(): number {
    return this.#entries;
  }

  /**
   * Remembers a read (its keys copied, its rows by reference: read results are read-only). A read
   * larger than the whole cache is not kept, nor one beyond this second's allowance.
   */
  remember(keys: readonly string[], rows: ReadResult): void {
    if (keys.length === 0 || keys.length > this.maxEntries || !this.#admit(keys.length)) return;
    this.#reads.push({ keys: keys.slice(), rows });
    this.#entries += keys.length;
    this.#index = undefined;
    while (this.#entries > this.maxEntries) this.#entries -= this.#reads.shift()!.keys.length;
  }

  #admit(entries: number): boolean {
    const now = this.nowMs();
    const refill = ((now - this.#refilledAtMs) * this.maxEntries) / 1000;
    this.#allowance = Math.min(this.maxEntries, this.#allowance + refill);
    this.#refilledAtMs = now;
    if (this.#allowance < entries) return false;
    this.#allowance -= entries;
    return true;
  }

  /**
   * The rows as last read for every key (`undefined` where the key was read and absent), or
   * undefined when any key is not in the cache: a partial answer would pass missing rows off as
   * absent ones.
   */
  lookup(keys: readonly string[]): ReadResult | undefined {
    const index = (this.#index ??= this.#buildIndex());
    const rows: ReadResult = new Array<StoredRow | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (!index.has(key)) return undefined;
      rows[i] = index.get(key);
    }
    return rows;
  }

  #buildIndex(): Map<string, StoredRow | undefined> {
    const index = new Map<string, StoredRow | undefined>();
    for (let r = this.#reads.length - 1; r >= 0; r--) {
      const { keys, rows } = this.#reads.at(r);
      for (let i = 0; i < keys.length; i++) if (!index.has(keys[i]!)) index.set(keys[i]!, rows[i]);
    }
    return index;
  }
}
