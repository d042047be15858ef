/** Job records in this process's memory, expiring after their TTL. Pairs with the in-process broker. */
import { quiverError } from '../../errors.ts';
import type { JobRecord } from '../job.ts';
import type { ResultStore } from '../result-store.ts';

export class MemoryResultStore implements ResultStore {
  readonly kind = 'memory';
  readonly #records = new Map<string, { record: JobRecord; expiresAtMs: number }>();
  readonly #nowMs: () => number;
  #closed = false;
  #writes = 0;

  constructor(options: { nowMs?: () => number } = {}) {
    this.#nowMs = options.nowMs ?? Date.now;
  }

  put(record: JobRecord, ttlSeconds: number): Promise<void> {
    if (this.#closed)
      return Promise.reject(quiverError('QUIVER_ERR_CLOSED', { component: 'job result store' }));
    // Copy, as Redis would: later changes by the caller must not change what is stored.
    this.#records.set(record.id, {
      record: structuredClone(record),
      expiresAtMs: this.#nowMs() + ttlSeconds * 1000,
    });
    // Sweep expired records now and then, so memory stays bounded by the TTL.
    if (++this.#writes % 1024 === 0) this.#sweep();
    return Promise.resolve();
  }

  get(id: string): Promise<JobRecord | undefined> {
    if (this.#closed)
      return Promise.reject(quiverError('QUIVER_ERR_CLOSED', { component: 'job result store' }));
    const entry = this.#records.get(id);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.expiresAtMs <= this.#nowMs()) {
      this.#records.delete(id);
      return Promise.resolve(undefined);
    }
    return Promise.resolve(structuredClone(entry.record));
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  #sweep(): void {
    const now = this.#nowMs();
    for (const [id, entry] of this.#records) if (entry.expiresAtMs <= now) this.#records.delete(id);
  }
}
