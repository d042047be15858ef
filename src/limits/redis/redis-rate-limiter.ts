/**
 * The shared token-bucket limiter: one Redis hash per subject, updated by one Lua script
 * (scripts/take-token-1.lua) in one EVALSHA per check. The script reads Redis's own clock, so any
 * number of Quiver instances, whatever their clocks, share one budget per subject, and its atomicity
 * means concurrent takes never overspend it. Idle buckets expire by themselves.
 *
 * When Redis is down or slow, the limiter FAILS OPEN to a per-instance in-memory bucket with the same
 * parameters, logs a warning (at most every 10 s) and publishes `quiver:ratelimit:store-error`
 * (metric quiver_rate_limit_store_errors_total). Why open: a rate limiter protects capacity, it is
 * not an access control (auth is checked before it, locally, and does not depend on Redis). Failing
 * closed would turn a Redis outage into a full API outage, the very thing the limiter is there to
 * prevent; failing fully open would drop all protection. The local fallback keeps every subject
 * limited, to N × its budget across N instances, until Redis answers again.
 * It fails fast: each call has a deadline (commandTimeoutMs, default 100 ms); commands are never
 * queued while disconnected; and after a failure, checks skip Redis for retryIntervalMs (1 s)
 * instead of each waiting out the deadline of a hung server.
 *
 * @example
 *   const limiter = await RedisRateLimiter.create({
 *     url: 'redis://127.0.0.1:6379', keyPrefix: 'q:fraud:rl:0:', tokensPerSecond: 100, burst: 200,
 *   });
 *   await limiter.take('svc-a'); // { allowed: true, remaining: 199, limit: 200, ... }
 */
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { quiverError } from '../../errors.ts';
import type { Logger } from '../../metrics/logger.ts';
import { createRedisClient, type RedisClient, type RedisTarget } from '../../redis/client.ts';
import { limitChannels, type RateLimitStoreErrorEvent } from '../events.ts';
import { MemoryRateLimiter } from '../memory/token-bucket.ts';
import type { RateLimiter, RateLimiterOptions, TakeResult } from '../rate-limiter.ts';

/** `url`: `redis://[user:password@]host:port[/db]`; or `cluster`: seed node URLs of a Redis Cluster. */
export type RedisRateLimiterOptions = RateLimiterOptions & RedisTarget & RedisLimiterSettings;

interface RedisLimiterSettings {
  /** Prefix of this limiter's keys; the subject is appended (e.g. 'q:fraud:rl:0:'). */
  readonly keyPrefix: string;
  /** Deadline of one check; past it the check uses the local fallback. Default 100. */
  readonly commandTimeoutMs?: number;
  /** How long create() waits for the first connection (it starts anyway, failing open). Default 3000. */
  readonly connectTimeoutMs?: number;
  /** After a failure, checks go straight to the fallback for this long. Default 1000. */
  readonly retryIntervalMs?: number;
  readonly logger?: Pick<Logger, 'warn' | 'info'>;
}

export const REDIS_LIMITER_DEFAULTS = {
  commandTimeoutMs: 100,
  connectTimeoutMs: 3000,
  retryIntervalMs: 1000,
} as const;

const LOG_INTERVAL_MS = 10_000;
const TAKE_SCRIPT = new URL('./scripts/take-token-1.lua', import.meta.url);

type ScriptReply = [allowed: number, remaining: number, retryAfterUs: number, resetUs: number];

/** The command `defineCommand` adds; ioredis cannot type it. */
type ScriptedRedis = RedisClient & {
  takeToken(key: string, tokensPerSecond: string, burst: string): Promise<ScriptReply>;
};

const ERROR_EVENT: RateLimitStoreErrorEvent = { store: 'redis', reason: 'error' };
const CIRCUIT_OPEN_EVENT: RateLimitStoreErrorEvent = { store: 'redis', reason: 'circuit_open' };

export class RedisRateLimiter implements RateLimiter {
  readonly tokensPerSecond: number;
  readonly burst: number;
  readonly #redis: ScriptedRedis;
  readonly #keyPrefix: string;
  readonly #rateArg: string;
  readonly #burstArg: string;
  readonly #fallback: MemoryRateLimiter;
  readonly #retryIntervalMs: number;
  readonly #logger: Pick<Logger, 'warn' | 'info'> | undefined;
  /** Until this time (performance.now), checks skip Redis. */
  #skipRedisUntilMs = 0;
  #failing = false;
  #failuresSinceLog = 0;
  #lastLogMs = -Infinity;
  #closed = false;

