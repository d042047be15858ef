/**
 * predict: POST /v1/models/gbdt/predict by entity (1 entity per request, its 16 features read from
 * LMDB inside Quiver, then the shared GBDT test model), at 1, 16, 64 and 256 connections, batching
 * on and off, against the plain node:http ceiling at the same levels, plus the raw onnxruntime
 * figure (main thread, and through Quiver's runner pool) for batch sizes 1, 16, 64 and 256.
 *
 * Per round: Quiver with batching on and Quiver with batching off (each alone, order alternating
 * between rounds), then the ceiling, each through every connection level (connection-levels.ts);
 * in-server batch sizes and event-loop delay come from /metrics scraped around each run.
 */
import path from 'node:path';
import { seededRandom } from '../../examples/fraud/generate.ts';
import { captureResponse, startCeiling, type CapturedResponse } from '../lib/ceiling.ts';
import { runLevels, waitForPath, type LevelRun } from '../lib/connection-levels.ts';
import {
  BATCHING,
  GBDT_MODEL_PATH,
  PREDICT_JOIN_KEY,
  PREDICT_MODEL,
  preparePredictData,
  testRowOf,
  type BatchingMode,
  type PredictData,
  type TestRow,
} from '../lib/gbdt-data.ts';
import { fmtInt, ms, timestamp } from '../lib/http-scenario.ts';
import {
  eventLoopOf,
  observeModel,
  type EventLoopDelay,
  type ModelObservation,
} from '../lib/model-metrics.ts';
import { buildPredictRows, renderPredictMarkdown, type PredictRunSet } from '../lib/predict-report.ts';
import { measureRawOnnx, type RawOnnxFigure } from '../lib/raw-onnx.ts';
import { profileQuiverRun, type ProfileRunResult } from '../lib/server-profile.ts';
import { startQuiver, type ServerProcess } from '../lib/server-process.ts';
import type { BenchSettings, Scenario, ScenarioOutput } from '../lib/types.ts';
import { readTestRows } from '../../test/fixtures/models/test-rows.ts';

const PATH = `/v1/models/${PREDICT_MODEL}/predict`;
/** Distinct request bodies (random ids over the data), every one checked before measuring. */
const BODY_COUNT = 2000;
const DEFAULT_LEVELS = [1, 16, 64, 256];
const RAW_BATCH_SIZES = [1, 16, 64, 256];
const TOLERANCE = 1e-5;

/** Connection levels: BENCH_PREDICT_CONNECTIONS="1,16,64,256" (ascending), for quicker runs. */
export function predictLevels(raw = process.env.BENCH_PREDICT_CONNECTIONS): number[] {
  if (raw === undefined || raw.trim() === '') return DEFAULT_LEVELS;
  const levels = raw.split(',').map((s) => Number(s.trim()));
  if (levels.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`BENCH_PREDICT_CONNECTIONS must list positive integers, got "${raw}"`);
  return [...new Set(levels)].sort((a, b) => a - b);
}

/** `count` bodies `{"entities":{"row_id":["<id>"]}}` with deterministic random ids in 1..rows. */
export function predictBodies(rows: number, count: number, seed = 11): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: count }, () =>
    JSON.stringify({ entities: { [PREDICT_JOIN_KEY]: [String(1 + Math.floor(random() * rows))] } }),
  );
}

interface PredictJson {
  model?: unknown;
  outputs?: { probability?: unknown };
  feature_statuses?: unknown;
}

