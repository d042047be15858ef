import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FEATURES,
  GBDT_PATH,
  LR_PATH,
  featureBatch,
  readTestRows,
} from '../../../test/fixtures/models/test-rows.ts';
import type { LoadedModel } from '../model-runtime.ts';
import { OnnxRuntime } from './onnx-runtime.ts';

const rows = readTestRows();
const runtime = new OnnxRuntime();
const models: Record<'gbdt' | 'lr', LoadedModel> = {} as Record<'gbdt' | 'lr', LoadedModel>;

beforeAll(async () => {
  [models.gbdt, models.lr] = await Promise.all([
    runtime.load({ name: 'gbdt', path: GBDT_PATH, runners: 2, intraOpThreads: 1 }),
    runtime.load({ name: 'lr', path: LR_PATH, version: '3', runners: 1, intraOpThreads: 1 }),
  ]);
});

afterAll(async () => {
  await Promise.all(Object.values(models).map((model) => model.close()));
});

/** Runs rows [start, start+count) and checks every probability against the CSV to 1e-5. */
async function expectRows(which: 'gbdt' | 'lr', start: number, count: number): Promise<void> {
  const { probability } = await models[which].run({ features: featureBatch(rows, start, count) });
  expect(probability!.shape).toEqual([count, 1]);
  const expected = rows[which];
  const got = probability!.data as Float32Array;
  let worst = 0;
  for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[start + i]!));
  expect(worst).toBeLessThan(1e-5);
}

describe('OnnxRuntime.load', () => {
  it('reads the metadata of both models', () => {
    expect(models.gbdt.metadata).toEqual({
      name: 'gbdt',
      versions: [],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, FEATURES] }],
      outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 1] }],
    });
    expect(models.lr.metadata.versions).toEqual(['3']);
    expect(models.lr.metadata.inputs).toEqual(models.gbdt.metadata.inputs);
    expect(Object.isFrozen(models.lr.metadata)).toBe(true);
  });

  it('starts every runner before resolving', () => {
    expect(models.gbdt.idleRunners).toBe(2);
    expect(models.lr.idleRunners).toBe(1);
  });
});

describe('outputs match test_rows.csv to 1e-5', () => {
  for (const which of ['gbdt', 'lr'] as const) {
    it(`${which}: batch 1 (first, middle and last rows)`, async () => {
      for (const start of [0, 500, rows.count - 1]) await expectRows(which, start, 1);
    });

    it(`${which}: batch 1000`, async () => {
      await expectRows(which, 0, rows.count);
    });

    it(`${which}: random batch sizes, several in flight at once`, async () => {
      // A fixed-seed LCG: reproducible "random" sizes and offsets.
      let seed = 12345;
      const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      const runs: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        const count = 1 + Math.floor(next() * 256);
        runs.push(expectRows(which, Math.floor(next() * (rows.count - count + 1)), count));
      }
      await Promise.all(runs);
    });
  }
});

describe('load failures', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'quiver-models-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** OS threads of this process (Linux): a failed load must leave none of its runner threads behind. */
  const threads = (): number => (existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : 0);

  it('a missing file → QUIVER_ERR_MODEL_LOAD_FAILED, no thread started', async () => {
    const path = join(dir, 'missing.onnx');
    await expect(runtime.load({ name: 'm', path, runners: 1, intraOpThreads: 1 })).rejects.toMatchObject({
      code: 'QUIVER_ERR_MODEL_LOAD_FAILED',
      message: `Could not load model "m": cannot read ${path} (ENOENT)`,
    });
  });

  it("a corrupt file → QUIVER_ERR_MODEL_LOAD_FAILED with onnxruntime's reason, no runner left running", async () => {
    const path = join(dir, 'corrupt.onnx');
    await writeFile(path, 'this is not a protobuf');
    const before = threads();
    const load = runtime.load({ name: 'bad', path, runners: 2, intraOpThreads: 1 });
    await expect(load).rejects.toMatchObject({ code: 'QUIVER_ERR_MODEL_LOAD_FAILED' });
    await expect(load).rejects.toThrow(/Could not load model "bad": .*(protobuf|parse|model)/i);
    expect(threads()).toBe(before);
  });

  it('bad runner counts are refused before anything starts', async () => {
    await expect(runtime.load({ name: 'x', path: LR_PATH, runners: 0, intraOpThreads: 1 })).rejects.toThrow(
      'runners must be an integer ≥ 1, got 0',
    );
  });
});

describe('runner threads start outside vitest', () => {
  it('under `node bin/quiver.js`-style registration, even with flags a Worker refuses in execArgv', async () => {
    const script = new URL('../../../test/fixtures/models/run-under-register.mjs', import.meta.url);
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--max-old-space-size=512',
      script.pathname,
    ]);
    const { probability } = JSON.parse(stdout) as { probability: number[] };
    expect(Math.abs(probability[0]! - rows.lr[0]!)).toBeLessThan(1e-5);
  });
});
