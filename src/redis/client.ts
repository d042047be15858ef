/**
 * One way to reach Redis for every part of Quiver that uses it (online store, rate limiter, job
 * results): a single server by URL, or a Redis Cluster through any of its nodes. Callers write
 * their commands once against `RedisClient`; what differs for a cluster (multi-key commands must
 * stay within one hash slot) is handled where such commands are built (stores/redis/redis-store.ts).
 *
 * @example
 *   const redis = createRedisClient({ cluster: ['redis://10.0.0.1:7000', 'redis://10.0.0.2:7000'] }, {
 *     commandTimeout: 1000,
 *   });
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { RedisTarget } from './target.ts';

export { describeTarget, type RedisTarget } from './target.ts';

export type RedisClient = Redis | Cluster;

export interface RedisClientOptions {
  readonly commandTimeout: number;
  readonly connectTimeout: number;
  /** Retries of a command after its connection dropped; 0 fails it at once. */
  readonly maxRetriesPerRequest: number;
  /** Queue commands while (re)connecting. Default true, as in ioredis. */
  readonly enableOfflineQueue?: boolean;
  readonly lazyConnect?: boolean;
  /** Commands sent at once rather than auto-pipelined (single server). */
  readonly notPipelined?: string[];
}

const MAX_RECONNECT_DELAY_MS = 1000;
/** ioredis' default: how often a cluster command is retried or redirected before it fails. */
const CLUSTER_MAX_REDIRECTIONS = 16;

const reconnectDelay = (attempt: number): number => Math.min(attempt * 100, MAX_RECONNECT_DELAY_MS);

export function createRedisClient(target: RedisTarget, options: RedisClientOptions): RedisClient {
  const connection: RedisOptions = {
    commandTimeout: options.commandTimeout,
    connectTimeout: options.connectTimeout,
    maxRetriesPerRequest: options.maxRetriesPerRequest,
  };
  // Auto-pipelining: the commands issued in one event-loop turn (those of the requests whose bytes
  // arrived together) go out in one socket write. Measured on the server (`bench features-1:redis
  // --profile`, 32 connections): without it every command paid its own write syscall, 25.9 µs per
  // request in writeUtf8String against 1.8 µs with it, and the main thread spent 116 against 74 µs
  // per request. (A loop that awaits one call at a time shows the opposite: nothing to coalesce,
  // only the pipeline's overhead.)
  if (target.cluster === undefined) {
    return new Redis(target.url, {
      ...connection,
      enableOfflineQueue: options.enableOfflineQueue ?? true,
      lazyConnect: options.lazyConnect ?? false,
      retryStrategy: reconnectDelay,
      enableAutoPipelining: true,
      autoPipeliningIgnoredCommands: options.notPipelined ?? [],
    });
  }
  // Credentials and TLS of the first seed node apply to every node the cluster reports (a Redis
  // Cluster shares one ACL and one transport); the seed URLs themselves keep theirs.
  const first = new URL(target.cluster[0] ?? 'redis://127.0.0.1:6379');
  // A cluster command that meets a closed connection, CLUSTERDOWN or TRYAGAIN is retried after a
  // delay, up to CLUSTER_MAX_REDIRECTIONS times, to ride out a failover. ioredis waits 100 ms each
  // time: 1.6 s before a call to a lost node fails. Spacing the retries so that all of them fit in
  // one command deadline keeps the promise of the single-server client: a call fails within
  // about `commandTimeout` (measured: 1.7 s before, see test/redis-cluster).
  const retryDelay = Math.max(1, Math.floor(options.commandTimeout / CLUSTER_MAX_REDIRECTIONS));
  return new Cluster([...target.cluster], {
    redisOptions: {
      ...connection,
      ...(first.username === '' ? {} : { username: decodeURIComponent(first.username) }),
      ...(first.password === '' ? {} : { password: decodeURIComponent(first.password) }),
      ...(first.protocol === 'rediss:' ? { tls: {} } : {}),
    },
    enableOfflineQueue: options.enableOfflineQueue ?? true,
    lazyConnect: options.lazyConnect ?? false,
    clusterRetryStrategy: reconnectDelay,
    maxRedirections: CLUSTER_MAX_REDIRECTIONS,
    retryDelayOnFailover: retryDelay,
    retryDelayOnClusterDown: retryDelay,
    retryDelayOnTryAgain: retryDelay,
    // It routes a command by its first key, found by name for Redis' own commands; a script that
    // takes its key count first must go through an explicit pipeline instead (slot-groups.ts).
    enableAutoPipelining: true,
  });
}

export function isCluster(client: RedisClient): client is Cluster {
  return client instanceof Cluster;
}

/** Stops queueing commands: after the first connection an outage must fail calls fast. */
export function stopOfflineQueue(client: RedisClient): void {
  client.options.enableOfflineQueue = false;
}

/** Resolves when the client is connected and (for a cluster) knows the slot map. */
export function waitUntilReady(client: RedisClient, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (err?: Error): void => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('end', onEnd);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onReady = (): void => settle();
    const onEnd = (): void => settle(new Error('connection ended'));
    const timer = setTimeout(() => settle(new Error(`not connected within ${timeoutMs} ms`)), timeoutMs);
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}
