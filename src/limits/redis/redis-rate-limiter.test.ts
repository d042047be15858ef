import diagnostics from 'node:diagnostics_channel';
import { setTimeout as pause } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REDIS, REDIS_URL, serviceAvailable, uniquePrefix } from '../../../test/support/services.ts';
import type { RateLimitStoreErrorEvent } from '../events.ts';
import type { TakeResult } from '../rate-limiter.ts';
import { runRateLimiterContract } from '../rate-limiter.contract.ts';
import { RedisRateLimiter } from './redis-rate-limiter.ts';
import { PrivateRedisServer, freePort, redisServerInstalled } from '../../../test/support/private-redis.ts';

const redisUp = await serviceAvailable(REDIS);
if (!redisServerInstalled) {
  const message = 'redis-server is not installed: the rate limiter fault tests cannot run.';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING REDIS RATE LIMITER FAULT TESTS: ${message}\n`);
}

describe.skipIf(!redisUp)('RedisRateLimiter on the shared Redis', () => {
  let admin: Redis;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });

  async function deleteKeys(prefix: string): Promise<void> {
    for await (const keys of admin.scanStream({ match: `${prefix}*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await admin.unlink(...(keys as string[]));
    }
  }

  runRateLimiterContract('redis (two instances, two connections)', async (options) => {
    const keyPrefix = `${uniquePrefix('rl-contract')}:`;
    const a = await RedisRateLimiter.create({ ...options, url: REDIS_URL, keyPrefix });
    const b = await RedisRateLimiter.create({ ...options, url: REDIS_URL, keyPrefix });
    return {
      limiters: [a, b],
      // Redis keeps time with its own clock: let real time pass.
      pass: (ms) => pause(ms),
      cleanup: async () => {
        await Promise.all([a.close(), b.close()]);
        await deleteKeys(keyPrefix);
      },
    };
  });

  it("keeps time with the Redis server's clock, not the caller's", async () => {
    const keyPrefix = `${uniquePrefix('rl-time')}:`;
    const limiter = await RedisRateLimiter.create({
      url: REDIS_URL,
      keyPrefix,
      tokensPerSecond: 1,
      burst: 5,
    });
    try {
      await limiter.take('a');
      const [[seconds, micros], storedUs] = await Promise.all([
        admin.time(),
        admin.hget(`${keyPrefix}a`, 'tsUs'),
      ]);
      const serverUs = Number(seconds) * 1e6 + Number(micros);
      expect(Math.abs(serverUs - Number(storedUs))).toBeLessThan(5e6);
    } finally {
      await limiter.close();
      await deleteKeys(keyPrefix);
    }
  });

  it('lets a bucket expire when it would be full again, so idle subjects cost nothing', async () => {
    const keyPrefix = `${uniquePrefix('rl-expiry')}:`;
    const limiter = await RedisRateLimiter.create({
      url: REDIS_URL,
      keyPrefix,
      tokensPerSecond: 10,
      burst: 3,
    });
    try {
      await limiter.take('a');
      await limiter.take('a');
      // Two tokens missing at 10/s: full again in 200 ms, which is when the key expires.
      const ttlMs = await admin.pttl(`${keyPrefix}a`);
      expect(ttlMs).toBeGreaterThan(0);
      expect(ttlMs).toBeLessThanOrEqual(200);
      await until(async () => (await admin.exists(`${keyPrefix}a`)) === 0);
      // A missing key is a full bucket.
      expect(await limiter.take('a')).toMatchObject({ allowed: true, remaining: 2 });
    } finally {
      await limiter.close();
      await deleteKeys(keyPrefix);
    }
  });

  it('fails with QUIVER_ERR_CLOSED after close()', async () => {
    const limiter = await RedisRateLimiter.create({
      url: REDIS_URL,
      keyPrefix: `${uniquePrefix('rl-closed')}:`,
      tokensPerSecond: 1,
      burst: 1,
    });
    await limiter.close();
    expect(() => limiter.take('a')).toThrow(expect.objectContaining({ code: 'QUIVER_ERR_CLOSED' }));
  });
});

