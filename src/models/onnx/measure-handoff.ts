/**
 * Measures what the runner pool costs over calling onnxruntime on the main thread: one run at a time
 * (no overlap), batch 1 and 64, on both test models. Reports wall time and process CPU time per call
 * (CPU is the steadier figure on a shared machine), as the median of several repetitions.
 *
 * Usage: node --import tsx src/models/onnx/measure-handoff.ts [modelsDir] [callsPerRep]
 */
import { resolve } from 'node:path';
import { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-node';
import { OnnxRuntime } from './onnx-runtime.ts';

const dir = resolve(process.argv[2] ?? 'test/fixtures/models');
const calls = Number(process.argv[3] ?? 5000);
const REPS = 7;

interface Sample {
  wallUs: number;
  cpuUs: number;
}

const cpuUs = (): number => {
  const usage = process.cpuUsage();
  return usage.user + usage.system;
};

async function time(fn: () => Promise<unknown>): Promise<Sample> {
  const wall = performance.now();
  const cpu = cpuUs();
  for (let i = 0; i < calls; i++) await fn();
  return { wallUs: ((performance.now() - wall) * 1000) / calls, cpuUs: (cpuUs() - cpu) / calls };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[values.length >> 1]!;

for (const name of ['lr', 'gbdt']) {
  const path = resolve(dir, `${name}.onnx`);
  const session = await InferenceSession.create(path, {
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
  const model = await new OnnxRuntime().load({ name, path, runners: 1, intraOpThreads: 1 });
  for (const rows of [1, 64]) {
    const source = Float32Array.from({ length: rows * 16 }, () => Math.random());
    const direct = () => session.run({ features: new OrtTensor('float32', source.slice(), [rows, 16]) });
    const pooled = () =>
      model.run({
        features: { name: 'features', datatype: 'FP32', shape: [rows, 16], data: source.slice() },
      });
    await time(direct);
    await time(pooled);
    const d: Sample[] = [];
    const p: Sample[] = [];
    // Interleaved, so both see the same background load.
    for (let rep = 0; rep < REPS; rep++) {
      d.push(await time(direct));
      p.push(await time(pooled));
    }
    const fmt = (s: Sample[]): string =>
      `wall ${median(s.map((x) => x.wallUs)).toFixed(1)} µs, cpu ${median(s.map((x) => x.cpuUs)).toFixed(1)} µs`;
    const overhead = median(p.map((x) => x.wallUs)) - median(d.map((x) => x.wallUs));
    console.log(
      `${name} batch ${rows}: direct ${fmt(d)} | pool ${fmt(p)} | hand-off ≈ ${overhead.toFixed(1)} µs`,
    );
  }
  await model.close();
  await session.release();
}
