/**
 * Runs jobs from the broker through the same path as the sync endpoints: re-validates the request,
 * submits it to the model's batcher at the job's priority, stores the result (with the TTL), and only
 * then lets the broker ack. Each run is recorded: queued → running → done | failed.
 *
 * What happens on failure:
 * - the request is invalid or the model unknown: failed at once, never retried;
 * - the run fails (model not ready, queue full, deadline, inference or transform error): retried,
 *   republished with attempt + 1 after a short backoff; after maxAttempts it is failed and dead-lettered;
 * - the result store is unreachable: the message is requeued unchanged after a pause (nothing is
 *   recorded, so it will run again);
 * - the job is already final (a redelivery after a lost ack): acked without running again.
 * Starts are counted in the record too, so a job that kills its worker every time is dead-lettered
 * after maxAttempts starts even though no worker ever settled it.
 *
 * @example
 *   const consumer = new JobConsumer({ broker, results, models, maxAttempts: 3, resultTtlSeconds: 3600, maxEntitiesPerRequest: 10_000 });
 *   await consumer.start(16);
 *   await consumer.close(); // stop receiving, finish and ack what is in flight
 */
import { isQuiverError, quiverError, type QuiverError } from '../errors.ts';
import type { Logger } from '../metrics/logger.ts';
import type { ModelPayload, ModelResult } from '../serving/model-executor.ts';
import type { ModelHandle } from '../serving/model-manager.ts';
import { inferPayload, inferResponse, predictPayload, predictResponse } from '../serving/request-payloads.ts';
import type { BrokerDelivery, Consumption, JobBroker, Settlement } from './broker.ts';
import type { CallbackSender } from './callback.ts';
import { jobChannels, type JobSettledEvent } from './events.ts';
import { isFinal, jobView, type JobEnvelope, type JobError, type JobRecord } from './job.ts';
import type { ResultStore } from './result-store.ts';

/** The part of the ModelManager jobs need. */
export interface JobModels {
  get(name: string): ModelHandle;
}

export interface JobConsumerOptions {
  readonly broker: JobBroker;
  readonly results: ResultStore;
  readonly models: JobModels;
  readonly maxEntitiesPerRequest: number;
  readonly maxAttempts: number;
  readonly resultTtlSeconds: number;
  readonly callbacks?: CallbackSender;
  readonly logger?: Logger;
  /** Pause before republishing a failed run, times the attempt number. Default 200. */
  readonly retryBackoffMs?: number;
  /** Pause before requeueing when the result store fails. Default 1000. */
  readonly storeBackoffMs?: number;
  readonly nowMs?: () => number;
}

/** Error kinds that say "not now" rather than "never": the run is retried. */
const TRANSIENT_KINDS = new Set(['unavailable', 'closed', 'deadline_exceeded']);

