/**
 * Data for the `predict` scenario: the shared GBDT test model (16 float features) fed by entity.
 * A CSV of `rows` ids (default 100,000), row id i carrying the features of test row (i - 1) mod
 * 1000 from test_rows.csv, so every id has a known expected probability; one feature view `gbdt_rows`
 * (f0..f15 float32, never expiring, so the data cannot go stale between runs), materialized once into
 * LMDB; and one config file per (batching, runners) variant, all reading the same LMDB directory.
 * Generated files live in the bench data dir (node_modules/.cache), never in the checked sources.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMaterialize } from '../../src/cli/commands/materialize.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { BatchingConfig, QuiverConfig } from '../../src/config/types.ts';
import { readWatermark } from '../../src/features/materialize.ts';
import { openStore } from '../../src/main.ts';
import type { BenchSettings } from './types.ts';

/** Copies of ../shared/models/ kept in the repository (test/fixtures/models/README.md). */
const MODELS_DIR = fileURLToPath(new URL('../../test/fixtures/models/', import.meta.url));
export const GBDT_MODEL_PATH = path.join(MODELS_DIR, 'gbdt.onnx');
export const TEST_ROWS_PATH = path.join(MODELS_DIR, 'test_rows.csv');

export const PREDICT_MODEL = 'gbdt';
export const PREDICT_VIEW = 'gbdt_rows';
export const PREDICT_SERVICE = 'gbdt_features';
export const PREDICT_JOIN_KEY = 'row_id';
export const FEATURE_COUNT = 16;
export const FEATURE_NAMES: readonly string[] = Array.from({ length: FEATURE_COUNT }, (_, i) => `f${i}`);
/** Every row carries this event time; the view never expires (ttlSeconds 0). */
const EVENT_TS = '2025-01-01T00:00:00.000Z';

/** Batching on (Triton-style, never waits) and off (one request per batch), as the issue sets them. */
export const BATCHING: Readonly<Record<'on' | 'off', BatchingConfig>> = {
  on: { maxBatchSize: 256, maxQueueDelayUs: 0 },
  off: { maxBatchSize: 1 },
};
export type BatchingMode = keyof typeof BATCHING;

/** Per priority level: room for every request of 256 connections, with margin. */
const MAX_QUEUE_SIZE = 4096;

export interface TestRow {
  /** f0..f15 exactly as written in test_rows.csv (float32 shortest decimals). */
  readonly featureText: readonly string[];
  readonly gbdtProba: number;
}

/** Parses test_rows.csv (header f0..f15,label,gbdt_proba,lr_proba). */
export function parseTestRows(text: string): TestRow[] {
  const lines = text.trim().split('\n');
  const header = lines[0]!.split(',');
  const probaAt = header.indexOf('gbdt_proba');
  if (FEATURE_NAMES.some((name, i) => header[i] !== name) || probaAt < 0)
    throw new Error(`unexpected test_rows.csv header: ${lines[0]}`);
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return { featureText: cells.slice(0, FEATURE_COUNT), gbdtProba: Number(cells[probaAt]) };
  });
}

/** The test row behind entity id `id` (1-based ids, cycling over the test rows). */
export function testRowOf(rows: readonly TestRow[], id: number): TestRow {
  return rows[(id - 1) % rows.length]!;
}

/** The source CSV: `row_id,event_ts,f0..f15`, ids 1..count. Deterministic. */
export function predictCsv(rows: readonly TestRow[], count: number): string {
  const out: string[] = [`${PREDICT_JOIN_KEY},event_ts,${FEATURE_NAMES.join(',')}`];
  for (let id = 1; id <= count; id++)
    out.push(`${id},${EVENT_TS},${testRowOf(rows, id).featureText.join(',')}`);
  return `${out.join('\n')}\n`;
}

export interface PredictVariant {
  readonly batching: BatchingMode;
  readonly runners: number;
}

