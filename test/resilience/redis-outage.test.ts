/**
 * Fault test: a real Quiver server on a private redis-server, under continuous load of
 * /get-online-features from this test, while Redis crashes (kill -9), comes back on the same port,
 * and later hangs (SIGSTOP) and thaws. Quiver must not crash, must fail fast while Redis is away
 * (503 QUIVER_ERR_STORE_UNAVAILABLE with Retry-After, or rows from its hot cache marked
 * `x-quiver-degraded: stale-cache`), and must recover by itself once Redis is back.
 */
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/validate.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { createLogger } from '../../src/metrics/logger.ts';
import { BreakerStore } from '../../src/stores/breaker-store.ts';
import type { WriteRow } from '../../src/stores/online-store.ts';
import { freePort, PrivateRedisServer, redisServerInstalled, until } from '../support/private-redis.ts';

if (!redisServerInstalled) {
  const message = 'redis-server is not installed: the Redis outage test cannot run.';
  if (process.env.CI === 'true') throw new Error(message);
  console.warn(`\n!!! SKIPPING REDIS OUTAGE TESTS: ${message}\n`);
}

/** Users read before the outage (so the hot cache holds them), and users only ever read once. */
const HOT_USERS = 40;
const COLD_BASE = 100_000;
const COLD_USERS = 5_000;
const WORKERS = 4;
/** Bound on requests per phase, whatever happens. */
const MAX_REQUESTS_PER_PHASE = 20_000;
const TS_MS = Date.now() - 60_000;

type Phase = 'warm' | 'crashed' | 'restarted' | 'hung' | 'thawed';

interface Sample {
  readonly phase: Phase;
  readonly hot: boolean;
  readonly user: number;
  readonly status: number;
  readonly ms: number;
  readonly code: string | undefined;
  readonly degraded: string | undefined;
  readonly retryAfter: string | undefined;
  /** txn_count as served (200 only). */
  readonly value: unknown;
  /** The breaker's state when the request was sent. */
  readonly breakerAtStart: string;
}

const rowsFor = (ids: number[]): WriteRow[] =>
  ids.map((id) => ({ key: String(id), eventTsMs: TS_MS, values: [id * 2] }));

function post(
  agent: http.Agent,
  port: number,
  body: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/get-online-features',
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * "Fast" = p99 under 50 ms. This process hosts both the server and the load, and the machine is
 * shared (2 cores, other suites running): when it is overloaded every request slows down alike. So
 * the budget is 50 ms, or 1.5 × the p99 of the stale-cache answers of the SAME window (same HTTP
 * path, same moment, same machine load; only the store's answer differs) when the machine made
 * even those slower. The 1 s command timeout stays far out of reach either way.
 */
function fastBudgetMs(sameWindowP99Ms: number): number {
  return Math.max(50, 1.5 * sameWindowP99Ms);
}

function p99(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.99) - 1)]!;
}

