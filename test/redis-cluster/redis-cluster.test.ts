/**
 * Quiver on a real Redis Cluster (three masters started by this file): the online store, the
 * shared rate limiter and the job result store pass their contract suites there, a read spread
 * over every node answers by position, a write bigger than a script chunk keeps the newest event
 * per key, a whole server serves features from the cluster, and losing a node fails reads fast.
 */
import { setTimeout as pause } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.ts';
import { isQuiverError } from '../../src/errors.ts';
import { RedisResultStore } from '../../src/jobs/redis/redis-result-store.ts';
import { runResultStoreContract } from '../../src/jobs/result-store.contract.ts';
import { RedisRateLimiter } from '../../src/limits/redis/redis-rate-limiter.ts';
import { runRateLimiterContract } from '../../src/limits/rate-limiter.contract.ts';
import { startServer } from '../../src/main.ts';
import { createLogger } from '../../src/metrics/logger.ts';
import { runOnlineStoreContract } from '../../src/stores/online-store.contract.ts';
import type { WriteRow } from '../../src/stores/online-store.ts';
import { RedisStore } from '../../src/stores/redis/redis-store.ts';
import { PrivateRedisCluster } from '../support/private-redis-cluster.ts';
import { redisServerInstalled, until } from '../support/private-redis.ts';
import { uniquePrefix } from '../support/services.ts';