  private constructor(redis: ScriptedRedis, options: RedisRateLimiterOptions) {
    this.#redis = redis;
    this.tokensPerSecond = options.tokensPerSecond;
    this.burst = options.burst;
    this.#keyPrefix = options.keyPrefix;
    this.#rateArg = String(options.tokensPerSecond);
    this.#burstArg = String(options.burst);
    this.#fallback = new MemoryRateLimiter(options);
    this.#retryIntervalMs = options.retryIntervalMs ?? REDIS_LIMITER_DEFAULTS.retryIntervalMs;
    this.#logger = options.logger;
  }

  static async create(options: RedisRateLimiterOptions): Promise<RedisRateLimiter> {
    const connectTimeoutMs = options.connectTimeoutMs ?? REDIS_LIMITER_DEFAULTS.connectTimeoutMs;
    const lua = await readFile(TAKE_SCRIPT, 'utf8');
    const redis = createRedisClient(options, {
      commandTimeout: options.commandTimeoutMs ?? REDIS_LIMITER_DEFAULTS.commandTimeoutMs,
      connectTimeout: connectTimeoutMs,
      // Never queue or replay a check: a late answer is worth nothing, the fallback answers now.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
    }) as ScriptedRedis;
    // Without a listener ioredis logs every failed reconnect; failures surface through take().
    redis.on('error', () => undefined);
    redis.defineCommand('takeToken', { numberOfKeys: 1, lua });
    const limiter = new RedisRateLimiter(redis, options);
    const ready = once(redis, 'ready').then(
      () => true,
      () => false, // an 'error' event first: refused, unreachable
    );
    const timer = new Promise<boolean>((resolve) => setTimeout(resolve, connectTimeoutMs, false).unref());
    if (!(await Promise.race([ready, timer]))) {
      // Start anyway (fail open, see above): restarting instances must not crash-loop on an outage.
      limiter.#reportFailure(new Error(`no connection within ${connectTimeoutMs} ms`));
    }
    return limiter;
  }

  take(subject: string): TakeResult | Promise<TakeResult> {
    if (this.#closed) throw quiverError('QUIVER_ERR_CLOSED', { component: 'rate limiter' });
    if (this.#skipRedisUntilMs !== 0) {
      if (performance.now() < this.#skipRedisUntilMs) {
        limitChannels.rateLimitStoreError.publish(CIRCUIT_OPEN_EVENT);
        return this.#fallback.take(subject);
      }
      this.#skipRedisUntilMs = 0;
    }
    return this.#redis.takeToken(this.#keyPrefix + subject, this.#rateArg, this.#burstArg).then(
      (reply) => this.#toResult(reply),
      (err: unknown) => {
        this.#reportFailure(err);
        return this.#fallback.take(subject);
      },
    );
  }

  /** Closes the connection (waiting for replies in flight). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#fallback.close();
    try {
      await this.#redis.quit();
    } catch {
      this.#redis.disconnect(); // not connected: nothing to wait for
    }
  }

  /** Drops the connection at once. */
  destroy(): void {
    this.#closed = true;
    this.#redis.disconnect();
  }

  #toResult(reply: ScriptReply): TakeResult {
    if (this.#failing) {
      this.#failing = false;
      this.#logger?.info(
        { keyPrefix: this.#keyPrefix },
        'rate limiter: Redis answers again; limits are shared again',
      );
    }
    const allowed = reply[0] === 1;
    return {
      allowed,
      remaining: reply[1],
      limit: this.burst,
      resetS: reply[3] / 1e6,
      retryAfterS: reply[2] / 1e6,
    };
  }

  #reportFailure(err: unknown): void {
    const nowMs = performance.now();
    this.#skipRedisUntilMs = nowMs + this.#retryIntervalMs;
    this.#failing = true;
    this.#failuresSinceLog++;
    limitChannels.rateLimitStoreError.publish(ERROR_EVENT);
    if (nowMs - this.#lastLogMs >= LOG_INTERVAL_MS) {
      this.#logger?.warn(
        {
          keyPrefix: this.#keyPrefix,
          reason: err instanceof Error ? err.message : String(err),
          failures: this.#failuresSinceLog,
        },
        'rate limiter: Redis is unavailable; failing open to per-instance limits',
      );
      this.#lastLogMs = nowMs;
      this.#failuresSinceLog = 0;
    }
  }
}
