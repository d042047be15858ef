/**
 * Every default in one table, with units in the names. `validate.ts` fills these in once; nothing
 * else in Quiver carries a fallback value of its own.
 */
export const DEFAULTS = {
  lmdbPath: './data/online',
  redisUrl: 'redis://127.0.0.1:6379',
  redisKeyPrefix: 'q',
  redisCommandTimeoutMs: 1000,
  /** Circuit breaker in front of Redis (stores/breaker-store.ts): defaults of onlineStore.breaker. */
  redisBreaker: {
    consecutiveFailures: 5,
    failureRate: 0.5,
    windowMs: 10_000,
    minimumCalls: 20,
    openMs: 1000,
  },
  /**
   * onlineStore.hotCacheEntries: rows the cache holds stay alive across scavenges and get promoted.
   * At 10,000, 100-entity reads promoted 1.7–2.4 MB per scavenge and the mark-compacts that followed
   * doubled the p99 (12–16 against 8.4–8.8 ms at one connection); at 2,000, 25 KB.
   */
  redisHotCacheEntries: 2_000,
  server: {
    port: 8080,
    host: '127.0.0.1',
    maxBodyBytes: 1_048_576,
    maxEntitiesPerRequest: 10_000,
    drainTimeoutMs: 10_000,
    /** Measured in docs/decisions.md ("Answers of one event-loop turn are written together"). */
    writeHoldMicros: 500,
  },
  ttlSeconds: 0,
  maxFutureSeconds: 900,
  model: {
    runners: 1,
    intraOpThreads: 1,
    batching: { maxBatchSize: 64, maxQueueDelayUs: 0, preferredBatchSizes: [] as number[] },
    queue: { priorityLevels: 2, defaultPriority: 2, maxQueueSize: 1024, defaultTimeoutMs: 1000 },
  },
  rateLimits: { store: 'memory' },
  jobs: {
    resultTtlSeconds: 3600,
    maxAttempts: 3,
    queue: 'quiver.jobs',
    publishTimeoutMs: 5000,
    prefetch: 16,
    callbackTimeoutMs: 5000,
  },
} as const;
