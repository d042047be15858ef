/**
 * Which Redis a part of Quiver talks to, as config states it. Kept apart from client.ts so that
 * config handling and start-up code can name a Redis without loading ioredis.
 */
import { redactUrl } from './errors.ts';

/** A single Redis server, or a Redis Cluster found through its `cluster` seed nodes (URLs). */
export type RedisTarget =
  | { readonly url: string; readonly cluster?: undefined }
  | { readonly cluster: readonly string[]; readonly url?: undefined };

/** Just the connection of an object that holds one (a resolved config section, say). */
export function redisTarget(holder: RedisTarget): RedisTarget {
  return holder.cluster === undefined ? { url: holder.url } : { cluster: holder.cluster };
}

/** For messages and logs: the URL, or the cluster's seed nodes, without passwords. */
export function describeTarget(target: RedisTarget): string {
  return target.cluster === undefined
    ? redactUrl(target.url)
    : `Redis Cluster (${target.cluster.map(redactUrl).join(', ')})`;
}
