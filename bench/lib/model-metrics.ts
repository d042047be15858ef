/**
 * In-server figures of a model scenario, from two /metrics scrapes around one run: batches, rows
 * and requests per batch, compute and hand-off time per batch (quiver_batch_* and quiver_model_*
 * histograms, diffed), admission rejections, and event-loop delay (prom-client's default
 * `quiver_nodejs_eventloop_lag_*` gauges). prom-client resets its event-loop histogram on every
 * scrape, so the gauges read after the run cover exactly the time since the scrape before it.
 */
import { histogramDelta, sumOf, valueOf, type HistogramDelta, type PromSample } from './prom-text.ts';

/**
 * prom-client samples the loop with `monitorEventLoopDelay({resolution: 10})`: each sample is the
 * interval between two 10 ms timer ticks, so an idle loop reads ~10 ms. Delay = sample − 10 ms.
 */
export const EVENT_LOOP_RESOLUTION_US = 10_000;

export interface EventLoopDelay {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly maxUs: number;
  readonly meanUs: number;
}

export interface ModelObservation {
  readonly batchRows: HistogramDelta;
  readonly batchRequests: HistogramDelta;
  /** Wait of the oldest request of each batch. */
  readonly queueDelayUs: HistogramDelta;
  /** Per batch: feature read + model run + scatter. */
  readonly batchDurationUs: HistogramDelta;
  /** Model compute on the runner thread, per batch. */
  readonly computeUs: HistogramDelta;
  /** Round trip to the runner minus compute, per batch. */
  readonly handoffUs: HistogramDelta;
  /**
   * Requests rejected or dropped before running, by reason (`queue_full`, `expired`, `shed`,
   * `cancelled`, ...). `cancelled` = the client went away while queued: wrk closing its connections
   * at the end of a run leaves up to one per connection.
   */
  readonly rejected: Readonly<Record<string, number>>;
  readonly eventLoop: EventLoopDelay;
}

const REJECTED = 'quiver_admission_rejected_total';

function rejectedByReason(
  model: string,
  before: readonly PromSample[],
  after: readonly PromSample[],
): Record<string, number> {
  const out: Record<string, number> = {};
  const reasons = new Set(
    after.filter((s) => s.name === REJECTED && s.labels.model === model).map((s) => s.labels.reason ?? ''),
  );
  for (const reason of reasons) {
    const n = sumOf(after, REJECTED, { model, reason }) - sumOf(before, REJECTED, { model, reason });
    if (n > 0) out[reason] = n;
  }
  return out;
}

const delayUs = (seconds: number): number =>
  Number.isFinite(seconds) ? Math.max(0, seconds * 1e6 - EVENT_LOOP_RESOLUTION_US) : Number.NaN;

/** The observation of model `model` between two scrapes. */
export function observeModel(
  model: string,
  before: readonly PromSample[],
  after: readonly PromSample[],
): ModelObservation {
  const labels = { model };
  const h = (name: string): HistogramDelta => histogramDelta(before, after, name, labels);
  return {
    batchRows: h('quiver_batch_rows'),
    batchRequests: h('quiver_batch_requests'),
    queueDelayUs: h('quiver_batch_queue_delay_us'),
    batchDurationUs: h('quiver_batch_duration_us'),
    computeUs: h('quiver_model_compute_us'),
    handoffUs: h('quiver_model_handoff_us'),
    rejected: rejectedByReason(model, before, after),
    eventLoop: eventLoopOf(after),
  };
}

/**
 * Event-loop delay since the previous scrape, from prom-client's default gauges (which the bench
 * ceiling serves too, with the same sampler, so the two compare).
 */
export function eventLoopOf(after: readonly PromSample[]): EventLoopDelay {
  return {
    p50Us: delayUs(valueOf(after, 'quiver_nodejs_eventloop_lag_p50_seconds')),
    p99Us: delayUs(valueOf(after, 'quiver_nodejs_eventloop_lag_p99_seconds')),
    maxUs: delayUs(valueOf(after, 'quiver_nodejs_eventloop_lag_max_seconds')),
    meanUs: delayUs(valueOf(after, 'quiver_nodejs_eventloop_lag_mean_seconds')),
  };
}

/** Medians over runs of p50, p99 and mean; the largest max. */
export function combineEventLoops(runs: readonly EventLoopDelay[]): EventLoopDelay {
  return {
    p50Us: median(runs.map((r) => r.p50Us)),
    p99Us: median(runs.map((r) => r.p99Us)),
    maxUs: runs.length === 0 ? Number.NaN : Math.max(...runs.map((r) => r.maxUs)),
    meanUs: median(runs.map((r) => r.meanUs)),
  };
}

/** Several runs (rounds) of one level together. */
export interface ModelStats {
  readonly batches: number;
  /** Σ rows ÷ Σ batches over the runs. */
  readonly meanBatchRows: number;
  readonly meanBatchRequests: number;
  readonly meanQueueDelayUs: number;
  readonly meanBatchDurationUs: number;
  readonly meanComputeUs: number;
  readonly meanHandoffUs: number;
  /** Summed over the runs, by reason. */
  readonly rejected: Readonly<Record<string, number>>;
  /** Medians over the runs of p50/p99 and mean; the largest max. */
  readonly eventLoop: EventLoopDelay;
}

function pooled(deltas: readonly HistogramDelta[]): number {
  const sum = deltas.reduce((s, d) => s + d.sum, 0);
  const count = deltas.reduce((s, d) => s + d.count, 0);
  return count > 0 ? sum / count : Number.NaN;
}

function median(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function sumRecords(records: readonly Readonly<Record<string, number>>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function combineObservations(runs: readonly ModelObservation[]): ModelStats {
  return {
    batches: runs.reduce((s, r) => s + r.batchRows.count, 0),
    meanBatchRows: pooled(runs.map((r) => r.batchRows)),
    meanBatchRequests: pooled(runs.map((r) => r.batchRequests)),
    meanQueueDelayUs: pooled(runs.map((r) => r.queueDelayUs)),
    meanBatchDurationUs: pooled(runs.map((r) => r.batchDurationUs)),
    meanComputeUs: pooled(runs.map((r) => r.computeUs)),
    meanHandoffUs: pooled(runs.map((r) => r.handoffUs)),
    rejected: sumRecords(runs.map((r) => r.rejected)),
    eventLoop: combineEventLoops(runs.map((r) => r.eventLoop)),
  };
}