/** 200, one probability equal to the test row's expected `gbdt_proba` to 1e-5, every feature present. */
export function validatePrediction(
  response: CapturedResponse,
  body: string,
  testRows: readonly TestRow[],
): string | undefined {
  if (response.status !== 200)
    return `status ${response.status}: ${response.body.toString('utf8').slice(0, 300)}`;
  const id = Number(
    (JSON.parse(body) as { entities: Record<string, string[]> }).entities[PREDICT_JOIN_KEY]![0],
  );
  let doc: PredictJson;
  try {
    doc = JSON.parse(response.body.toString('utf8')) as PredictJson;
  } catch {
    return 'the response is not JSON';
  }
  if (doc.model !== PREDICT_MODEL) return `model is ${JSON.stringify(doc.model)}`;
  if (doc.feature_statuses !== undefined)
    return `features not all PRESENT for id ${id}: ${JSON.stringify(doc.feature_statuses)}`;
  const p = doc.outputs?.probability;
  if (!Array.isArray(p) || p.length !== 1 || typeof p[0] !== 'number')
    return `expected outputs.probability = [number], got ${JSON.stringify(p)}`;
  const expected = testRowOf(testRows, id).gbdtProba;
  if (!(Math.abs(p[0] - expected) <= TOLERANCE))
    return `id ${id}: probability ${p[0]}, expected ${expected} (±${TOLERANCE})`;
  return undefined;
}

/** Sends every body once and checks it; returns the response closest to the mean size. */
async function checkAll(
  server: ServerProcess,
  bodies: readonly string[],
  data: PredictData,
): Promise<CapturedResponse> {
  const responses: CapturedResponse[] = [];
  for (const body of bodies) {
    const response = await captureResponse(server.url + PATH, body);
    const problem = validatePrediction(response, body, data.testRows);
    if (problem !== undefined) throw new Error(`wrong response from ${server.url}${PATH}: ${problem}`);
    responses.push(response);
  }
  const mean = responses.reduce((s, r) => s + r.body.length, 0) / responses.length;
  return responses.reduce((best, r) =>
    Math.abs(r.body.length - mean) < Math.abs(best.body.length - mean) ? r : best,
  );
}

function levelLog<S extends ModelObservation | EventLoopDelay>(
  log: (line: string) => void,
  tag: string,
): (run: LevelRun<S>) => void {
  return (run) => {
    const w = run.wrk;
    const o = run.observed;
    const cpuUs = (run.cpu.totalSeconds * 1e6) / w.requests;
    log(
      `${tag} @${run.connections}c: ${fmtInt(w.requestsPerSecond)} req/s, p50 ${ms(w.latencyUs.p50)}, p99 ${ms(w.latencyUs.p99)}, ` +
        `CPU ${cpuUs.toFixed(1)} µs/req (main thread ${((run.mainThreadCpu.totalSeconds * 1e6) / w.requests).toFixed(1)})` +
        (o === undefined
          ? ''
          : 'batchRows' in o
            ? `, batch ${o.batchRows.mean.toFixed(1)} rows, event-loop delay p99 ${ms(o.eventLoop.p99Us)}`
            : `, event-loop delay p99 ${ms(o.p99Us)}`) +
        `; other load ${run.background.toFixed(2)} cores` +
        (w.ok ? '' : `  ⚠ ${w.problems.join('; ')}`),
    );
  };
}

