/**
 * `quiver serve`: one process, or N processes with node:cluster sharing the port (`--workers N`).
 * LMDB is multi-process safe and Redis is shared, so workers need no coordination of their own.
 */
import cluster from 'node:cluster';
import { Option, type Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import type { ResolvedConfig } from '../../config/resolved.ts';
import { resolveApiKeyAuth } from '../../limits/auth-config.ts';
import { startServer } from '../../main.ts';
import { createLogger } from '../../metrics/logger.ts';
import { banner } from '../banner.ts';
import { configOption, hostOption, parsePositiveInt, portOption } from '../options.ts';
import { onShutdownSignal } from '../shutdown.ts';

export interface ServeOptions {
  config: string;
  port?: number;
  host?: string;
  workers: number;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve features (and models) over HTTP')
    .addOption(configOption())
    .addOption(portOption())
    .addOption(hostOption())
    .addOption(
      new Option('-w, --workers <n>', 'number of processes (node:cluster)')
        .env('QUIVER_WORKERS')
        .argParser(parsePositiveInt('--workers or QUIVER_WORKERS'))
        .default(1),
    )
    .action(async (options: ServeOptions) => {
      const config = await loadConfig(options.config);
      await serve(config, options);
    });
}

export async function serve(
  config: ResolvedConfig,
  options: Omit<ServeOptions, 'config'>,
  extraBanner?: (url: string) => string,
): Promise<void> {
  const logger = createLogger();
  // Checked here too so a config error stops the primary, not N workers it would restart forever.
  resolveApiKeyAuth(config);
  if (options.workers > 1 && cluster.isPrimary) return runPrimary(config, options, extraBanner);
  const server = await startServer(config, { port: options.port, host: options.host, logger });
  try {
    await server.modelsReady;
  } catch (err) {
    await server.close();
    throw err;
  }
  if (cluster.isWorker) process.send?.({ type: 'quiver:listening', url: server.url });
  else process.stdout.write(extraBanner?.(server.url) ?? banner({ url: server.url, config }));
  warnIfExposed(config, options.host ?? config.server.host, logger);
  onShutdownSignal(logger, () => server.close());
}

function warnIfExposed(config: ResolvedConfig, host: string, logger: ReturnType<typeof createLogger>): void {
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '::1';
  // Auth on without keys cannot start (resolveApiKeyAuth), so "no auth" means explicitly disabled.
  if (!loopback && config.auth.enabled === false) {
    logger.warn(
      { host },
      'auth is OFF (auth.enabled: false) and the server listens on a non-loopback address: anyone who ' +
        'can reach it can read and write features and call models. Configure API keys (quiver keygen) ' +
        'and remove `enabled: false`, or listen on 127.0.0.1',
    );
  }
}

function runPrimary(
  config: ResolvedConfig,
  options: Omit<ServeOptions, 'config'>,
  extraBanner?: (url: string) => string,
): Promise<void> {
  const logger = createLogger();
  const listening = new Set<number>();
  let announced = false;
  let stopping = false;
  for (let i = 0; i < options.workers; i++) cluster.fork();
  cluster.on('message', (worker, message: { type?: string; url?: string }) => {
    if (message.type !== 'quiver:listening') return;
    listening.add(worker.id);
    if (!announced && listening.size === options.workers) {
      announced = true;
      process.stdout.write(
        extraBanner?.(message.url!) ?? banner({ url: message.url!, config, workers: options.workers }),
      );
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    if (!listening.has(worker.id)) {
      // It never started (port taken, store unreadable...): another fork would fail the same way.
      logger.error({ workerPid: worker.process.pid, code, signal }, 'a worker failed to start; stopping');
      stopping = true;
      process.exitCode = 1;
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
      return;
    }
    listening.delete(worker.id);
    logger.error({ workerPid: worker.process.pid, code, signal }, 'worker died; starting a new one');
    cluster.fork();
  });
  onShutdownSignal(logger, async () => {
    stopping = true;
    const exits = Object.values(cluster.workers ?? {}).map(
      (w) => new Promise<void>((resolve) => (w!.isDead() ? resolve() : w!.once('exit', () => resolve()))),
    );
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    await Promise.all(exits);
  });
  return Promise.resolve();
}
