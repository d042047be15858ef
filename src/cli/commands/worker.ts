/**
 * `quiver worker`: loads the configured models and runs async jobs from RabbitMQ — no HTTP. Start as
 * many as the load needs (each takes `--prefetch` jobs at a time). SIGTERM drains: it stops taking
 * jobs, finishes and acks the ones in flight, closes models and connections, exits 0. A job in
 * flight when a worker dies is redelivered to another one by RabbitMQ.
 */
import type { Command } from 'commander';
import { Option } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { startWorker } from '../../main.ts';
import { createLogger } from '../../metrics/logger.ts';
import { configOption, parsePositiveInt } from '../options.ts';
import { onShutdownSignal } from '../shutdown.ts';

export interface WorkerCommandOptions {
  config: string;
  prefetch?: number;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run async jobs from RabbitMQ (jobs.broker) without serving HTTP')
    .addOption(configOption())
    .addOption(
      new Option('--prefetch <n>', 'jobs in flight at once (default: jobs.prefetch, 16)')
        .env('QUIVER_PREFETCH')
        .argParser(parsePositiveInt('--prefetch or QUIVER_PREFETCH')),
    )
    .action(async (options: WorkerCommandOptions) => {
      const config = await loadConfig(options.config);
      const logger = createLogger({ name: 'quiver-worker' });
      const prefetch = options.prefetch ?? config.jobs.prefetch;
      const worker = await startWorker(config, { logger, prefetch });
      const broker = config.jobs.broker;
      const queue = broker.type === 'rabbitmq' ? broker.queue : 'memory';
      process.stdout.write(`quiver worker: consuming "${queue}" (prefetch ${prefetch}); SIGTERM drains\n`);
      onShutdownSignal(logger, () => worker.close());
    });
}
