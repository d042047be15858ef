import { setTimeout as pause } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { pack, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS, REDIS_URL, serviceAvailable, uniquePrefix } from '../../../test/support/services.ts';
import { runOnlineStoreContract } from '../online-store.contract.ts';
import { RedisStore } from './redis-store.ts';
import { PrivateRedisServer, freePort, redisServerInstalled } from '../../../test/support/private-redis.ts';

const redisUp = await serviceAvailable(REDIS);
if (!redisServerInstalled) {
  const message = 'redis-server is not installed: the private-server (fault) tests cannot run.';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING REDIS FAULT TESTS: ${message}\n`);
}

describe.skipIf(!redisUp)('RedisStore on the shared Redis', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });

  async function deleteKeys(pattern: string): Promise<void> {
    for await (const keys of admin.scanStream({ match: pattern, count: 1000 })) {
      if ((keys as string[]).length > 0) await admin.unlink(...(keys as string[]));
    }
  }

  runOnlineStoreContract('redis', async () => {
    const keyPrefix = uniquePrefix('redis-contract');
    const store = await RedisStore.create({ url: REDIS_URL, project: 'p', keyPrefix });
    return {
      store,
      cleanup: async () => {
        await store.close();
        await deleteKeys(`${keyPrefix}:*`);
      },
      syncReads: false,
      asyncReadsReason: 'a Redis read is a network round trip; the port lets it return a promise',
    };
  });

  it('says what to fix when a plain server is configured as a cluster', async () => {
    await expect(
      RedisStore.create({ cluster: [REDIS_URL], project: 'p', connectTimeoutMs: 2000 }),
    ).rejects.toMatchObject({
      code: 'QUIVER_ERR_STORE_UNAVAILABLE',
      message: expect.stringMatching(
        /is not a Redis Cluster node \(.*cluster support disabled\): configure it with "url", not "cluster"/,
      ) as unknown,
    });
  });

  it('lays keys out as {prefix}:{project}:{view}:{entityKey} holding plain msgpack', async () => {
    const keyPrefix = uniquePrefix('redis-layout');
    const store = await RedisStore.create({ url: REDIS_URL, project: 'shop', keyPrefix });
    try {
      await store.write('user_stats', [{ key: 'u:1', eventTsMs: 1_700_000_000_000, values: [3, 'x', null] }]);
      await store.setMeta('watermark', '42');
      const raw = await admin.getBuffer(`${keyPrefix}:shop:user_stats:u:1`);
      expect(unpack(raw!)).toEqual([1_700_000_000_000, 3, 'x', null]);
      expect(await admin.hget(`${keyPrefix}:shop:__meta`, 'watermark')).toBe('42');
    } finally {
      await store.close();
      await deleteKeys(`${keyPrefix}:*`);
    }
  });

  it('a value under a view key that is not a record fails its read naming the key; other reads are answered', async () => {
    const keyPrefix = uniquePrefix('redis-corrupt');
    const store = await RedisStore.create({ url: REDIS_URL, project: 'shop', keyPrefix });
    try {
      await store.write('user_stats', [{ key: 'ok', eventTsMs: 1_700_000_000_000, values: [1] }]);
      await admin.set(`${keyPrefix}:shop:user_stats:text`, 'hello');
      await admin.set(`${keyPrefix}:shop:user_stats:map`, pack({ a: 1 }));
      const [good, text, map] = [
        store.read('user_stats', ['ok']),
        store.read('user_stats', ['ok', 'text']),
        store.read('user_stats', ['map']),
      ];
      expect(await good).toEqual([[1_700_000_000_000, 1]]);
      await expect(text).rejects.toMatchObject({
        code: 'QUIVER_ERR_STORE_CORRUPT_RECORD',
        message: expect.stringContaining(`at key "${keyPrefix}:shop:user_stats:text"`) as unknown,
      });
      await expect(map).rejects.toMatchObject({
        code: 'QUIVER_ERR_STORE_CORRUPT_RECORD',
        message: expect.stringContaining(
          'expected a msgpack array [eventTsMs, ...values], got object',
        ) as unknown,
      });
    } finally {
      await store.close();
      await deleteKeys(`${keyPrefix}:*`);
    }
  });

  it("uses 'q' as the default key prefix", async () => {
    const project = uniquePrefix('redis-default-prefix');
    const store = await RedisStore.create({ url: REDIS_URL, project });
    try {
      await store.write('v', [{ key: 'k', eventTsMs: 1, values: [] }]);
      expect(await admin.exists(`q:${project}:v:k`)).toBe(1);
    } finally {
      await store.close();
      await deleteKeys(`q:${project}:*`);
    }
  });
});

describe('RedisStore.create without a reachable Redis', () => {
  it('fails within its connect timeout with QUIVER_ERR_STORE_UNAVAILABLE naming the URL, not the password', async () => {
    const port = await freePort();
    const started = performance.now();
    const error: unknown = await RedisStore.create({
      url: `redis://:secret@127.0.0.1:${port}`,
      project: 'p',
      connectTimeoutMs: 500,
    }).catch((err: unknown) => err);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(error).toMatchObject({ code: 'QUIVER_ERR_STORE_UNAVAILABLE', kind: 'unavailable' });
    const message = (error as Error).message;
    expect(message).toContain(`127.0.0.1:${port}`);
    expect(message).not.toContain('secret');
  });
});

