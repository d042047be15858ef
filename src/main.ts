/**
 * The composition root: the only module that picks implementations (store adapters, later model
 * runtimes and brokers) and wires them into the server. CLI commands call into here.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from './config/registry.ts';
import { DEFAULTS } from './config/defaults.ts';
import type { ResolvedConfig } from './config/resolved.ts';
import { OnlineFeatureService } from './features/online-features.ts';
import { quiverError } from './errors.ts';
import { Guard, type RateLimitRule } from './http/guard.ts';
import { buildServer } from './http/server.ts';
import type { JobBroker } from './jobs/broker.ts';
import type { ResultStore } from './jobs/result-store.ts';
import type { JobsRuntime } from './jobs/runtime.ts';
import { resolveApiKeyAuth } from './limits/auth-config.ts';
import { MemoryRateLimiter } from './limits/memory/token-bucket.ts';
import { createLogger, type Logger } from './metrics/logger.ts';
import { Metrics } from './metrics/metrics.ts';
import type { ModelRuntime } from './models/model-runtime.ts';
import { redisTarget } from './redis/target.ts';
import { ModelManager } from './serving/model-manager.ts';
import type { OnlineStore } from './stores/online-store.ts';
import { pinNextTickShape } from './tick-shape.ts';

/**
 * Opens the configured online store (LMDB by default). Adapters load on first use, so a process
 * pays start-up time only for what its config uses (the < 2 s demo start depends on it).
 */
export async function openStore(config: ResolvedConfig): Promise<OnlineStore> {
  const s = config.onlineStore;
  switch (s.type) {
    case 'lmdb': {
      const { LmdbStore } = await import('./stores/lmdb/lmdb-store.ts');
      return LmdbStore.create({ path: s.path! });
    }
    case 'redis': {
      const { RedisStore } = await import('./stores/redis/redis-store.ts');
      const { BreakerStore } = await import('./stores/breaker-store.ts');
      const redis = await RedisStore.create({
        ...redisTarget(s),
        keyPrefix: s.keyPrefix,
        project: config.project,
        commandTimeoutMs: s.commandTimeoutMs,
      });
      // A circuit breaker (and a small hot cache of recent reads) in front of the network store.
      return new BreakerStore(redis, { ...s.breaker, hotCacheEntriesPerView: s.hotCacheEntries });
    }
    case 'memory': {
      const { MemoryStore } = await import('./stores/memory/memory-store.ts');
      return new MemoryStore();
    }
  }
}

/**
 * Builds one limiter per `rateLimits` entry: in memory (per process), or on Redis (shared by every
 * instance; loaded on first use). Redis keys: `{keyPrefix}:{project}:rl:{index}:{subject}`, with the
 * online store's keyPrefix when it is on Redis (default `q`).
 */
export async function openRateLimiters(config: ResolvedConfig, logger: Logger): Promise<RateLimitRule[]> {
  const rules: RateLimitRule[] = [];
  try {
    for (const [i, r] of config.rateLimits.entries()) {
      const options = { tokensPerSecond: r.tokensPerSecond, burst: r.burst };
      if (r.store === 'memory') {
        rules.push({ key: r.key, limiter: new MemoryRateLimiter(options) });
        continue;
      }
      const { RedisRateLimiter } = await import('./limits/redis/redis-rate-limiter.ts');
      const root = config.onlineStore.type === 'redis' ? config.onlineStore.keyPrefix : undefined;
      const keyPrefix = `${root ?? DEFAULTS.redisKeyPrefix}:${config.project}:rl:${i}:`;
      const limiter = await RedisRateLimiter.create({
        ...options,
        ...r.redis,
        keyPrefix,
        logger,
      });
      rules.push({ key: r.key, limiter });
    }
  } catch (err) {
    await Promise.all(rules.map((rule) => rule.limiter.close()));
    throw err;
  }
  return rules;
}

/**
 * Async jobs: the configured broker (RabbitMQ, or the in-process queue) and result store (Redis, or
 * memory), loaded on first use like the store adapters.
 */