if (!redisServerInstalled) {
  const message = 'redis-server is not installed: the Redis Cluster tests cannot run.';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING REDIS CLUSTER TESTS: ${message}\n`);
}

const TS_MS = Date.now() - 60_000;

describe.skipIf(!redisServerInstalled)('Quiver on a Redis Cluster of three masters', () => {
  let cluster: PrivateRedisCluster;

  beforeAll(async () => {
    cluster = await PrivateRedisCluster.start(3);
  }, 60_000);

  afterAll(async () => {
    await cluster?.stop();
  });

  const openStore = (keyPrefix = uniquePrefix('cluster')): Promise<RedisStore> =>
    RedisStore.create({ cluster: cluster.urls, project: 'p', keyPrefix, commandTimeoutMs: 500 });

  runOnlineStoreContract('redis cluster', async () => {
    const store = await openStore();
    return {
      store,
      // Every test has its own key prefix, and the cluster is this file's alone.
      cleanup: () => store.close(),
      syncReads: false,
      asyncReadsReason: 'a Redis read is a network round trip; the port lets it return a promise',
    };
  });

  runRateLimiterContract('redis cluster (two instances)', async (options) => {
    const keyPrefix = `${uniquePrefix('rl-cluster')}:`;
    const a = await RedisRateLimiter.create({ ...options, cluster: cluster.urls, keyPrefix });
    const b = await RedisRateLimiter.create({ ...options, cluster: cluster.urls, keyPrefix });
    return {
      limiters: [a, b],
      // Redis keeps time with its own clock: let real time pass.
      pass: (ms) => pause(ms),
      cleanup: async () => {
        await Promise.all([a.close(), b.close()]);
      },
    };
  });

  runResultStoreContract('redis cluster', async () => {
    const project = uniquePrefix('jobs').replace(/:/g, '_');
    const store = await RedisResultStore.create({ cluster: cluster.urls, project });
    return {
      store,
      // Redis expires keys by its own clock: wait for it (bounded by the TTL under test).
      elapse: (seconds) => pause(seconds * 1000),
      cleanup: () => store.close(),
    };
  });

  it('spreads a view over every node and answers a read across all of them by position', async () => {
    const store = await openStore('spread');
    try {
      const rows: WriteRow[] = Array.from({ length: 300 }, (_, i) => ({
        key: String(i + 1),
        eventTsMs: TS_MS,
        values: [i + 1, `c${i + 1}`],
      }));
      await store.write('user_stats', rows);
      for (const node of cluster.nodes) {
        const client = new Redis(node.url);
        try {
          expect(await client.dbsize(), `keys on the node at port ${node.port}`).toBeGreaterThan(50);
        } finally {
          client.disconnect();
        }
      }
      // 100 keys in scrambled order, five of them never written.
      const keys = Array.from({ length: 100 }, (_, i) => String(((i * 37) % 305) + 1));
      const result = await store.read('user_stats', keys);
      expect(result).toHaveLength(100);
      keys.forEach((key, i) => {
        const n = Number(key);
        expect(result[i], `position ${i}, key ${key}`).toEqual(n <= 300 ? [TS_MS, n, `c${n}`] : undefined);
      });
    } finally {
      await store.close();
    }
  });

  it('writes more rows than one script call takes, newest event per key winning across slots', async () => {
    const store = await openStore('chunks');
    try {
      const rows: WriteRow[] = Array.from({ length: 1_200 }, (_, i) => ({
        key: `u${i}`,
        eventTsMs: TS_MS,
        values: [i],
      }));
      // The same key three times in one call: the newest event wins whatever the order.
      rows.push({ key: 'u7', eventTsMs: TS_MS + 2, values: [-2] });
      rows.push({ key: 'u7', eventTsMs: TS_MS + 1, values: [-1] });
      expect(await store.write('v', rows)).toEqual({ written: 1_201, skippedStale: 1 });
      const keys = rows.slice(0, 1_200).map((r) => r.key);
      const result = await store.read('v', keys);
      expect(result.filter((r) => r === undefined)).toHaveLength(0);
      expect(result[7]).toEqual([TS_MS + 2, -2]);
      expect(result[1_199]).toEqual([TS_MS, 1_199]);
    } finally {
      await store.close();
    }
  });

  it('serves /get-online-features and /push from the cluster through a whole server', async () => {
    const config = validateConfig(
      {
        project: 'clustered',
        onlineStore: { type: 'redis', cluster: cluster.urls },
        entities: [{ name: 'user', joinKeys: ['user_id'] }],
        featureViews: [
          {
            name: 'user_stats',
            entities: ['user'],
            ttlSeconds: 3600,
            schema: { txn_count: 'int64', country: 'string' },
          },
        ],
        auth: { enabled: false },
      },
      '',
    );
    const server = await startServer(config, {
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ level: 'silent' }),
    });
    try {
      const ids = Array.from({ length: 60 }, (_, i) => String(i + 1));
      const push = await fetch(`${server.url}/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          push_source_name: 'user_stats',
          df: { user_id: ids, txn_count: ids.map(Number), country: ids.map((id) => `c${id}`) },
        }),
      });
      expect(push.status).toBe(200);
      const response = await fetch(`${server.url}/get-online-features`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          features: ['user_stats:txn_count', 'user_stats:country'],
          entities: { user_id: [...ids, 'nobody'] },
        }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { results: { values: unknown[]; statuses: string[] }[] };
      expect(body.results[1]!.values).toEqual([...ids.map(Number), null]);
      expect(body.results[2]!.values).toEqual([...ids.map((id) => `c${id}`), null]);
      expect(body.results[1]!.statuses.at(-1)).toBe('NOT_FOUND');
      expect(body.results[1]!.statuses.slice(0, -1).every((s) => s === 'PRESENT')).toBe(true);
    } finally {
      await server.close();
    }
  });

  it('fails a read fast with QUIVER_ERR_STORE_UNAVAILABLE while the node of a key is gone, and recovers when it returns', async () => {
    const store = await openStore('fault');
    try {
      await store.write('v', [{ key: 'k', eventTsMs: TS_MS, values: [1] }]);
      expect(await store.read('v', ['k'])).toEqual([[TS_MS, 1]]);
      const owner = await cluster.nodeOf('fault:p:v:k');
      await owner.kill();
      const started = performance.now();
      const error = await Promise.resolve(store.read('v', ['k'])).then(
        () => undefined,
        (err: unknown) => err,
      );
      const elapsedMs = performance.now() - started;
      expect(isQuiverError(error) && error.code).toBe('QUIVER_ERR_STORE_UNAVAILABLE');
      // commandTimeoutMs is 500: retries of a lost node end within it (they took 1.7 s by default).
      expect(elapsedMs).toBeLessThan(1_200);

      await cluster.restart(owner);
      // The same store, not a new one: the client finds the node again by itself. The node kept
      // nothing on disk, so it is back empty.
      await until(
        () =>
          Promise.resolve(store.read('v', ['k'])).then(
            () => true,
            () => false,
          ),
        20_000,
        'reads of the key to succeed again',
      );
      expect(await store.read('v', ['k'])).toEqual([undefined]);
      await store.write('v', [{ key: 'k', eventTsMs: TS_MS, values: [2] }]);
      expect(await store.read('v', ['k'])).toEqual([[TS_MS, 2]]);
    } finally {
      await store.close();
    }
  });
});