/** The config of one variant (a plain object: `quiver.config.ts` needs no import). */
export function predictConfig(variant: PredictVariant): QuiverConfig {
  return {
    project: 'bench_predict',
    onlineStore: { type: 'lmdb', path: './data/online' },
    entities: [{ name: 'row', joinKeys: [PREDICT_JOIN_KEY] }],
    featureViews: [
      {
        name: PREDICT_VIEW,
        entities: ['row'],
        ttlSeconds: 0,
        schema: Object.fromEntries(FEATURE_NAMES.map((f) => [f, 'float32' as const])),
        source: { type: 'csv', path: './data/rows.csv', timestampField: 'event_ts' },
      },
    ],
    featureServices: [{ name: PREDICT_SERVICE, features: FEATURE_NAMES.map((f) => `${PREDICT_VIEW}:${f}`) }],
    models: [
      {
        name: PREDICT_MODEL,
        path: GBDT_MODEL_PATH,
        featureService: PREDICT_SERVICE,
        runners: variant.runners,
        intraOpThreads: 1,
        batching: BATCHING[variant.batching],
        queue: {
          priorityLevels: 1,
          defaultPriority: 1,
          maxQueueSize: MAX_QUEUE_SIZE,
          defaultTimeoutMs: 5000,
        },
      },
    ],
    server: { port: 8080 },
    auth: { enabled: false },
  };
}

export interface PredictData {
  readonly dir: string;
  readonly count: number;
  readonly testRows: readonly TestRow[];
  /** The config file of a variant (written on first use). */
  configPath(variant: PredictVariant): Promise<string>;
}

export function predictRowCount(): number {
  const count = Number(process.env.BENCH_PREDICT_ROWS ?? 100_000);
  if (!Number.isInteger(count) || count < 1000)
    throw new Error(`BENCH_PREDICT_ROWS must be an integer ≥ 1000, got ${process.env.BENCH_PREDICT_ROWS}`);
  return count;
}

async function writeIfChanged(file: string, text: string): Promise<boolean> {
  if (existsSync(file) && (await readFile(file, 'utf8')) === text) return false;
  await writeFile(file, text);
  return true;
}

const configText = (variant: PredictVariant): string =>
  `// Generated by bench/lib/gbdt-data.ts for the predict benchmark (batching ${variant.batching}, ${variant.runners} runner(s)).\n` +
  `export default ${JSON.stringify(predictConfig(variant), null, 2)};\n`;

const prepared = new Map<string, Promise<PredictData>>();

/**
 * Writes the CSV (when missing or different) and materializes it into LMDB (when not yet done),
 * once per process for a given data dir and row count.
 */
export function preparePredictData(
  settings: Pick<BenchSettings, 'dataDir' | 'log'>,
  count: number = predictRowCount(),
): Promise<PredictData> {
  const dir = path.join(settings.dataDir, 'predict');
  const memo = `${dir}\u0000${count}`;
  let once = prepared.get(memo);
  if (once !== undefined) return once;
  once = (async () => {
    await mkdir(path.join(dir, 'data'), { recursive: true });
    const testRows = parseTestRows(await readFile(TEST_ROWS_PATH, 'utf8'));
    const csvChanged = await writeIfChanged(path.join(dir, 'data', 'rows.csv'), predictCsv(testRows, count));
    const configPath = async (variant: PredictVariant): Promise<string> => {
      const file = path.join(dir, `quiver.batching-${variant.batching}.r${variant.runners}.config.ts`);
      await writeIfChanged(file, configText(variant));
      return file;
    };
    const config = await loadConfig(await configPath({ batching: 'on', runners: 1 }));
    const store = await openStore(config);
    try {
      if (csvChanged || (await readWatermark(store, PREDICT_VIEW)) === undefined) {
        settings.log(`Materializing ${count.toLocaleString('en-US')} GBDT feature rows into LMDB (${dir})…`);
        const [summary] = await runMaterialize(config, store, { views: [PREDICT_VIEW] });
        if (summary && summary.bad > 0) throw new Error(`predict bench data has ${summary.bad} bad rows`);
      } else {
        settings.log(`Reusing the predict bench data in ${dir}`);
      }
    } finally {
      await store.close();
    }
    return { dir, count, testRows, configPath };
  })();
  prepared.set(memo, once);
  return once;
}