function predictScenario(runners: number): Scenario {
  const variant = runners === 1 ? '1-runner' : `${runners}-runners`;
  const id = `predict:${variant}`;
  return {
    id,
    description: `POST ${PATH} (1 entity, 16 features from LMDB, GBDT) at 1/16/64/256 connections, batching on and off, ${runners} runner thread(s); node:http ceiling; raw onnxruntime`,
    async run(settings: BenchSettings): Promise<ScenarioOutput> {
      const log = (line: string): void => settings.log(`[${id}] ${line}`);
      const data = await preparePredictData(settings);
      const bodies = predictBodies(data.count, BODY_COUNT);
      const levels = predictLevels();
      const secondsAt = (c: number): number => (c === 1 ? settings.latencySeconds : settings.seconds);
      const runs: PredictRunSet = { on: [], off: [], ceiling: [] };
      const checked = new Set<BatchingMode>();
      let reference: CapturedResponse | undefined;

      for (let round = 1; round <= settings.repeats; round++) {
        const tag = `round ${round}/${settings.repeats}`;
        const modes: BatchingMode[] = round % 2 === 1 ? ['on', 'off'] : ['off', 'on'];
        for (const mode of modes) {
          const server = await startQuiver({
            configPath: await data.configPath({ batching: mode, runners }),
          });
          try {
            await waitForPath(server, '/readyz');
            if (!checked.has(mode)) {
              reference = await checkAll(server, bodies, data);
              checked.add(mode);
              log(
                `batching ${mode}: ${bodies.length} responses checked; reference ${reference.body.length} bytes`,
              );
            }
            runs[mode].push(
              ...(await runLevels({
                server,
                path: PATH,
                bodies,
                levels,
                secondsAt,
                warmupSeconds: settings.warmupSeconds,
                observe: (before, after) => observeModel(PREDICT_MODEL, before, after),
                log: levelLog(log, `${tag} batching ${mode}`),
              })),
            );
          } finally {
            await server.stop();
          }
        }
        const ceiling = await startCeiling(reference!);
        try {
          runs.ceiling.push(
            ...(await runLevels<EventLoopDelay>({
              server: ceiling,
              path: PATH,
              bodies,
              levels,
              secondsAt,
              warmupSeconds: settings.warmupSeconds,
              observe: (_before, after) => eventLoopOf(after),
              log: levelLog(log, `${tag} ceiling`),
            })),
          );
        } finally {
          await ceiling.stop();
        }
      }

      log('raw onnxruntime (in-process: main thread, and through the runner pool)');
      const testRows = readTestRows();
      const raw: RawOnnxFigure[] = await measureRawOnnx(GBDT_MODEL_PATH, testRows.features, testRows.gbdt, {
        batchSizes: RAW_BATCH_SIZES,
        seconds: 2,
        tolerance: TOLERANCE,
      });
      for (const r of raw) {
        log(
          `raw batch ${r.batchSize}: direct ${r.direct.usPerBatch.toFixed(1)} µs (${fmtInt(r.direct.rowsPerSecond)} rows/s), ` +
            `pool ${r.pool.usPerBatch.toFixed(1)} µs (${fmtInt(r.pool.rowsPerSecond)} rows/s), hand-off ${r.handoffUs.toFixed(1)} µs (CPU ${r.handoffCpuUs.toFixed(1)} µs)`,
        );
      }

      let profile: ProfileRunResult | undefined;
      if (settings.profile) {
        const top = Math.max(...levels);
        profile = await profileQuiverRun({
          configPath: await data.configPath({ batching: 'on', runners }),
          path: PATH,
          bodies,
          connections: top,
          seconds: settings.seconds,
          warmupSeconds: settings.warmupSeconds,
          dir: path.join(settings.resultsDir, 'profiles', `predict-${variant}-${timestamp()}`),
        });
        log(
          profile === undefined
            ? '⚠ the profiled server wrote no main-thread .cpuprofile'
            : `profile: ${profile.files.join(', ')} (${fmtInt(profile.requestsPerSecond)} req/s while profiling)`,
        );
      }

      const { rows, levelFigures, warnings } = buildPredictRows({
        runners,
        levels,
        bodies: bodies.length,
        responseBytes: reference!.body.length,
        runs,
      });
      return {
        rows,
        markdown: renderPredictMarkdown({ runners, levels, levelFigures, raw, profile, batching: BATCHING }),
        details: {
          runners,
          levels,
          dataRows: data.count,
          requestBodies: bodies.length,
          batching: BATCHING,
          models: levelFigures.map((l) => ({ connections: l.connections, on: l.onModel, off: l.offModel })),
          observations: [
            ...runs.on.map((r) => ({ batching: 'on', connections: r.connections, ...r.observed })),
            ...runs.off.map((r) => ({ batching: 'off', connections: r.connections, ...r.observed })),
          ],
          rawOnnx: raw,
          profile,
        },
        warnings,
      };
    },
  };
}

export const scenarios: readonly Scenario[] = [predictScenario(1), predictScenario(2)];
