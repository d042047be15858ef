/**
 * The composition root: the only module that picks implementations (store adapters, later model
 * runtimes and brokers) and wires them into the server. CLI commands call into here.
 */
import type { FastifyInstance } from 'fastify';
import { Registry } from './config/registry.ts';
import type { ResolvedConfig } from './config/resolved.ts';
import { OnlineFeatureService } from './features/online-features.ts';
import { buildServer } from './http/server.ts';
import { createLogger, type Logger } from './metrics/logger.ts';
import { Metrics } from './metrics/metrics.ts';
import { LmdbStore } from './stores/lmdb/lmdb-store.ts';
import { MemoryStore } from './stores/memory/memory-store.ts';
import type { OnlineStore } from './stores/online-store.ts';
import { RedisStore } from './stores/redis/redis-store.ts';

/** Opens the configured online store (LMDB by default). */
export async function openStore(config: ResolvedConfig): Promise<OnlineStore> {
  const s = config.onlineStore;
  switch (s.type) {
    case 'lmdb':
      return LmdbStore.create({ path: s.path! });
    case 'redis':
      return RedisStore.create({
        url: s.url!,
        keyPrefix: s.keyPrefix,
        project: config.project,
        commandTimeoutMs: s.commandTimeoutMs,
      });
    case 'memory':
      return new MemoryStore();
  }
}

export interface RunningServer {
  readonly app: FastifyInstance;
  readonly store: OnlineStore;
  readonly logger: Logger;
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
  const app = buildServer({ config, registry, store, features, logger, metrics });
  const port = options.port ?? config.server.port;
  const host = options.host ?? config.server.host;
  try {
    await app.listen({ port, host });
  } catch (err) {
    await store.close();
    throw err;
  }
  const address = app.server.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  let closing: Promise<void> | undefined;
  return {
    app,
    store,
    logger,
    url: `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${actualPort}`,
    close() {
      closing ??= (async () => {
        const timer = setTimeout(() => app.server.closeAllConnections(), config.server.drainTimeoutMs);
        try {
          await app.close();
        } finally {
          clearTimeout(timer);
          await store.close();
        }
      })();
      return closing;
    },
  };
}
