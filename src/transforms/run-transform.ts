/**
 * Runs an on-demand transform over a batch. Transforms are user code: anything they throw, and any
 * output of the wrong shape, becomes QUIVER_ERR_TRANSFORM_FAILED for the requests of this batch only.
 */
import type { OnDemandViewInfo } from '../config/registry.ts';
import { quiverError } from '../errors.ts';

/** Numeric output columns (one per schema field, in schema order), each `count` long. */
export type TransformOutput = ArrayLike<number>[];

export function runTransform(
  odfv: OnDemandViewInfo,
  inputs: Record<string, Float64Array>,
  count: number,
): TransformOutput {
  let result: unknown;
  try {
    result = odfv.config.transform(inputs);
  } catch (err) {
    throw quiverError(
      'QUIVER_ERR_TRANSFORM_FAILED',
      {
        view: odfv.name,
        reason: err instanceof Error ? err.message : String(err),
      },
      { cause: err },
    );
  }
  if (typeof result !== 'object' || result === null) {
    throw quiverError('QUIVER_ERR_TRANSFORM_FAILED', {
      view: odfv.name,
      reason: 'it must return an object of columns',
    });
  }
  const columns = result as Record<string, unknown>;
  return odfv.features.map((name) => {
    const column = columns[name];
    const length = (column as { length?: unknown } | null | undefined)?.length;
    if (typeof column !== 'object' || column === null || length !== count) {
      throw quiverError('QUIVER_ERR_TRANSFORM_FAILED', {
        view: odfv.name,
        reason: `output "${name}" must be an array of ${count} numbers, got ${length === undefined ? typeof column : `length ${String(length)}`}`,
      });
    }
    return column as ArrayLike<number>;
  });
}
