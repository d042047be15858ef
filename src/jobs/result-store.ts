/**
 * Where job records live, keyed by job id, each with a TTL. Every instance (API servers and
 * `quiver worker` processes) must see the same records, so the durable setup uses Redis
 * (redis/redis-result-store.ts); the in-process broker pairs with memory/memory-result-store.ts.
 * Both run result-store.contract.ts.
 *
 * @example
 *   await results.put({ id, model: 'fraud', kind: 'predict', status: 'queued', attempts: 0, createdAtMs }, 3600);
 *   const record = await results.get(id); // undefined once expired
 */
import type { JobRecord } from './job.ts';

export interface ResultStore {
  readonly kind: string;
  /** Writes the whole record, (re)setting its TTL. */
  put(record: JobRecord, ttlSeconds: number): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  close(): Promise<void>;
}
