import { describe, expect, it } from 'vitest';
import { readTestRows } from '../../test/fixtures/models/test-rows.ts';
import { GBDT_MODEL_PATH } from './gbdt-data.ts';
import { measureRawOnnx } from './raw-onnx.ts';

describe('measureRawOnnx', () => {
  const rows = readTestRows();

  it('times the model directly and through the runner pool for each batch size', async () => {
    const figures = await measureRawOnnx(GBDT_MODEL_PATH, rows.features, rows.gbdt, {
      batchSizes: [1, 32],
      seconds: 0.1,
      repetitions: 2,
    });
    expect(figures.map((f) => f.batchSize)).toEqual([1, 32]);
    for (const f of figures) {
      for (const path of [f.direct, f.pool]) {
        expect(path.calls).toBeGreaterThan(0);
        expect(path.usPerBatch).toBeGreaterThan(0);
        expect(path.rowsPerSecond).toBeCloseTo((f.batchSize * 1e6) / path.usPerBatch, 6);
      }
      expect(f.handoffUs).toBeCloseTo(f.pool.usPerBatch - f.direct.usPerBatch, 6);
      expect(f.handoffCpuUs).toBeCloseTo(f.pool.cpuUsPerBatch - f.direct.cpuUsPerBatch, 6);
    }
  });

  it('refuses to measure a model that does not reproduce the expected probabilities', async () => {
    const wrong = Float64Array.from(rows.gbdt, (p) => 1 - p);
    await expect(
      measureRawOnnx(GBDT_MODEL_PATH, rows.features, wrong, { batchSizes: [1], seconds: 0.05 }),
    ).rejects.toThrow(/row 0 gave/);
  });
});
