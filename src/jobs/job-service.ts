/**
 * The enqueue and status side of async jobs. `enqueue` validates the request exactly as the sync
 * endpoint does (serving/request-payloads.ts), records the job as queued, publishes it and returns
 * only once the broker confirmed it — so a 202 always means "durably queued". If the publish fails,
 * the record is marked failed (a consumer that still receives the message skips it) and the error
 * (QUIVER_ERR_BROKER_UNAVAILABLE, 503 + Retry-After) goes back to the client.
 *
 * @example
 *   const { id } = await jobs.enqueue('fraud', { kind: 'predict', entities: { user_id: ['1'] } }, { priority: 1 });
 *   const view = await jobs.get(id); // { id, status: 'queued' | 'running' | 'done' | 'failed', ... }
 */
import { randomUUID } from 'node:crypto';
import { isQuiverError, quiverError } from '../errors.ts';
import type { Logger } from '../metrics/logger.ts';
import { inferPayload, predictPayload } from '../serving/request-payloads.ts';
import type { JobBroker } from './broker.ts';
import { callbackUrl } from './callback.ts';
import type { JobModels } from './consumer.ts';
import { toJobError } from './consumer.ts';
import { JOB_KINDS, jobView, type JobEnvelope, type JobKind, type JobRecord, type JobView } from './job.ts';
import type { ResultStore } from './result-store.ts';

export interface JobServiceOptions {
  readonly broker: JobBroker;
  readonly results: ResultStore;
  readonly models: JobModels;
  readonly maxEntitiesPerRequest: number;
  readonly resultTtlSeconds: number;
  readonly logger?: Logger;
  readonly nowMs?: () => number;
}

export interface EnqueueOptions {
  /** x-priority (1 = highest); the model's default priority when undefined. */
  readonly priority?: number;
}

/** Fields of the enqueue body that belong to the job, not to the model request. */
const JOB_FIELDS = new Set(['kind', 'callback_url']);

export class JobService {
  readonly #o: JobServiceOptions;
  readonly #nowMs: () => number;

  constructor(options: JobServiceOptions) {
    this.#o = options;
    this.#nowMs = options.nowMs ?? Date.now;
  }

  /** Validates, records and publishes a job; resolves once the broker confirmed it. */
  async enqueue(model: string, body: unknown, options: EnqueueOptions = {}): Promise<{ id: string }> {
    const handle = this.#o.models.get(model);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: 'the request body must be a JSON object' });
    }
    const fields = body as Record<string, unknown>;
    const kind = (fields.kind ?? 'predict') as JobKind;
    if (!JOB_KINDS.includes(kind)) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: '"kind" must be "predict" or "infer"' });
    }
    const callback = callbackUrl(fields.callback_url);
    const request: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(fields)) if (!JOB_FIELDS.has(key)) request[key] = value;
    // Exactly the sync endpoint's checks: a job is accepted when the sync call would be.
    if (kind === 'predict') predictPayload(handle, request, this.#o.maxEntitiesPerRequest);
    else inferPayload(handle, request);

    const queue = handle.config.queue;
    const priority = Math.min(queue.priorityLevels, Math.max(1, options.priority ?? queue.defaultPriority));
    const id = randomUUID();
    const createdAtMs = this.#nowMs();
    const envelope: JobEnvelope = {
      id,
      model: handle.name,
      kind,
      body: request,
      priority,
      createdAtMs,
      ...(callback === undefined ? {} : { callbackUrl: callback }),
    };
    const record: JobRecord = { id, model: handle.name, kind, status: 'queued', attempts: 0, createdAtMs };
    await this.#o.results.put(record, this.#o.resultTtlSeconds);
    try {
      await this.#o.broker.publish(envelope, { priority });
    } catch (err) {
      const error = isQuiverError(err)
        ? err
        : quiverError(
            'QUIVER_ERR_BROKER_UNAVAILABLE',
            { reason: String(err) },
            { retryAfterS: 1, cause: err },
          );
      // The client hears "not accepted": make sure no consumer runs it should the message exist after all.
      await this.#o.results
        .put(
          { ...record, status: 'failed', error: toJobError(error), finishedAtMs: this.#nowMs() },
          this.#o.resultTtlSeconds,
        )
        .catch((storeErr: unknown) =>
          this.#o.logger?.warn(
            { job: id, err: String(storeErr) },
            'could not mark an unpublished job failed',
          ),
        );
      throw error;
    }
    return { id };
  }

  /** The job's status and result; 404 QUIVER_ERR_UNKNOWN_JOB when unknown or expired. */
  async get(id: string): Promise<JobView> {
    const record = await this.#o.results.get(id);
    if (record === undefined) throw quiverError('QUIVER_ERR_UNKNOWN_JOB', { id });
    return jobView(record);
  }
}
