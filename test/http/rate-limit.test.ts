/**
 * Rate limits on a real server: 429 with Retry-After and RateLimit-* once a burst is spent, one
 * budget per key across both request paths, per-IP limits for anonymous traffic, and Redis-backed
 * limits shared by two servers.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { QuiverConfig } from '../../src/config/types.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { sha256Hex } from '../../src/limits/api-keys.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { createLogger } from '../../src/metrics/logger.ts';
import { MemoryStore } from '../../src/stores/memory/memory-store.ts';
import { seed, testConfigObject } from '../fixtures/config.ts';
import { REDIS, REDIS_URL, serviceAvailable } from '../support/services.ts';

const KEY_A = 'qk_rate-a-secret';
const KEY_B = 'qk_rate-b-secret';
const KEYS: QuiverConfig['auth'] = {
  apiKeys: [
    { id: 'a', keySha256: sha256Hex(KEY_A), scopes: ['features:read', 'features:write'] },
    { id: 'b', keySha256: sha256Hex(KEY_B), scopes: ['features:read'] },
  ],
};
const LOOKUP = { features: ['user_stats:txn_count'], entities: { user_id: [1001] } };

const servers: RunningServer[] = [];

async function serve(overrides: Partial<QuiverConfig>): Promise<RunningServer> {
  const config = validateConfig({ ...testConfigObject(), ...overrides }, '');
  const store = new MemoryStore();
  await seed(store);
  const server = await startServer(config, {
    port: 0,
    host: '127.0.0.1',
    store,
    logger: createLogger({ level: 'silent' }),
  });
  servers.push(server);
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

interface Answer {
  status: number;
  headers: Headers;
  body: { code?: string; error?: string; details?: { limit?: number; retryAfterS?: number } };
}

async function lookup(
  server: RunningServer,
  headers: Record<string, string> = {},
  path = '/get-online-features',
) {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(LOOKUP),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

const rateHeaders = (res: Answer) => ({
  limit: res.headers.get('ratelimit-limit'),
  remaining: res.headers.get('ratelimit-remaining'),
  reset: res.headers.get('ratelimit-reset'),
});

describe('per-key limits in memory', () => {
  it('counts down in RateLimit-* headers, then answers 429 with Retry-After; one budget across both paths', async () => {
    // 1 token per 1000 s: nothing refills during the test.
    const server = await serve({
      auth: KEYS,
      rateLimits: [{ key: 'apiKey', tokensPerSecond: 0.001, burst: 3 }],
    });
    const a = { 'x-api-key': KEY_A };
    const first = await lookup(server, a); // fast path
    const second = await lookup(server, a, '/get-online-features?via=fastify'); // Fastify
    const third = await lookup(server, { authorization: `Bearer ${KEY_A}` });
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect([first, second, third].map(rateHeaders)).toEqual([
      { limit: '3', remaining: '2', reset: '1000' },
      { limit: '3', remaining: '1', reset: '2000' },
      { limit: '3', remaining: '0', reset: '3000' },
    ]);

    for (const path of ['/get-online-features', '/get-online-features?via=fastify']) {
      const limited = await lookup(server, a, path);
      expect(limited.status).toBe(429);
      expect(limited.body).toEqual({
        error: 'Rate limit exceeded for API key "a"; retry later',
        code: 'QUIVER_ERR_RATE_LIMITED',
        details: { limit: 3, retryAfterS: expect.closeTo(1000, 0) },
      });
      expect(limited.headers.get('retry-after')).toBe('1000');
      expect(rateHeaders(limited)).toMatchObject({ limit: '3', remaining: '0' });
    }
    // Another key has its own budget; open routes are never limited.
    expect((await lookup(server, { 'x-api-key': KEY_B })).status).toBe(200);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(health.headers.get('ratelimit-limit')).toBeNull();
  });

  it('sets Retry-After to the whole seconds until a token is back (at least 1)', async () => {
    const server = await serve({ auth: KEYS, rateLimits: [{ key: 'apiKey', tokensPerSecond: 2, burst: 1 }] });
    expect((await lookup(server, { 'x-api-key': KEY_A })).status).toBe(200);
    const limited = await lookup(server, { 'x-api-key': KEY_A });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body.details?.retryAfterS).toBeGreaterThan(0);
    expect(limited.body.details?.retryAfterS).toBeLessThanOrEqual(0.5);
  });
});

describe('per-IP limits for anonymous traffic', () => {
  it('limits by client IP when auth is disabled, on both paths', async () => {
    const server = await serve({
      auth: { enabled: false },
      rateLimits: [{ key: 'ip', tokensPerSecond: 0.001, burst: 2 }],
    });
    expect((await lookup(server)).status).toBe(200);
    expect((await lookup(server, {}, '/get-online-features?via=fastify')).status).toBe(200);
    for (const path of ['/get-online-features', '/get-online-features?via=fastify']) {
      const limited = await lookup(server, {}, path);
      expect(limited.status).toBe(429);
      expect(limited.body.error).toBe('Rate limit exceeded for IP 127.0.0.1; retry later');
      expect(limited.headers.get('retry-after')).toBe('1000');
    }
  });

  it('applies no limit at all when auth is disabled and none is configured', async () => {
    const server = await serve({ auth: { enabled: false } });
    const res = await lookup(server);
    expect(res.status).toBe(200);
    expect(res.headers.get('ratelimit-limit')).toBeNull();
  });
});

const redisUp = await serviceAvailable(REDIS);

describe.skipIf(!redisUp)('Redis-backed limits shared by two servers', () => {
  let admin: Redis;
  let project: string;
  beforeAll(() => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await admin.quit();
  });
  afterEach(async () => {
    for await (const keys of admin.scanStream({ match: `q:${project}:rl:*`, count: 1000 })) {
      if ((keys as string[]).length > 0) await admin.unlink(...(keys as string[]));
    }
  });

  async function twoServers(burst: number): Promise<[RunningServer, RunningServer]> {
    // The project names the keys (q:{project}:rl:0:{subject}): one per test.
    project = `rl_test_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const overrides: Partial<QuiverConfig> = {
      project,
      auth: KEYS,
      rateLimits: [{ key: 'apiKey', tokensPerSecond: 0.001, burst, store: 'redis', redisUrl: REDIS_URL }],
    };
    return [await serve(overrides), await serve(overrides)];
  }

  it('spends one budget per key across servers and both paths', async () => {
    const [one, two] = await twoServers(4);
    const a = { 'x-api-key': KEY_A };
    const answers = [
      await lookup(one, a),
      await lookup(two, a),
      await lookup(one, a, '/get-online-features?via=fastify'),
      await lookup(two, a, '/get-online-features?via=fastify'),
    ];
    expect(answers.map((r) => [r.status, r.headers.get('ratelimit-remaining')])).toEqual([
      [200, '3'],
      [200, '2'],
      [200, '1'],
      [200, '0'],
    ]);
    for (const [server, path] of [
      [one, '/get-online-features'],
      [two, '/get-online-features?via=fastify'],
    ] as const) {
      const limited = await lookup(server, a, path);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('1000');
      expect(limited.body.code).toBe('QUIVER_ERR_RATE_LIMITED');
    }
    expect((await lookup(two, { 'x-api-key': KEY_B })).status).toBe(200);
    expect(await admin.exists(`q:${project}:rl:0:a`)).toBe(1);
  });

  it('lets exactly `burst` of many concurrent requests through, whichever server they reach', async () => {
    const [one, two] = await twoServers(5);
    const answers = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        lookup(
          i % 2 === 0 ? one : two,
          { 'x-api-key': KEY_A },
          i % 3 === 0 ? '/get-online-features?f' : '/get-online-features',
        ),
      ),
    );
    const statuses = answers.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(19);
  });
});