describe.skipIf(!redisServerInstalled)('RedisStore against a private redis-server', () => {
  let server: PrivateRedisServer;
  beforeAll(async () => {
    server = await PrivateRedisServer.start(await freePort());
  });
  afterAll(async () => {
    await server.kill();
  });

  it('reads 10,000 keys with a single MGET', async () => {
    const store = await RedisStore.create({ url: server.url, project: 'wide' });
    const admin = new Redis(server.url);
    try {
      const rows = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, eventTsMs: 1, values: [i] }));
      await store.write('v', rows);
      await admin.config('RESETSTAT');
      const result = await store.read(
        'v',
        rows.map((row) => row.key),
      );
      expect(result[9_999]).toEqual([1, 9_999]);
      const stats = await admin.info('commandstats');
      expect(stats).toMatch(/cmdstat_mget:calls=1,/);
      expect(stats).not.toMatch(/cmdstat_get:/);
    } finally {
      await store.close();
      await admin.quit();
    }
  });

  it('sends the reads of one event-loop turn as one MGET, each answered with its own rows', async () => {
    const store = await RedisStore.create({ url: server.url, project: 'turn' });
    const admin = new Redis(server.url);
    try {
      await store.write('v', [
        { key: 'a', eventTsMs: 1, values: ['A'] },
        { key: 'b', eventTsMs: 2, values: ['B'] },
      ]);
      await store.write('w', [{ key: 'a', eventTsMs: 3, values: [30] }]);
      await admin.config('RESETSTAT');
      // As the HTTP requests of one turn do: each its own read, none awaited before the next.
      const results = await Promise.all([
        store.read('v', ['a']),
        store.read('w', ['a', 'missing']),
        store.read('v', ['b', 'a']),
        ...Array.from({ length: 20 }, () => store.read('v', ['b'])),
      ]);
      expect(results.slice(0, 3)).toEqual([
        [[1, 'A']],
        [[3, 30], undefined],
        [
          [2, 'B'],
          [1, 'A'],
        ],
      ]);
      expect(results.slice(3)).toEqual(Array.from({ length: 20 }, () => [[2, 'B']]));
      expect(await admin.info('commandstats')).toMatch(/cmdstat_mget:calls=1,/);
      // A read of a later turn is a batch of its own.
      expect(await store.read('v', ['a'])).toEqual([[1, 'A']]);
      expect(await admin.info('commandstats')).toMatch(/cmdstat_mget:calls=2,/);
    } finally {
      await store.close();
      await admin.quit();
    }
  });

  it('fails fast while Redis hangs or is down, and recovers without being recreated', async () => {
    const store = await RedisStore.create({ url: server.url, project: 'fault' }); // commandTimeoutMs 1000
    try {
      await store.write('v', [{ key: 'u', eventTsMs: 1, values: [1] }]);
      expect(await store.read('v', ['u'])).toEqual([[1, 1]]);

      server.freeze();
      await expectUnavailableWithin(1500, () => store.read('v', ['u']));
      // A crash with a command in flight: the frozen server cannot have answered it.
      const inFlight = Promise.resolve(store.read('v', ['u']));
      // It may reject while the server is being killed, before the check below awaits it.
      inFlight.catch(() => undefined);
      await server.kill();
      await expectUnavailableWithin(1500, () => inFlight);
      await expectUnavailableWithin(1500, () => store.read('v', ['u']));
      await expectUnavailableWithin(1500, () => store.write('v', [{ key: 'u', eventTsMs: 2, values: [2] }]));

      server = await PrivateRedisServer.start(server.port);
      // The restarted server kept nothing (no persistence); the same store must answer again.
      expect(await retry(() => store.read('v', ['u']))).toEqual([undefined]);
      await store.write('v', [{ key: 'u', eventTsMs: 3, values: [3] }]);
      expect(await store.read('v', ['u'])).toEqual([[3, 3]]);
    } finally {
      await store.close();
    }
  });
});

async function expectUnavailableWithin(limitMs: number, call: () => unknown): Promise<void> {
  const started = performance.now();
  const error = await Promise.resolve()
    .then(call)
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  const elapsedMs = performance.now() - started;
  expect(error).toMatchObject({ code: 'QUIVER_ERR_STORE_UNAVAILABLE', kind: 'unavailable' });
  expect(elapsedMs).toBeLessThan(limitMs);
}

/** Retries `attempt` until it resolves, awaiting each try; fails after `attempts` tries. */
async function retry<T>(attempt: () => T | Promise<T>, attempts = 100, pauseMs = 50): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      return await attempt();
    } catch (err) {
      lastError = err;
      await pause(pauseMs);
    }
  }
  throw lastError;
}
