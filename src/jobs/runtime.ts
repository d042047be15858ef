/**
 * Async jobs as one component for the composition root: the enqueue service, an optional consumer,
 * and the broker and result store they share (built by main.ts, which picks the adapters).
 *
 * Lifecycle, in the order shutdown needs: `stopConsuming()` (no new jobs; the ones in flight finish,
 * are stored and acked — the model batchers must still be open), then the caller closes the models,
 * then `close()` (waits for pending publishes, disconnects the broker, closes the result store).
 */
import type { ResolvedJobsConfig } from '../config/resolved.ts';
import type { Logger } from '../metrics/logger.ts';
import type { JobBroker } from './broker.ts';
import { CallbackSender } from './callback.ts';
import { JobConsumer, type JobModels } from './consumer.ts';
import { JobService } from './job-service.ts';
import type { ResultStore } from './result-store.ts';

export interface JobsRuntimeOptions {
  readonly config: ResolvedJobsConfig;
  readonly broker: JobBroker;
  readonly results: ResultStore;
  readonly models: JobModels;
  readonly maxEntitiesPerRequest: number;
  readonly logger?: Logger;
}

export class JobsRuntime {
  readonly service: JobService;
  readonly broker: JobBroker;
  readonly results: ResultStore;
  #consumer: JobConsumer | undefined;
  #stopped = false;
  #closing: Promise<void> | undefined;

  constructor(private readonly options: JobsRuntimeOptions) {
    this.broker = options.broker;
    this.results = options.results;
    this.service = new JobService({
      broker: options.broker,
      results: options.results,
      models: options.models,
      maxEntitiesPerRequest: options.maxEntitiesPerRequest,
      resultTtlSeconds: options.config.resultTtlSeconds,
      logger: options.logger,
    });
  }

  /** The consumer, once consuming. */
  get consumer(): JobConsumer | undefined {
    return this.#consumer;
  }

  /** Starts running jobs in this process (`prefetch` in flight at most). */
  async startConsuming(prefetch = this.options.config.prefetch): Promise<void> {
    if (this.#consumer !== undefined || this.#stopped) return;
    const { config, broker, results, models, maxEntitiesPerRequest, logger } = this.options;
    this.#consumer = new JobConsumer({
      broker,
      results,
      models,
      maxEntitiesPerRequest,
      maxAttempts: config.broker.maxAttempts,
      resultTtlSeconds: config.resultTtlSeconds,
      callbacks: new CallbackSender({ timeoutMs: config.callbackTimeoutMs, logger }),
      logger,
    });
    await this.#consumer.start(prefetch);
  }

  /** Stops taking jobs; resolves when the jobs in flight are stored and acked. */
  async stopConsuming(): Promise<void> {
    this.#stopped = true;
    await this.#consumer?.close();
  }

  /** stopConsuming(), then disconnects the broker (pending publishes first) and the result store. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.stopConsuming();
      try {
        await this.broker.close();
      } finally {
        await this.results.close();
      }
    })();
    return this.#closing;
  }

  /** Drops the broker connection at once (unacked jobs go back to the queue) and closes the store. */
  async destroy(): Promise<void> {
    this.#closing ??= Promise.resolve();
    this.#stopped = true;
    await this.broker.destroy();
    await this.results.close();
  }
}
