/** The ResultStore contract on the real Redis, each case under its own project (key prefix). */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { REDIS, REDIS_URL, serviceAvailable, uniquePrefix } from '../../../test/support/services.ts';
import { runResultStoreContract } from '../result-store.contract.ts';
import { RedisResultStore } from './redis-result-store.ts';

const up = await serviceAvailable(REDIS);

async function deleteKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await redis.keys(pattern);
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

describe.skipIf(!up)('RedisResultStore', () => {
  runResultStoreContract('redis', async () => {
    const project = uniquePrefix('jobs').replace(/:/g, '_');
    const store = await RedisResultStore.create({ url: REDIS_URL, project });
    return {
      store,
      // Redis expires keys by its own clock: wait for it (bounded by the TTL under test).
      elapse: (seconds) => new Promise((resolve) => setTimeout(resolve, seconds * 1000)),
      async cleanup() {
        await store.close();
        await deleteKeys(`q:${project}:job:*`);
      },
    };
  });

  it('keeps a record at q:{project}:job:{id} with the TTL it was given', async () => {
    const project = uniquePrefix('jobs').replace(/:/g, '_');
    const store = await RedisResultStore.create({ url: REDIS_URL, project });
    const redis = new Redis(REDIS_URL);
    try {
      await store.put(
        { id: 'abc', model: 'm', kind: 'infer', status: 'queued', attempts: 0, createdAtMs: 1 },
        3600,
      );
      const key = `q:${project}:job:abc`;
      expect(store.key('abc')).toBe(key);
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(3590);
      expect(ttl).toBeLessThanOrEqual(3600);
      expect(JSON.parse((await redis.get(key))!)).toMatchObject({ id: 'abc', status: 'queued' });
    } finally {
      redis.disconnect();
      await store.close();
      await deleteKeys(`q:${project}:job:*`);
    }
  });

  it('fails with QUIVER_ERR_STORE_UNAVAILABLE when Redis cannot be reached', async () => {
    await expect(
      RedisResultStore.create({ url: 'redis://127.0.0.1:1', project: 'x', connectTimeoutMs: 300 }),
    ).rejects.toMatchObject({ code: 'QUIVER_ERR_STORE_UNAVAILABLE' });
  });
});
