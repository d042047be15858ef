/**
 * Turns the diagnostics channels hot code publishes on into Prometheus metrics. Subscribing is the
 * only coupling: batching/, admission/ and models/ never import prom-client.
 */
import type { Channel } from 'node:diagnostics_channel';
import type { Registry } from 'prom-client';
import {
  limitChannels,
  type AuthRejectEvent,
  type RateLimitRejectEvent,
  type RateLimitStoreErrorEvent,
} from '../limits/events.ts';
import { modelChannels, type ModelRunEvent, type ModelRunnerEvent } from '../models/events.ts';
import { FastCounter, FastHistogram } from './fast-metrics.ts';
import { channels, type AdmissionRejectEvent, type BatchDoneEvent, type BatchFlushEvent } from './events.ts';

const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
const US_BUCKETS = [10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 100_000];

/** Subscribes metrics to the channels; returns the unsubscribe function (for tests and shutdown). */
export function subscribeMetrics(registry: Registry): () => void {
  const registers = [registry];
  const batchRows = new FastHistogram({
    name: 'quiver_batch_rows',
    help: 'Rows per executed batch',
    labelNames: ['model'] as const,
    buckets: SIZE_BUCKETS,
    registers,
  });
  const batchRequests = new FastHistogram({
    name: 'quiver_batch_requests',
    help: 'Requests per executed batch',
    labelNames: ['model'] as const,
    buckets: SIZE_BUCKETS,
    registers,
  });
  const queueDelay = new FastHistogram({
    name: 'quiver_batch_queue_delay_us',
    help: 'Wait of the oldest request in a batch, µs',
    labelNames: ['model'] as const,
    buckets: US_BUCKETS,
    registers,
  });
  const batchDuration = new FastHistogram({
    name: 'quiver_batch_duration_us',
    help: 'Batch execution time incl. feature read, µs',
    labelNames: ['model', 'failed'] as const,
    buckets: US_BUCKETS,
    registers,
  });
  const rejected = new FastCounter({
    name: 'quiver_admission_rejected_total',
    help: 'Requests rejected or dropped before running',
    labelNames: ['model', 'priority', 'reason'] as const,
    registers,
  });
  const compute = new FastHistogram({
    name: 'quiver_model_compute_us',
    help: 'Model compute time per batch on the runner thread, µs',
    labelNames: ['model'] as const,
    buckets: US_BUCKETS,
    registers,
  });
  const handoff = new FastHistogram({
    name: 'quiver_model_handoff_us',
    help: 'Thread hand-off overhead per batch (round trip minus compute), µs',
    labelNames: ['model'] as const,
    buckets: US_BUCKETS,
    registers,
  });
  const runnerEvents = new FastCounter({
    name: 'quiver_model_runner_events_total',
    help: 'Runner threads crashed or restarted',
    labelNames: ['model', 'event'] as const,
    registers,
  });

  const authRejected = new FastCounter({
    name: 'quiver_auth_rejected_total',
    help: 'Requests refused by auth: missing or invalid key (401), missing scope (403)',
    labelNames: ['reason', 'scope'] as const,
    registers,
  });
  const rateLimited = new FastCounter({
    name: 'quiver_rate_limited_total',
    help: 'Requests refused by a rate limit (429), by limit kind',
    labelNames: ['key'] as const,
    registers,
  });
  const rateLimitStoreErrors = new FastCounter({
    name: 'quiver_rate_limit_store_errors_total',
    help: 'Rate-limit checks answered by the local fallback because Redis failed or is being skipped',
    labelNames: ['store', 'reason'] as const,
    registers,
  });

  const onFlush = (message: unknown): void => {
    const e = message as BatchFlushEvent;
    batchRows.observe({ model: e.model }, e.rows);
    batchRequests.observe({ model: e.model }, e.requests);
    queueDelay.observe({ model: e.model }, e.queueDelayUs);
  };
  const onDone = (message: unknown): void => {
    const e = message as BatchDoneEvent;
    batchDuration.observe({ model: e.model, failed: String(e.failed) }, e.durationUs);
  };
  const onReject = (message: unknown): void => {
    const e = message as AdmissionRejectEvent;
    rejected.inc({ model: e.model, priority: String(e.priority), reason: e.reason });
  };
  const onRun = (message: unknown): void => {
    const e = message as ModelRunEvent;
    if (e.failed) return;
    compute.observe({ model: e.model }, e.computeUs);
    handoff.observe({ model: e.model }, Math.max(0, e.roundTripUs - e.computeUs));
  };
  const onRunner = (message: unknown): void => {
    const e = message as ModelRunnerEvent;
    runnerEvents.inc({ model: e.model, event: e.event });
  };

  const onAuthReject = (message: unknown): void => {
    const e = message as AuthRejectEvent;
    authRejected.inc({ reason: e.reason, scope: e.scope });
  };
  const onRateLimited = (message: unknown): void => {
    rateLimited.inc({ key: (message as RateLimitRejectEvent).key });
  };
  const onRateLimitStoreError = (message: unknown): void => {
    const e = message as RateLimitStoreErrorEvent;
    rateLimitStoreErrors.inc({ store: e.store, reason: e.reason });
  };

  const subscriptions: [Channel, (m: unknown) => void][] = [
    [channels.batchFlush, onFlush],
    [channels.batchDone, onDone],
    [channels.admissionReject, onReject],
    [modelChannels.run, onRun],
    [modelChannels.runner, onRunner],
    [limitChannels.authReject, onAuthReject],
    [limitChannels.rateLimitReject, onRateLimited],
    [limitChannels.rateLimitStoreError, onRateLimitStoreError],
  ];
  for (const [channel, fn] of subscriptions) channel.subscribe(fn);
  return () => {
    for (const [channel, fn] of subscriptions) channel.unsubscribe(fn);
  };
}
