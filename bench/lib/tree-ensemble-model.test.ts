import { InferenceSession, Tensor } from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  buildTreeEnsemble,
  generateTrees,
  referenceScore,
  type TreeEnsembleSpec,
} from './tree-ensemble-model.ts';

const SPEC: TreeEnsembleSpec = { trees: 25, depth: 4, features: 6, seed: 9 };

async function score(
  bytes: Uint8Array,
  rows: Float32Array,
  n: number,
): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const session = await InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const out = (await session.run({ features: new Tensor('float32', rows, [n, SPEC.features]) })).score!;
    return { dims: out.dims, data: out.data as Float32Array };
  } finally {
    await session.release();
  }
}

describe('buildTreeEnsemble', () => {
  const n = 50;
  const rows = Float32Array.from({ length: n * SPEC.features }, (_, i) => Math.sin(i * 12.9898) * 0.999);
  const trees = generateTrees(SPEC);
  const expected = Array.from({ length: n }, (_, r) =>
    referenceScore(SPEC, trees, rows.subarray(r * 6, r * 6 + 6)),
  );

  it('is a TreeEnsembleRegressor onnxruntime runs, computing what the trees say', async () => {
    const { dims, data } = await score(buildTreeEnsemble(SPEC), rows, n);
    expect(dims).toEqual([n, 1]);
    for (let r = 0; r < n; r++) expect(data[r]).toBeCloseTo(expected[r]!, 5);
    // Not a constant: the rows land in different leaves.
    expect(new Set(Array.from(data, (v) => v.toFixed(6))).size).toBeGreaterThan(10);
  });

  it('evaluated K times per row gives the same scores (and costs K times the work)', async () => {
    const { dims, data } = await score(buildTreeEnsemble({ ...SPEC, evaluationsPerRow: 7 }), rows, n);
    expect(dims).toEqual([n, 1]);
    for (let r = 0; r < n; r++) expect(data[r]).toBeCloseTo(expected[r]!, 5);
  });

  it('is deterministic', () => {
    expect(Buffer.from(buildTreeEnsemble(SPEC)).equals(Buffer.from(buildTreeEnsemble(SPEC)))).toBe(true);
    expect(
      Buffer.from(buildTreeEnsemble(SPEC)).equals(Buffer.from(buildTreeEnsemble({ ...SPEC, seed: 10 }))),
    ).toBe(false);
  });
});
