/**
 * The dynamic batching decision, as Triton's dynamic batcher makes it, as a pure function: given
 * the queue (in dispatch order: priority, then FIFO), the clock and whether a runner is free, say
 * "idle", "flush the first n requests" or "wait µs". The batcher loop (batcher.ts) only dequeues and
 * sets timers; every rule lives here and is unit-tested with a fake clock.
 *
 * Rules:
 * - A batch forms only when a runner is free; it takes whole requests, in order, up to
 *   `maxBatchSize` rows (a request is never split; one larger than the limit runs alone).
 * - `maxQueueDelayUs` = 0 (default): never wait. At low load every request runs alone at once; under
 *   load requests pile up while runners are busy and the next batch takes them all.
 * - Otherwise wait while the batch is below a preferred size (or below `maxBatchSize` when no
 *   preferred sizes are set) and the oldest request has waited less than `maxQueueDelayUs`.
 * - When the batch could go past a preferred size but not reach a larger one, it is cut at the
 *   largest preferred size reached (Triton prefers preferred sizes to maximal ones).
 */

export interface BatchingPolicy {
  readonly maxBatchSize: number;
  /** Ascending. */
  readonly preferredBatchSizes: readonly number[];
  readonly maxQueueDelayUs: number;
}

/** What decide() needs to know of the queue: requests in dispatch order. */
export interface QueueView {
  readonly length: number;
  /** Rows of the i-th request in dispatch order. */
  rowsAt(index: number): number;
  /** Monotonic enqueue time of the i-th request, in ns. */
  enqueuedAtNs(index: number): number;
}

export type Decision =
  | { readonly kind: 'idle' }
  | { readonly kind: 'flush'; readonly requests: number; readonly rows: number }
  | { readonly kind: 'wait'; readonly waitUs: number };

export const IDLE: Decision = Object.freeze({ kind: 'idle' });

export function decide(
  queue: QueueView,
  nowNs: number,
  runnerFree: boolean,
  policy: BatchingPolicy,
): Decision {
  if (!runnerFree || queue.length === 0) return IDLE;
  const { maxBatchSize, preferredBatchSizes } = policy;

  // Greedy fill in dispatch order, remembering the last prefix that hit a preferred size.
  let requests = 0;
  let rows = 0;
  let preferredRequests = 0;
  let preferredRows = 0;
  while (requests < queue.length) {
    const next = queue.rowsAt(requests);
    if (rows + next > maxBatchSize && requests > 0) break;
    rows += next;
    requests++;
    if (preferredBatchSizes.includes(rows)) {
      preferredRequests = requests;
      preferredRows = rows;
    }
    if (rows >= maxBatchSize) break;
  }
  const full = rows >= maxBatchSize || requests < queue.length;

  if (policy.maxQueueDelayUs === 0) return flushBest(requests, rows, preferredRequests, preferredRows, full);
  if (preferredRows > 0 && preferredRows === rows) return flush(requests, rows);
  if (full) return flushBest(requests, rows, preferredRequests, preferredRows, true);

  const waitedUs = (nowNs - queue.enqueuedAtNs(0)) / 1000;
  if (waitedUs >= policy.maxQueueDelayUs)
    return flushBest(requests, rows, preferredRequests, preferredRows, false);
  return { kind: 'wait', waitUs: Math.max(1, Math.ceil(policy.maxQueueDelayUs - waitedUs)) };
}

function flush(requests: number, rows: number): Decision {
  return { kind: 'flush', requests, rows };
}

/**
 * Full batch (more queued than fits): cut at the largest preferred size reached, if any, so batches
 * land on sizes the model runs best at. Not full: everything queued goes.
 */
function flushBest(
  requests: number,
  rows: number,
  preferredRequests: number,
  preferredRows: number,
  full: boolean,
): Decision {
  if (full && preferredRequests > 0 && preferredRows < rows) return flush(preferredRequests, preferredRows);
  return flush(requests, rows);
}
