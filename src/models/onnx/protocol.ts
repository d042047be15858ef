/**
 * Messages between the runner pool (main thread) and a runner's worker thread. Tensors travel as
 * Quiver `Tensor`s whose typed arrays are in the postMessage transfer list: no copies, no JSON.
 */
import type { TensorSpec } from '../model-runtime.ts';
import type { Tensor } from '../tensor.ts';

/** `workerData` of a runner. */
export interface WorkerInit {
  readonly path: string;
  readonly intraOpThreads: number;
  readonly warmup: boolean;
}

export interface RunRequest {
  readonly type: 'run';
  readonly id: number;
  readonly inputs: Tensor[];
  /** Empty = every tensor output. */
  readonly outputNames: readonly string[];
}

export type ToWorker = RunRequest;

export type FromWorker =
  | {
      readonly type: 'ready';
      readonly inputs: TensorSpec[];
      readonly outputs: TensorSpec[];
      readonly threadId: number;
    }
  | { readonly type: 'load-failed'; readonly reason: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly outputs: Tensor[];
      /** Time inside session.run(), for telling compute from hand-off. */
      readonly computeUs: number;
    }
  | { readonly type: 'run-failed'; readonly id: number; readonly reason: string };

/**
 * Below this size a typed array is cheaper to copy than to move: measured round trips to a worker
 * with a 16-float input (a one-row batch) took 43–48 µs copied against 53–80 µs transferred; at
 * 1,024 floats (4 KB) the two were even.
 */
export const MIN_TRANSFER_BYTES = 4096;

/**
 * The ArrayBuffers of `tensors` worth moving rather than copying (MIN_TRANSFER_BYTES or more; the
 * structured clone copies the rest). A typed array that is a view on part of a larger buffer
 * (Node's Buffer pool, a subarray) is copied first: moving its buffer would detach memory that
 * belongs to someone else. Shared buffers are shared already. Replaces the `data` of such tensors,
 * so pass the wire copies, not the caller's tensor objects.
 */
export function transferList(tensors: Tensor[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const tensor of tensors) {
    let data = tensor.data;
    if (Array.isArray(data) || !(data.buffer instanceof ArrayBuffer)) continue;
    if (data.byteLength < MIN_TRANSFER_BYTES) continue;
    if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength || buffers.has(data.buffer)) {
      data = data.slice();
      tensor.data = data;
    }
    buffers.add(data.buffer as ArrayBuffer);
  }
  return [...buffers];
}