describe.skipIf(!redisServerInstalled)('Redis outage under load', () => {
  let redis: PrivateRedisServer;
  let server: RunningServer;
  let breaker: BreakerStore['breaker'];
  let port: number;
  const samples: Sample[] = [];
  let phase: Phase = 'warm';
  let stopped = false;
  let workers: Promise<void>[] = [];
  const agent = new http.Agent({ keepAlive: true, maxSockets: WORKERS });
  let coldNext = 0;

  const count = (filter: (s: Sample) => boolean): number => samples.filter(filter).length;

  async function worker(id: number): Promise<void> {
    let i = id;
    while (!stopped) {
      if (count((s) => s.phase === phase) >= MAX_REQUESTS_PER_PHASE)
        throw new Error(`phase ${phase} hit its request bound`);
      const hot = i++ % 2 === 0;
      const user = hot ? 1 + (i % HOT_USERS) : COLD_BASE + (coldNext++ % COLD_USERS);
      const body = JSON.stringify({ features: ['user_stats:txn_count'], entities: { user_id: [user] } });
      const at = phase;
      const breakerAtStart = breaker.state;
      const started = performance.now();
      const res = await post(agent, port, body);
      const ms = performance.now() - started;
      const doc = JSON.parse(res.text) as { code?: string; results?: { values: unknown[] }[] };
      samples.push({
        phase: at,
        hot,
        user,
        status: res.status,
        ms,
        code: doc.code,
        degraded: res.headers['x-quiver-degraded'] as string | undefined,
        retryAfter: res.headers['retry-after'] as string | undefined,
        value: doc.results?.[1]?.values[0],
        breakerAtStart,
      });
    }
  }

  async function seed(): Promise<void> {
    await server.store.write('user_stats', rowsFor(Array.from({ length: HOT_USERS }, (_, i) => i + 1)));
    await server.store.write(
      'user_stats',
      rowsFor(Array.from({ length: COLD_USERS }, (_, i) => COLD_BASE + i)),
    );
  }

  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  beforeAll(async () => {
    loopDelay.enable();
    redis = await PrivateRedisServer.start(await freePort());
    const config = validateConfig(
      {
        project: 'outage',
        onlineStore: { type: 'redis', url: redis.url, keyPrefix: `qt-outage-${process.pid}` },
        entities: [{ name: 'user', joinKeys: ['user_id'] }],
        featureViews: [
          { name: 'user_stats', entities: ['user'], ttlSeconds: 3600, schema: { txn_count: 'int64' } },
        ],
        auth: { enabled: false },
      },
      '',
    );
    server = await startServer(config, {
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ level: 'silent' }),
    });
    expect(server.store).toBeInstanceOf(BreakerStore);
    breaker = (server.store as BreakerStore).breaker;
    port = Number(new URL(server.url).port);
    await seed();
    workers = Array.from({ length: WORKERS }, (_, id) => worker(id));
  });

  afterAll(async () => {
    stopped = true;
    await Promise.allSettled(workers);
    agent.destroy();
    await server?.close();
    await redis?.kill();
  });

  it('survives kill -9 of Redis: fails fast or serves marked stale rows, then recovers on restart without a Quiver restart', async () => {
    await until(
      () => count((s) => s.phase === 'warm' && s.status === 200) >= 300,
      20_000,
      '300 good answers while Redis is up',
    );
    expect(count((s) => s.phase === 'warm' && s.status !== 200)).toBe(0);

    phase = 'crashed';
    loopDelay.reset();
    await redis.kill();
    await until(
      () =>
        count((s) => s.phase === 'crashed' && s.status === 503) >= 300 &&
        count((s) => s.phase === 'crashed' && s.degraded === 'stale-cache') >= 100,
      20_000,
      '300 rejections and 100 stale-cache answers while Redis is down',
    );

    const crashedLoopDelayP99Ms = loopDelay.percentile(99) / 1e6;
    const staleUser = samples.find((s) => s.phase === 'crashed' && s.status === 200)!.user;
    // The Fastify route (inject, and the fallback of the raw fast path) marks stale rows the same way.
    const injected = await server.app.inject({
      method: 'POST',
      url: '/get-online-features',
      payload: { features: ['user_stats:txn_count'], entities: { user_id: [staleUser] } },
    });
    expect(injected.statusCode).toBe(200);
    expect(injected.headers['x-quiver-degraded']).toBe('stale-cache');
    const restartedAt = performance.now();
    redis = await PrivateRedisServer.start(redis.port);
    phase = 'restarted';
    // The new Redis is empty (no persistence): write the data again, retrying while the circuit is
    // still open (a write while open is refused at once).
    await until(
      () =>
        seed().then(
          () => true,
          () => false,
        ),
      20_000,
      'the data to be written to the restarted Redis',
    );
    await until(
      () =>
        count(
          (s) =>
            s.phase === 'restarted' &&
            s.status === 200 &&
            s.degraded === undefined &&
            !s.hot &&
            s.value === s.user * 2,
        ) >= 50,
      20_000,
      '50 fresh answers from the restarted Redis',
    );
    const recoveryMs = performance.now() - restartedAt;

    const crashed = samples.filter((s) => s.phase === 'crashed');
    const failures = crashed.filter((s) => s.status !== 200);
    const stale = crashed.filter((s) => s.status === 200);
    // Every failure is the catalogued 503 with a Retry-After, and fast.
    expect(new Set(failures.map((s) => `${s.status} ${s.code}`))).toEqual(
      new Set(['503 QUIVER_ERR_STORE_UNAVAILABLE']),
    );
    expect(failures.every((s) => Number(s.retryAfter) >= 1)).toBe(true);
    const failP99 = p99(failures.map((s) => s.ms));
    const staleP99 = p99(stale.map((s) => s.ms));
    expect(failP99).toBeLessThan(fastBudgetMs(staleP99));
    // Nothing waited for the 1 s command timeout.
    expect(Math.max(...failures.map((s) => s.ms))).toBeLessThan(500);
    // Stale answers only for users read before the crash, with the values they had, and marked.
    expect(stale.every((s) => s.hot && s.degraded === 'stale-cache' && s.value === s.user * 2)).toBe(true);
    // Users never read before cannot come from the cache: they failed.
    expect(crashed.filter((s) => !s.hot).every((s) => s.status === 503)).toBe(true);
    // The breaker really opened (requests were refused without touching Redis).
    expect(crashed.some((s) => s.breakerAtStart !== 'closed')).toBe(true);
    expect(breaker.state).toBe('closed');
    // After recovery nothing is degraded any more.
    const lastAfter = samples.filter((s) => s.phase === 'restarted').slice(-20);
    expect(lastAfter.every((s) => s.status === 200 && s.degraded === undefined)).toBe(true);
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    console.info(
      `redis kill -9: ${failures.length} failures (p99 ${failP99.toFixed(2)} ms, max ${Math.max(...failures.map((s) => s.ms)).toFixed(2)} ms), ` +
        `${stale.length} stale-cache answers (p99 ${p99(stale.map((s) => s.ms)).toFixed(2)} ms); ` +
        `event-loop delay p99 ${crashedLoopDelayP99Ms.toFixed(1)} ms; recovered ${recoveryMs.toFixed(0)} ms after the restart began`,
    );
  });

  it('survives a hung Redis: after the circuit opens, failures are fast; recovers when it answers again', async () => {
    phase = 'hung';
    redis.freeze();
    loopDelay.reset();
    // Requests in flight wait for the command timeout (1 s); then the circuit opens.
    await until(() => breaker.state !== 'closed', 20_000, 'the circuit to open while Redis hangs');
    await until(
      () => count((s) => s.phase === 'hung' && s.status === 503 && s.breakerAtStart === 'open') >= 200,
      20_000,
      '200 rejections while the circuit is open',
    );
    const hungLoopDelayP99Ms = loopDelay.percentile(99) / 1e6;
    phase = 'thawed';
    redis.thaw();
    await until(
      () =>
        count((s) => s.phase === 'thawed' && s.status === 200 && s.degraded === undefined && !s.hot) >= 50,
      20_000,
      '50 fresh answers after Redis answers again',
    );
    const hung = samples.filter((s) => s.phase === 'hung');
    console.info(
      JSON.stringify(hung.slice(0, 30).map((s) => [s.status, s.code, Math.round(s.ms), s.breakerAtStart])),
    );
    const whileOpen = hung.filter((s) => s.breakerAtStart === 'open' && s.status !== 200);
    expect(new Set(hung.filter((s) => s.status !== 200).map((s) => `${s.status} ${s.code}`))).toEqual(
      new Set(['503 QUIVER_ERR_STORE_UNAVAILABLE']),
    );
    const openP99 = p99(whileOpen.map((s) => s.ms));
    const staleWhileOpen = hung.filter((s) => s.breakerAtStart === 'open' && s.status === 200);
    expect(staleWhileOpen.every((s) => s.degraded === 'stale-cache')).toBe(true);
    const staleP99 = p99(staleWhileOpen.map((s) => s.ms));
    expect(openP99).toBeLessThan(fastBudgetMs(staleP99));
    // Without the breaker each of these would have waited for the 1 s command timeout.
    const slow = hung.filter((s) => s.ms >= 900).length;
    expect(slow).toBeLessThan(hung.length / 10);
    console.info(
      `redis SIGSTOP: ${slow} requests waited for the command timeout, then ${whileOpen.length} were refused while open ` +
        `(p99 ${openP99.toFixed(2)} ms; stale-cache answers p99 ${staleP99.toFixed(2)} ms; event-loop delay p99 ${hungLoopDelayP99Ms.toFixed(1)} ms)`,
    );
  });
});

