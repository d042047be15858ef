import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { validateConfig } from '../../src/config/validate.ts';
import { openStore } from '../../src/main.ts';
import {
  FEATURE_NAMES,
  PREDICT_MODEL,
  PREDICT_VIEW,
  TEST_ROWS_PATH,
  parseTestRows,
  predictConfig,
  predictCsv,
  preparePredictData,
  testRowOf,
} from './gbdt-data.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('test rows and the generated CSV', () => {
  it('reads the 1,000 shared test rows with their expected GBDT probability', async () => {
    const rows = parseTestRows(await readFile(TEST_ROWS_PATH, 'utf8'));
    expect(rows).toHaveLength(1000);
    expect(rows[0]!.featureText).toHaveLength(16);
    expect(rows[0]!.featureText[0]).toBe('0.18905339');
    expect(rows[0]!.gbdtProba).toBeCloseTo(0.47523827804070323, 15);
  });

  it('rejects a file whose columns are not f0..f15 first', () => {
    expect(() => parseTestRows('a,b\n1,2\n')).toThrow(/unexpected test_rows.csv header/);
  });

  it('repeats the rows over the ids, deterministically', () => {
    const rows = [
      { featureText: FEATURE_NAMES.map((_, i) => String(i)), gbdtProba: 0.1 },
      { featureText: FEATURE_NAMES.map((_, i) => String(-i)), gbdtProba: 0.2 },
    ];
    const csv = predictCsv(rows, 3).trim().split('\n');
    expect(csv[0]).toBe(`row_id,event_ts,${FEATURE_NAMES.join(',')}`);
    expect(csv.slice(1).map((l) => l.split(',').slice(0, 3).join(','))).toEqual([
      '1,2025-01-01T00:00:00.000Z,0',
      '2,2025-01-01T00:00:00.000Z,0',
      '3,2025-01-01T00:00:00.000Z,0',
    ]);
    expect(csv[2]!.endsWith(',-15')).toBe(true);
    expect(testRowOf(rows, 3)).toBe(rows[0]);
    expect(predictCsv(rows, 3)).toBe(predictCsv(rows, 3));
  });
});

describe('predictConfig', () => {
  it('is a valid config with batching on and off as the issue sets them', () => {
    const on = validateConfig(predictConfig({ batching: 'on', runners: 2 }), '/tmp/x/quiver.config.ts');
    const model = on.models.find((m) => m.name === PREDICT_MODEL)!;
    expect(model).toMatchObject({ runners: 2, featureService: 'gbdt_features' });
    expect(model.batching).toMatchObject({ maxBatchSize: 256, maxQueueDelayUs: 0 });
    expect(model.queue.maxQueueSize).toBeGreaterThanOrEqual(256);
    const off = validateConfig(predictConfig({ batching: 'off', runners: 1 }), '/tmp/x/quiver.config.ts');
    expect(off.models[0]!.batching.maxBatchSize).toBe(1);
  });
});

describe('preparePredictData', () => {
  it('materializes every id into LMDB with the features of its test row, and writes loadable configs', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'quiver-predict-data-'));
    dirs.push(dataDir);
    const data = await preparePredictData({ dataDir, log: () => {} }, 1200);
    expect(data.count).toBe(1200);
    const config = await loadConfig(await data.configPath({ batching: 'off', runners: 1 }));
    expect(config.models[0]!.batching.maxBatchSize).toBe(1);
    const store = await openStore(config);
    try {
      const got = await store.read(PREDICT_VIEW, ['1', '1001', '1200', '1201']);
      for (const [i, id] of [1, 1001, 1200].entries()) {
        const expected = testRowOf(data.testRows, id).featureText.map((t) => Math.fround(Number(t)));
        expect(got[i]!.slice(1).map((v) => Math.fround(v as number))).toEqual(expected);
      }
      expect(got[3]).toBeUndefined();
    } finally {
      await store.close();
    }
    // A second call in the same process is the same preparation.
    expect(await preparePredictData({ dataDir, log: () => {} }, 1200)).toBe(data);
  });
});
