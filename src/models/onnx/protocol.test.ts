import { describe, expect, it } from 'vitest';
import type { Tensor } from '../tensor.ts';
import { MIN_TRANSFER_BYTES, transferList } from './protocol.ts';

const tensor = (data: Tensor['data']): Tensor => ({ name: 'x', datatype: 'FP32', shape: [1], data });

describe('transferList', () => {
  it('moves whole buffers of MIN_TRANSFER_BYTES or more, leaves smaller ones to be copied', () => {
    const big = new Float32Array(MIN_TRANSFER_BYTES / 4);
    const small = new Float32Array(16);
    const tensors = [tensor(big), tensor(small)];
    expect(transferList(tensors)).toEqual([big.buffer]);
    expect(tensors[0]!.data).toBe(big);
    expect(tensors[1]!.data).toBe(small);
  });

  it('copies a large view on part of a bigger buffer before moving it, and moves a buffer once', () => {
    const backing = new Float32Array(4 * MIN_TRANSFER_BYTES);
    const view = backing.subarray(MIN_TRANSFER_BYTES, 2 * MIN_TRANSFER_BYTES);
    const whole = new Float32Array(MIN_TRANSFER_BYTES);
    const tensors = [tensor(view), tensor(whole), tensor(whole)];
    const moved = transferList(tensors);
    expect(tensors[0]!.data).not.toBe(view);
    expect(tensors[0]!.data).toEqual(view);
    expect(moved).toHaveLength(3);
    expect(moved).not.toContain(backing.buffer);
    expect(new Set(moved).size).toBe(3);
  });

  it('never moves a shared buffer or a plain array', () => {
    const shared = new Float32Array(new SharedArrayBuffer(2 * MIN_TRANSFER_BYTES));
    expect(transferList([tensor(shared), tensor(['a', 'b'])])).toEqual([]);
  });
});