export async function openJobs(
  config: ResolvedConfig,
  models: ModelManager,
  logger: Logger,
): Promise<JobsRuntime> {
  const j = config.jobs;
  let results: ResultStore;
  if (j.results.type === 'redis') {
    const { RedisResultStore } = await import('./jobs/redis/redis-result-store.ts');
    results = await RedisResultStore.create({
      ...redisTarget(j.results),
      keyPrefix: j.results.keyPrefix,
      project: config.project,
    });
  } else {
    const { MemoryResultStore } = await import('./jobs/memory/memory-result-store.ts');
    results = new MemoryResultStore();
  }
  let broker: JobBroker;
  try {
    if (j.broker.type === 'rabbitmq') {
      const { RabbitMqBroker } = await import('./jobs/rabbitmq/rabbitmq-broker.ts');
      broker = await RabbitMqBroker.create({
        url: j.broker.url,
        queue: j.broker.queue,
        publishTimeoutMs: j.broker.publishTimeoutMs,
        logger,
      });
    } else {
      const { MemoryBroker } = await import('./jobs/memory/memory-broker.ts');
      broker = new MemoryBroker();
    }
  } catch (err) {
    await results.close();
    throw err;
  }
  const { JobsRuntime } = await import('./jobs/runtime.ts');
  return new JobsRuntime({
    config: j,
    broker,
    results,
    models,
    maxEntitiesPerRequest: config.server.maxEntitiesPerRequest,
    logger,
  });
}

/** onnxruntime loads (~150 ms) only when a model is first loaded. */
function onnxRuntime(): ModelRuntime {
  return {
    async load(spec) {
      const { OnnxRuntime } = await import('./models/onnx/onnx-runtime.ts');
      return new OnnxRuntime().load(spec);
    },
  };
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly store: OnlineStore;
  readonly logger: Logger;
  readonly models: ModelManager;
  /**
   * Resolves when every configured model is loaded and warm. The server listens before that: /healthz
   * answers at once, while /readyz and model endpoints say "not ready" (503) until warm-up is done.
   */
  readonly modelsReady: Promise<void>;
  /** Async jobs: the enqueue service, the broker and result store, the in-server consumer. */
  readonly jobs: JobsRuntime;
  /**
   * Resolves once the in-server job consumer is subscribed (after the models are ready), at once when
   * the server does not consume (jobs.consumeInServer false).
   */
  readonly jobsConsuming: Promise<void>;
  /** The base URL it listens on (with the real port when 0 was asked for). */
  readonly url: string;
  /** Stops accepting, finishes in-flight requests (bounded by server.drainTimeoutMs), closes deps. */
  close(): Promise<void>;
}

export interface StartOptions {
  port?: number;
  host?: string;
  logger?: Logger;
  /** Use this store instead of opening the configured one (tests, demo). */
  store?: OnlineStore;
  /** Use this model runtime instead of onnxruntime (tests). */
  runtime?: ModelRuntime;
}

