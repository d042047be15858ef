/**
 * Gather and scatter along the batch dimension (dim 0): the batcher concatenates its requests' input
 * tensors into one batch and splits each output back into the requests' row ranges.
 *
 * @example
 *   const batch = concatRows('features', [a, b]);       // a: [2,16], b: [3,16] → [5,16]
 *   const [forA, forB] = splitRows(output, [2, 3]);      // [5,1] → [2,1], [3,1]
 */
import { quiverError } from '../errors.ts';
import { zerosTensor, type Tensor } from './tensor.ts';

function sameInnerDims(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length || a.length === 0) return false;
  for (let i = 1; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * One tensor named `name` holding every part's rows in order. A single part is returned as is (no
 * copy). Parts must share the datatype and every dim but the first — requests validated against a
 * model with fixed inner dims always do; with dynamic inner dims they may not, which throws
 * QUIVER_ERR_INVALID_TENSOR (the batcher then runs them one by one).
 */
export function concatRows(name: string, parts: readonly Tensor[]): Tensor {
  const first = parts[0];
  if (first === undefined)
    throw quiverError('QUIVER_ERR_INTERNAL', { reason: `concatRows("${name}") of no tensors` });
  if (parts.length === 1) return { ...first, name };
  let rows = 0;
  for (const part of parts) {
    if (part.datatype !== first.datatype || !sameInnerDims(part.shape, first.shape)) {
      throw quiverError('QUIVER_ERR_INVALID_TENSOR', {
        name,
        reason: `cannot batch ${part.datatype} [${part.shape.join(',')}] with ${first.datatype} [${first.shape.join(',')}]`,
      });
    }
    rows += part.shape[0]!;
  }
  const shape = [rows, ...first.shape.slice(1)];
  const out = zerosTensor(name, first.datatype, shape);
  if (Array.isArray(out.data)) {
    out.data = parts.flatMap((part) => part.data as string[]);
    return out;
  }
  let offset = 0;
  for (const part of parts) {
    // Every part has out's datatype, hence its array type; TypeScript cannot pair them through the union.
    (out.data as Float32Array).set(part.data as Float32Array, offset);
    offset += part.data.length;
  }
  return out;
}

/**
 * Splits `tensor` into consecutive ranges of `rows` rows (which must sum to its first dim). Typed
 * arrays come back as views on the batch's buffer (no copies); BYTES as slices.
 */
export function splitRows(tensor: Tensor, rows: readonly number[]): Tensor[] {
  const total = tensor.shape[0];
  const sum = rows.reduce((a, b) => a + b, 0);
  if (total === undefined || sum !== total) {
    throw quiverError('QUIVER_ERR_INTERNAL', {
      reason: `splitRows("${tensor.name}"): ${sum} rows requested of shape [${tensor.shape.join(',')}]`,
    });
  }
  const rowSize = total === 0 ? 0 : tensor.data.length / total;
  const inner = tensor.shape.slice(1);
  const out: Tensor[] = [];
  let start = 0;
  for (const count of rows) {
    const end = start + count * rowSize;
    const data = Array.isArray(tensor.data)
      ? tensor.data.slice(start, end)
      : tensor.data.subarray(start, end);
    out.push({ name: tensor.name, datatype: tensor.datatype, shape: [count, ...inner], data });
    start = end;
  }
  return out;
}