describe.skipIf(!redisServerInstalled)('RedisRateLimiter against a private redis-server', () => {
  let server: PrivateRedisServer;
  beforeAll(async () => {
    server = await PrivateRedisServer.start(await freePort());
  });
  afterAll(async () => {
    await server.kill();
  });

  it('costs one EVALSHA per check', async () => {
    const limiter = await RedisRateLimiter.create({
      url: server.url,
      keyPrefix: 'one:',
      tokensPerSecond: 100,
      burst: 10,
    });
    const admin = new Redis(server.url);
    try {
      await limiter.take('warm-up'); // loads the script (EVALSHA, then EVAL once on NOSCRIPT)
      await admin.config('RESETSTAT');
      await Promise.all(Array.from({ length: 25 }, (_, i) => limiter.take(`s${i % 5}`)));
      const stats = await admin.info('commandstats');
      expect(stats).toMatch(/cmdstat_evalsha:calls=25,/);
      expect(stats).not.toMatch(/cmdstat_eval:/);
      // Redis counts the script's own commands too: one HMGET per check, nothing sent beside it.
      expect(stats).toMatch(/cmdstat_hmget:calls=25,/);
      const calls = [...stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map(
        ([, name, n]) => `${name}=${n}`,
      );
      expect(calls.sort()).toEqual([
        'config|resetstat=1',
        'evalsha=25',
        'hmget=25',
        'hset=25',
        'pexpire=25',
        'time=25',
      ]);
    } finally {
      await limiter.close();
      await admin.quit();
    }
  });

  it('fails open to a local bucket, fast, while Redis hangs or is down; then shares again', async () => {
    const warnings: unknown[] = [];
    const events: RateLimitStoreErrorEvent[] = [];
    const onEvent = (e: unknown): void => void events.push(e as RateLimitStoreErrorEvent);
    diagnostics.subscribe('quiver:ratelimit:store-error', onEvent);
    const limiter = await RedisRateLimiter.create({
      url: server.url,
      keyPrefix: 'fault:',
      tokensPerSecond: 0.001,
      burst: 2,
      commandTimeoutMs: 100,
      retryIntervalMs: 300,
      logger: { warn: (obj: unknown) => void warnings.push(obj), info: () => undefined },
    });
    try {
      expect(await limiter.take('a')).toMatchObject({ allowed: true, remaining: 1 });

      server.freeze(); // a hung host: connected, answering nothing
      const hung = await timed(() => limiter.take('a'));
      expect(hung.ms).toBeLessThan(600); // the 100 ms deadline plus a loaded machine's slack
      // The local bucket starts full: failing open, but still limited.
      expect(hung.result).toMatchObject({ allowed: true, remaining: 1 });
      // While the circuit is open, checks do not even try Redis: answered synchronously.
      const skipped = limiter.take('a');
      expect(skipped).not.toBeInstanceOf(Promise);
      expect(skipped).toMatchObject({ allowed: true, remaining: 0 });
      expect((limiter.take('a') as TakeResult).allowed).toBe(false);
      expect(events.map((e) => e.reason)).toEqual(['error', 'circuit_open', 'circuit_open']);
      expect(warnings).toHaveLength(1); // throttled: one warning, not one per check
      expect(JSON.stringify(warnings[0])).toContain('Command timed out');

      await server.kill(); // a crash
      await until(async () => (await timed(() => limiter.take('b'))).ms < 50);

      server = await PrivateRedisServer.start(server.port);
      const admin = new Redis(server.url);
      try {
        // Back on Redis: the bucket lives there again (a fresh one: the restarted server kept nothing).
        await until(async () => {
          await limiter.take('c');
          return (await admin.exists('fault:c')) === 1;
        });
      } finally {
        await admin.quit();
      }
    } finally {
      diagnostics.unsubscribe('quiver:ratelimit:store-error', onEvent);
      await limiter.close();
    }
  });

  it('starts even when Redis is unreachable, limiting locally', async () => {
    const port = await freePort(); // nothing listens there
    const started = performance.now();
    const limiter = await RedisRateLimiter.create({
      url: `redis://127.0.0.1:${port}`,
      keyPrefix: 'down:',
      tokensPerSecond: 0.001,
      burst: 1,
      connectTimeoutMs: 2000,
    });
    try {
      expect(performance.now() - started).toBeLessThan(1500); // refused at once, no wait for the timeout
      expect(await limiter.take('a')).toMatchObject({ allowed: true });
      expect(await limiter.take('a')).toMatchObject({ allowed: false });
    } finally {
      await limiter.close();
    }
  });
});

async function timed<T>(call: () => T | Promise<T>): Promise<{ result: T; ms: number }> {
  const started = performance.now();
  const result = await call();
  return { result, ms: performance.now() - started };
}

/** Polls `condition` until it holds; fails after `timeoutMs`. */
async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await pause(20);
  }
}