/** Builds every dependency, the server, and listens. */
export async function startServer(
  config: ResolvedConfig,
  options: StartOptions = {},
): Promise<RunningServer> {
  pinNextTickShape();
  const logger = options.logger ?? createLogger();
  // Auth first: a config error (auth on without keys) must stop startup before anything opens.
  const auth = resolveApiKeyAuth(config);
  const rateLimits = await openRateLimiters(config, logger);
  const closeLimiters = (): Promise<unknown> => Promise.all(rateLimits.map((r) => r.limiter.close()));
  let store: OnlineStore;
  try {
    store = options.store ?? (await openStore(config));
  } catch (err) {
    await closeLimiters();
    throw err;
  }
  const registry = new Registry(config);
  const metrics = new Metrics();
  const features = new OnlineFeatureService(registry, store);
  const models = new ModelManager({ runtime: options.runtime ?? onnxRuntime(), registry, features, logger });
  let jobs: JobsRuntime;
  try {
    jobs = await openJobs(config, models, logger);
  } catch (err) {
    await Promise.all([store.close(), closeLimiters()]);
    throw err;
  }
  const app = buildServer({
    config,
    registry,
    store,
    features,
    logger,
    metrics,
    models,
    jobs: jobs.service,
    guard: new Guard({ auth, rateLimits }),
    // /readyz says "not ready" until every model is loaded and warm (and while one is unloaded).
    readinessChecks: [{ name: 'models', check: () => models.notReady() }],
  });
  const port = options.port ?? config.server.port;
  const host = options.host ?? config.server.host;
  try {
    await app.listen({ port, host });
  } catch (err) {
    await jobs.close();
    await store.close();
    await closeLimiters();
    throw err;
  }
  const modelsReady = models.start();
  modelsReady.catch(() => undefined); // the caller decides what a failed model means (serve exits)
  // Jobs start running once the models are warm (before that every run would fail "not ready").
  // A model that fails to load is reported by the caller (serve exits), not as the consumer's failure.
  const jobsConsuming = config.jobs.consumeInServer
    ? modelsReady.then(() =>
        jobs.startConsuming().catch((err: unknown) => {
          logger.error({ err }, 'job consumer did not start');
          throw err;
        }),
      )
    : Promise.resolve();
  jobsConsuming.catch(() => undefined);
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    logger,
    models,
    modelsReady,
    jobs,
    jobsConsuming,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${actualPort}`,
    close() {
      closing ??= (async () => {
        // Stop accepting, let admitted requests finish (they hold the batchers' work), then close
        // models and the store. Past drainTimeoutMs, whatever is left is cut off.
        const timer = setTimeout(() => {
          logger.warn(
            { drainTimeoutMs: config.server.drainTimeoutMs },
            'drain timed out; aborting what is left',
          );
          app.server.closeAllConnections();
          void jobs.destroy();
          void models.destroy();
        }, config.server.drainTimeoutMs);
        // Closing reaps only the keep-alive connections idle at that moment (fastify#7044): one whose
        // request is still running goes idle later and would hold app.close() for keepAliveTimeout
        // (72 s, so the drain always timed out). End each such connection once its response is sent.
        const endAfterResponse = (message: unknown): void => {
          const { server, socket } = message as { server: unknown; socket: Socket };
          if (server === app.server) socket.end();
        };
        diagnostics.subscribe('http.server.response.finish', endAfterResponse);
        try {
          // Jobs in flight need the batchers: they finish, are stored and acked before models close.
          await Promise.all([
            app
              .close()
              .finally(() => diagnostics.unsubscribe('http.server.response.finish', endAfterResponse)),
            jobs.stopConsuming(),
          ]);
          await models.close();
        } finally {
          clearTimeout(timer);
          metrics.unsubscribe();
          await jobs.close().catch((err: unknown) => logger.warn({ err }, 'error while closing jobs'));
          await Promise.all([store.close(), closeLimiters()]);
        }
      })();
      return closing;
    },
  };
}

export interface RunningWorker {
  readonly models: ModelManager;
  readonly jobs: JobsRuntime;
  /** Stops taking jobs, finishes and acks the ones in flight, then closes models, broker and store. */
  close(): Promise<void>;
}

export interface WorkerOptions {
  logger?: Logger;
  /** Jobs in flight at once (default jobs.prefetch). */
  prefetch?: number;
  store?: OnlineStore;
  runtime?: ModelRuntime;
}

/**
 * `quiver worker`: the models and the job consumer without HTTP. Needs a broker other processes can
 * reach (RabbitMQ); the in-process broker is consumed by `quiver serve` itself.
 */
export async function startWorker(
  config: ResolvedConfig,
  options: WorkerOptions = {},
): Promise<RunningWorker> {
  if (config.jobs.broker.type !== 'rabbitmq') {
    throw quiverError('QUIVER_ERR_CONFIG_INVALID', {
      path: config.configPath || '(inline config)',
      reason:
        'quiver worker consumes jobs from RabbitMQ: set jobs.broker = { type: "rabbitmq", url }. With the in-process broker (the default) `quiver serve` runs jobs itself.',
    });
  }
  pinNextTickShape();
  const logger = options.logger ?? createLogger();
  const store = options.store ?? (await openStore(config));
  const registry = new Registry(config);
  const features = new OnlineFeatureService(registry, store);
  const models = new ModelManager({ runtime: options.runtime ?? onnxRuntime(), registry, features, logger });
  let jobs: JobsRuntime | undefined;
  try {
    jobs = await openJobs(config, models, logger);
    await models.start();
    await jobs.startConsuming(options.prefetch);
  } catch (err) {
    await jobs?.close();
    await models.close();
    await store.close();
    throw err;
  }
  const running = jobs;
  let closing: Promise<void> | undefined;
  return {
    models,
    jobs: running,
    close() {
      closing ??= (async () => {
        // Past drainTimeoutMs, drop the broker connection: unacked jobs go back to the queue.
        const timer = setTimeout(() => {
          logger.warn({ drainTimeoutMs: config.server.drainTimeoutMs }, 'worker drain timed out; aborting');
          void running.destroy();
          void models.destroy();
        }, config.server.drainTimeoutMs);
        try {
          await running.stopConsuming();
          await models.close();
        } finally {
          clearTimeout(timer);
          await running.close().catch((err: unknown) => logger.warn({ err }, 'error while closing jobs'));
          await store.close();
        }
      })();
      return closing;
    },
  };
}
