import { describe, expect, it } from 'vitest';
import { concatRows, splitRows } from './batch-rows.ts';
import type { Tensor } from './tensor.ts';

const rows = (values: number[][]): Tensor => ({
  name: 'in',
  datatype: 'FP32',
  shape: [values.length, values[0]!.length],
  data: new Float32Array(values.flat()),
});

describe('concatRows / splitRows', () => {
  it('gathers parts in order and scatters them back as views', () => {
    const batch = concatRows('features', [
      rows([[1, 2]]),
      rows([
        [3, 4],
        [5, 6],
      ]),
    ]);
    expect(batch).toEqual({
      name: 'features',
      datatype: 'FP32',
      shape: [3, 2],
      data: new Float32Array([1, 2, 3, 4, 5, 6]),
    });
    const [a, b] = splitRows(batch, [1, 2]);
    expect(a).toEqual({ name: 'features', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) });
    expect(b!.data).toEqual(new Float32Array([3, 4, 5, 6]));
    expect((b!.data as Float32Array).buffer).toBe((batch.data as Float32Array).buffer);
  });

  it('returns a single part without copying, and handles BYTES and INT64', () => {
    const only = rows([[1]]);
    expect(concatRows('x', [only]).data).toBe(only.data);
    const s = concatRows('s', [
      { name: 's', datatype: 'BYTES', shape: [1], data: ['a'] },
      { name: 's', datatype: 'BYTES', shape: [2], data: ['b', 'c'] },
    ]);
    expect(s.data).toEqual(['a', 'b', 'c']);
    expect(splitRows(s, [2, 1]).map((t) => t.data)).toEqual([['a', 'b'], ['c']]);
    const big = concatRows('n', [
      { name: 'n', datatype: 'INT64', shape: [1], data: new BigInt64Array([1n]) },
      { name: 'n', datatype: 'INT64', shape: [1], data: new BigInt64Array([2n]) },
    ]);
    expect(big.data).toEqual(new BigInt64Array([1n, 2n]));
  });

  it('refuses parts that cannot share a batch, and row counts that do not add up', () => {
    expect(() => concatRows('x', [rows([[1, 2]]), rows([[1, 2, 3]])])).toThrow(
      'cannot batch FP32 [1,3] with FP32 [1,2]',
    );
    expect(() => splitRows(rows([[1], [2]]), [1])).toThrow('1 rows requested of shape [2,1]');
  });
});
