/**
 * The composition root: the only module that picks implementations (store adapters, later model
 * runtimes and brokers) and wires them into the server. CLI commands call into here.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Registry } from './config/registry.ts';
import type { ResolvedConfig } from './config/resolved.ts';
import { OnlineFeatureService } from './features/online-features.ts';
import { buildServer } from './http/server.ts';
import { createLogger, type Logger } from './metrics/logger.ts';
import { Metrics } from './metrics/metrics.ts';
import type { ModelRuntime } from './models/model-runtime.ts';
import { ModelManager } from './serving/model-manager.ts';
import type { OnlineStore } from './stores/online-store.ts';

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
      return RedisStore.create({
        url: s.url!,
        keyPrefix: s.keyPrefix,
        project: config.project,
        commandTimeoutMs: s.commandTimeoutMs,
      });
    }
    case 'memory': {
      const { MemoryStore } = await import('./stores/memory/memory-store.ts');
      return new MemoryStore();
    }
  }
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
  const logger = options.logger ?? createLogger();
  const store = options.store ?? (await openStore(config));
  const registry = new Registry(config);
  const metrics = new Metrics();
  const features = new OnlineFeatureService(registry, store);
  const models = new ModelManager({ runtime: options.runtime ?? onnxRuntime(), registry, features, logger });
  const app = buildServer({
    config,
    registry,
    store,
    features,
    logger,
    metrics,
    models,
    // /readyz says "not ready" until every model is loaded and warm (and while one is unloaded).
    readinessChecks: [{ name: 'models', check: () => models.notReady() }],
  });
  const port = options.port ?? config.server.port;
  const host = options.host ?? config.server.host;
  try {
    await app.listen({ port, host });
  } catch (err) {
    await store.close();
    throw err;
  }
  const modelsReady = models.start();
  modelsReady.catch(() => undefined); // the caller decides what a failed model means (serve exits)
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
          await app
            .close()
            .finally(() => diagnostics.unsubscribe('http.server.response.finish', endAfterResponse));
          await models.close();
        } finally {
          clearTimeout(timer);
          metrics.unsubscribe();
          await store.close();
        }
      })();
      return closing;
    },
  };
}
