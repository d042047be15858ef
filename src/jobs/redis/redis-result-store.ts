/**
 * Job records in Redis: one JSON string per job at `{prefix}:{project}:job:{id}`, written with
 * `SET … EX ttl`, so every API server and worker sees the same status and result. When Redis is
 * down, calls fail within commandTimeoutMs with QUIVER_ERR_STORE_UNAVAILABLE (no offline queue).
 *
 * @example
 *   const results = await RedisResultStore.create({ url: 'redis://127.0.0.1:6379', project: 'fraud' });
 */
import { quiverError } from '../../errors.ts';
import {
  createRedisClient,
  describeTarget,
  stopOfflineQueue,
  type RedisClient,
  type RedisTarget,
} from '../../redis/client.ts';
import { connectFailure, storeUnavailable } from '../../redis/errors.ts';
import type { JobRecord } from '../job.ts';
import type { ResultStore } from '../result-store.ts';

/** `url`, or `cluster` seed node URLs of a Redis Cluster. */
export type RedisResultStoreOptions = RedisTarget & {
  readonly project: string;
  /** First key segment. Default 'q'. */
  readonly keyPrefix?: string;
  /** Default 1000. */
  readonly commandTimeoutMs?: number;
  /** Default 3000. */
  readonly connectTimeoutMs?: number;
};

export class RedisResultStore implements ResultStore {
  readonly kind = 'redis';
  readonly #redis: RedisClient;
  readonly #prefix: string;
  #closed = false;

  private constructor(redis: RedisClient, prefix: string) {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  static async create(options: RedisResultStoreOptions): Promise<RedisResultStore> {
    const connectTimeoutMs = options.connectTimeoutMs ?? 3000;
    const redis = createRedisClient(options, {
      lazyConnect: true,
      commandTimeout: options.commandTimeoutMs ?? 1000,
      connectTimeout: connectTimeoutMs,
      maxRetriesPerRequest: 1,
    });
    let lastError: unknown;
    redis.on('error', (err: unknown) => (lastError = err));
    try {
      await redis.connect();
    } catch (err) {
      redis.disconnect();
      const reason = `cannot connect to ${describeTarget(options)}: ${connectFailure(lastError ?? err)}`;
      throw quiverError(
        'QUIVER_ERR_STORE_UNAVAILABLE',
        { store: 'redis (job results)', reason },
        { cause: err },
      );
    }
    // After the first connection an outage must fail calls fast instead of queueing them.
    stopOfflineQueue(redis);
    return new RedisResultStore(redis, `${options.keyPrefix ?? 'q'}:${options.project}:job:`);
  }

  /** The Redis key of a job (for tests and operators). */
  key(id: string): string {
    return this.#prefix + id;
  }

  async put(record: JobRecord, ttlSeconds: number): Promise<void> {
    this.#assertOpen();
    try {
      await this.#redis.set(
        this.key(record.id),
        JSON.stringify(record),
        'EX',
        Math.max(1, Math.ceil(ttlSeconds)),
      );
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  async get(id: string): Promise<JobRecord | undefined> {
    this.#assertOpen();
    let value: string | null;
    try {
      value = await this.#redis.get(this.key(id));
    } catch (err) {
      throw storeUnavailable(err);
    }
    return value === null ? undefined : (JSON.parse(value) as JobRecord);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect();
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw quiverError('QUIVER_ERR_CLOSED', { component: 'job result store' });
  }
}