describe.skipIf(!redisServerInstalled)('onlineStore.hotCacheEntries and onlineStore.breaker', () => {
  it('take the hot cache size and the breaker policy from the config', async () => {
    const redis = await PrivateRedisServer.start(await freePort());
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const serve = (hotCacheEntries: number, breaker?: { consecutiveFailures: number; openMs: number }) =>
      startServer(
        validateConfig(
          {
            project: 'outage',
            onlineStore: {
              type: 'redis',
              url: redis.url,
              keyPrefix: `qt-hot-${process.pid}`,
              hotCacheEntries,
              breaker,
            },
            entities: [{ name: 'user', joinKeys: ['user_id'] }],
            featureViews: [
              { name: 'user_stats', entities: ['user'], ttlSeconds: 3600, schema: { txn_count: 'int64' } },
            ],
            auth: { enabled: false },
          },
          '',
        ),
        { port: 0, host: '127.0.0.1', logger: createLogger({ level: 'silent' }) },
      );
    const cached = await serve(1000);
    // No cache, and a breaker that opens at the first failure and stays open for 30 s.
    const uncached = await serve(0, { consecutiveFailures: 1, openMs: 30_000 });
    const portOf = (s: RunningServer): number => Number(new URL(s.url).port);
    const body = JSON.stringify({ features: ['user_stats:txn_count'], entities: { user_id: [7] } });
    try {
      await cached.store.write('user_stats', rowsFor([7]));
      for (const s of [cached, uncached]) expect((await post(agent, portOf(s), body)).status).toBe(200);
      await redis.kill();
      // Each server's breaker opens after a few failures; the one with a cache then serves row 7 stale.
      await until(
        async () => (await post(agent, portOf(cached), body)).headers['x-quiver-degraded'] === 'stale-cache',
        10_000,
        'the server with a hot cache to answer from it',
      );
      const answers = [];
      for (let i = 0; i < 20; i++) answers.push(await post(agent, portOf(uncached), body));
      expect(answers.filter((a) => a.status === 200)).toEqual([]);
      expect(
        new Set(answers.map((a) => `${a.status} ${(JSON.parse(a.text) as { code: string }).code}`)),
      ).toEqual(new Set(['503 QUIVER_ERR_STORE_UNAVAILABLE']));
      // After the first failure the circuit is open: the rest wait out openMs, as Retry-After says.
      expect(answers.slice(1).map((a) => Number(a.headers['retry-after']) >= 25)).toEqual(
        answers.slice(1).map(() => true),
      );
    } finally {
      agent.destroy();
      await Promise.all([cached.close(), uncached.close()]);
      await redis.kill();
    }
  });
});