export function toJobError(err: unknown): JobError {
  if (isQuiverError(err)) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  return { code: 'QUIVER_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class JobConsumer {
  readonly #o: JobConsumerOptions;
  readonly #nowMs: () => number;
  /** Jobs running in this process, by id: a redelivered copy waits for the original instead of running twice. */
  readonly #running = new Map<string, Promise<Settlement>>();
  #consumption: Consumption | undefined;
  #starting: Promise<unknown> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: JobConsumerOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Jobs running now in this process. */
  get inFlight(): number {
    return this.#running.size;
  }

  async start(prefetch: number): Promise<void> {
    if (this.#closing !== undefined) throw quiverError('QUIVER_ERR_CLOSED', { component: 'job consumer' });
    this.#starting = this.#o.broker
      .consume((delivery) => this.handle(delivery), { prefetch })
      .then((consumption) => (this.#consumption = consumption));
    await this.#starting;
  }

  /** Stops receiving jobs; resolves once the ones in flight are stored and settled. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#starting?.catch(() => undefined);
      await this.#consumption?.stop();
      await this.#o.callbacks?.close();
    })();
    return this.#closing;
  }

  /** Runs one delivery and says how to settle it. Never throws. */
  async handle(delivery: BrokerDelivery): Promise<Settlement> {
    const id = delivery.job.id;
    const local = this.#running.get(id);
    if (local !== undefined) {
      await local;
      this.#publish(delivery.job, 'duplicate', 0, false);
      return { kind: 'ack' };
    }
    const run = this.#run(delivery);
    this.#running.set(id, run);
    try {
      return await run;
    } finally {
      this.#running.delete(id);
    }
  }

  async #run(delivery: BrokerDelivery): Promise<Settlement> {
    const { job } = delivery;
    const { results, maxAttempts, resultTtlSeconds } = this.#o;
    let record: JobRecord | undefined;
    try {
      record = await results.get(job.id);
    } catch (err) {
      return this.#storeFailed(job, err);
    }
    if (record !== undefined && isFinal(record.status)) {
      this.#publish(job, 'duplicate', record.attempts, false);
      return { kind: 'ack' };
    }
    // Starts so far: from the record (counts runs whose worker died) or the broker's attempt header.
    const attempts = Math.max(record?.attempts ?? 0, delivery.attempt - 1) + 1;
    const base: JobRecord = record ?? {
      id: job.id,
      model: job.model,
      kind: job.kind,
      status: 'queued',
      attempts: 0,
      createdAtMs: job.createdAtMs,
    };
    if (attempts > maxAttempts) {
      const error =
        record?.error ??
        toJobError(quiverError('QUIVER_ERR_JOB_ATTEMPTS_EXHAUSTED', { id: job.id, attempts: attempts - 1 }));
      return this.#finish(job, { ...base, attempts: attempts - 1, status: 'failed', error }, true);
    }
    const running: JobRecord = { ...base, status: 'running', attempts, startedAtMs: this.#nowMs() };
    try {
      await results.put(running, resultTtlSeconds);
    } catch (err) {
      return this.#storeFailed(job, err);
    }

    let handle: ModelHandle;
    let payload: ModelPayload;
    try {
      handle = this.#o.models.get(job.model);
      payload =
        job.kind === 'predict'
          ? predictPayload(handle, job.body, this.#o.maxEntitiesPerRequest)
          : inferPayload(handle, job.body);
    } catch (err) {
      // Not ready yet is worth another try; a bad request or an unknown model never succeeds.
      if (isQuiverError(err) && TRANSIENT_KINDS.has(err.kind)) return this.#runFailed(job, running, err);
      return this.#finish(job, { ...running, status: 'failed', error: toJobError(err) }, false);
    }

    let result: ModelResult;
    try {
      result = await handle.batcher.submit(payload, payload.rows, { priority: job.priority });
    } catch (err) {
      return this.#runFailed(job, running, err);
    }
    const body =
      job.kind === 'predict' ? predictResponse(handle, result) : inferResponse(handle, job.body, result);
    return this.#finish(job, { ...running, status: 'done', result: body, error: undefined }, false);
  }

  /** A run failed: retry after a backoff, or fail and dead-letter after maxAttempts. */
  async #runFailed(job: JobEnvelope, running: JobRecord, err: unknown): Promise<Settlement> {
    const error = toJobError(err);
    if (running.attempts >= this.#o.maxAttempts) {
      return this.#finish(job, { ...running, status: 'failed', error }, true);
    }
    try {
      await this.#o.results.put({ ...running, status: 'queued', error }, this.#o.resultTtlSeconds);
    } catch (storeErr) {
      return this.#storeFailed(job, storeErr);
    }
    const retryAfterMs = isQuiverError(err) && err.retryAfterS !== undefined ? err.retryAfterS * 1000 : 0;
    await sleep(Math.min(5000, Math.max(retryAfterMs, (this.#o.retryBackoffMs ?? 200) * running.attempts)));
    this.#publish(job, 'retry', running.attempts, false);
    return { kind: 'retry' };
  }

  /** Stores a final record, then settles (ack, or dead-letter), and sends the callback. */
  async #finish(job: JobEnvelope, record: JobRecord, deadLetter: boolean): Promise<Settlement> {
    const final: JobRecord = { ...record, finishedAtMs: this.#nowMs() };
    try {
      await this.#o.results.put(final, this.#o.resultTtlSeconds);
    } catch (err) {
      return this.#storeFailed(job, err);
    }
    this.#publish(job, final.status === 'done' ? 'done' : 'failed', final.attempts, deadLetter);
    if (job.callbackUrl !== undefined) this.#o.callbacks?.send(job.callbackUrl, jobView(final));
    if (final.status === 'failed') {
      this.#o.logger?.warn(
        { job: job.id, model: job.model, attempts: final.attempts, code: final.error?.code, deadLetter },
        'job failed',
      );
    }
    return deadLetter ? { kind: 'dead', reason: final.error?.message ?? 'failed' } : { kind: 'ack' };
  }

  async #storeFailed(job: JobEnvelope, err: unknown): Promise<Settlement> {
    const e: QuiverError | Error = err instanceof Error ? err : new Error(String(err));
    this.#o.logger?.warn({ job: job.id, err: e.message }, 'job result store unavailable; requeueing the job');
    await sleep(this.#o.storeBackoffMs ?? 1000);
    this.#publish(job, 'requeue', 0, false);
    return { kind: 'requeue' };
  }

  #publish(
    job: JobEnvelope,
    outcome: JobSettledEvent['outcome'],
    attempts: number,
    deadLettered: boolean,
  ): void {
    if (!jobChannels.settled.hasSubscribers) return;
    jobChannels.settled.publish({
      id: job.id,
      model: job.model,
      outcome,
      attempts,
      ageMs: this.#nowMs() - job.createdAtMs,
      deadLettered,
    } satisfies JobSettledEvent);
  }
}
