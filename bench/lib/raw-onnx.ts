/**
 * The raw model limit, in-process: onnxruntime's own `InferenceSession.run()` on the main thread for
 * each batch size (the physical limit of the model on one core), and the same batches through
 * Quiver's runner pool (`OnnxRuntime`, one worker thread), one call at a time, so the difference is
 * the thread hand-off per batch. Both use the session options of the runner threads. The inputs are
 * real test rows, and the direct results are checked against the expected probabilities first.
 */
import { performance } from 'node:perf_hooks';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import type { LoadedModel } from '../../src/models/model-runtime.ts';
import { OnnxRuntime } from '../../src/models/onnx/onnx-runtime.ts';

export interface RawRunFigure {
  /** Wall µs per run() call (median over repetitions). */
  readonly usPerBatch: number;
  readonly rowsPerSecond: number;
  /** Process CPU µs per call (every thread: the runner's too), median over repetitions. */
  readonly cpuUsPerBatch: number;
  readonly calls: number;
}

export interface RawOnnxFigure {
  readonly batchSize: number;
  /** InferenceSession.run on the calling thread. */
  readonly direct: RawRunFigure;
  /** LoadedModel.run through Quiver's runner pool (1 worker thread). */
  readonly pool: RawRunFigure;
  /** pool − direct wall µs per batch: what crossing to the runner thread and back costs. */
  readonly handoffUs: number;
  /** pool − direct CPU µs per batch (both threads): the steadier figure on a shared machine. */
  readonly handoffCpuUs: number;
}

export interface RawOnnxOptions {
  readonly batchSizes: readonly number[];
  /** Measured time per (batch size, path), split into `repetitions` interleaved slices. */
  readonly seconds?: number;
  readonly repetitions?: number;
  /** Largest |probability − expected| accepted in the check (default 1e-5). */
  readonly tolerance?: number;
}

const FEATURES = 16;

/** The runner threads' session options (src/models/onnx/worker.ts). */
const SESSION_OPTIONS: InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
};

interface Slice {
  wallUs: number;
  cpuUs: number;
  calls: number;
}

const cpuNowUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

async function timeSlice(seconds: number, call: (i: number) => Promise<unknown>): Promise<Slice> {
  const start = performance.now();
  const cpu = cpuNowUs();
  const end = start + seconds * 1000;
  let calls = 0;
  let now = start;
  while (now < end) {
    await call(calls++);
    now = performance.now();
  }
  return { wallUs: (now - start) * 1000, cpuUs: cpuNowUs() - cpu, calls };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

function figure(slices: readonly Slice[], batchSize: number): RawRunFigure {
  const usPerBatch = median(slices.map((s) => s.wallUs / s.calls));
  return {
    usPerBatch,
    rowsPerSecond: (batchSize * 1e6) / usPerBatch,
    cpuUsPerBatch: median(slices.map((s) => s.cpuUs / s.calls)),
    calls: slices.reduce((n, s) => n + s.calls, 0),
  };
}

/** Batches cut in rotation from `features` (count × 16 rows), `batchSize` rows each. */
function batchesOf(features: Float32Array, batchSize: number, max = 8): Float32Array[] {
  const rows = features.length / FEATURES;
  const out: Float32Array[] = [];
  for (let b = 0; b < max; b++) {
    const data = new Float32Array(batchSize * FEATURES);
    for (let r = 0; r < batchSize; r++) {
      const src = ((b * batchSize + r) % rows) * FEATURES;
      data.set(features.subarray(src, src + FEATURES), r * FEATURES);
    }
    out.push(data);
  }
  return out;
}

/** Throws unless the model reproduces `expected` for the first rows, to `tolerance`. */
async function checkOutputs(
  session: InferenceSession,
  features: Float32Array,
  expected: Float64Array,
  tolerance: number,
): Promise<void> {
  const rows = Math.min(256, expected.length);
  const out = await session.run({
    features: new OrtTensor('float32', features.slice(0, rows * FEATURES), [rows, FEATURES]),
  });
  const probability = out.probability?.data as Float32Array | undefined;
  if (probability === undefined) throw new Error('the model has no output "probability"');
  for (let i = 0; i < rows; i++) {
    const diff = Math.abs(probability[i]! - expected[i]!);
    if (!(diff <= tolerance))
      throw new Error(`raw onnxruntime: row ${i} gave ${probability[i]}, expected ${expected[i]}`);
  }
}

/**
 * Measures every batch size, direct and pooled, in interleaved slices (so both see the same
 * background load); medians over the slices.
 */
export async function measureRawOnnx(
  modelPath: string,
  features: Float32Array,
  expected: Float64Array,
  options: RawOnnxOptions,
): Promise<RawOnnxFigure[]> {
  const repetitions = options.repetitions ?? 7;
  const sliceSeconds = (options.seconds ?? 1) / repetitions;
  const session = await InferenceSession.create(modelPath, SESSION_OPTIONS);
  let model: LoadedModel | undefined;
  try {
    await checkOutputs(session, features, expected, options.tolerance ?? 1e-5);
    model = await new OnnxRuntime().load({ name: 'raw', path: modelPath, runners: 1, intraOpThreads: 1 });
    const pooled = model;
    const figures: RawOnnxFigure[] = [];
    for (const batchSize of options.batchSizes) {
      const batches = batchesOf(features, batchSize);
      const shape = [batchSize, FEATURES];
      // Both copy their input per call: the pool must (run() transfers it), and so the copy is not
      // counted as hand-off.
      const direct = (i: number): Promise<unknown> =>
        session.run({ features: new OrtTensor('float32', batches[i % batches.length]!.slice(), shape) });
      const pool = (i: number): Promise<unknown> =>
        pooled.run({
          features: { name: 'features', datatype: 'FP32', shape, data: batches[i % batches.length]!.slice() },
        });
      await timeSlice(0.1, direct);
      await timeSlice(0.1, pool);
      const d: Slice[] = [];
      const p: Slice[] = [];
      for (let rep = 0; rep < repetitions; rep++) {
        d.push(await timeSlice(sliceSeconds, direct));
        p.push(await timeSlice(sliceSeconds, pool));
      }
      const directFigure = figure(d, batchSize);
      const poolFigure = figure(p, batchSize);
      figures.push({
        batchSize,
        direct: directFigure,
        pool: poolFigure,
        handoffUs: poolFigure.usPerBatch - directFigure.usPerBatch,
        handoffCpuUs: poolFigure.cpuUsPerBatch - directFigure.cpuUsPerBatch,
      });
    }
    return figures;
  } finally {
    await model?.close();
    await session.release();
  }
}
