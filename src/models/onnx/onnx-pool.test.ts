import diagnostics from 'node:diagnostics_channel';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { GBDT_PATH, LR_PATH, featureBatch, readTestRows } from '../../../test/fixtures/models/test-rows.ts';
import type { ModelRunEvent, ModelRunnerEvent } from '../events.ts';
import type { LoadedModel } from '../model-runtime.ts';
import type { Tensor } from '../tensor.ts';
import { OnnxRuntime } from './onnx-runtime.ts';

const rows = readTestRows();
const open: LoadedModel[] = [];

async function load(runners: number, options: { path?: string; workerUrl?: URL } = {}): Promise<LoadedModel> {
  const runtime = new OnnxRuntime(options.workerUrl ? { workerUrl: options.workerUrl } : {});
  const model = await runtime.load({ name: 'm', path: options.path ?? LR_PATH, runners, intraOpThreads: 1 });
  open.push(model);
  return model;
}

afterEach(async () => {
  await Promise.all(open.splice(0).map((model) => model.destroy()));
});

/** Collects the events published on a diagnostics channel while `fn` runs. */
async function collect<T>(channel: string, fn: () => Promise<void>): Promise<T[]> {
  const events: T[] = [];
  const listener = (message: unknown): void => void events.push(message as T);
  diagnostics.subscribe(channel, listener);
  try {
    await fn();
  } finally {
    diagnostics.unsubscribe(channel, listener);
  }
  return events;
}

const batch = (count = 1): { features: Tensor } => ({ features: featureBatch(rows, 0, count) });

describe('runner pool', () => {
  it('runs two batches in parallel on two runner threads', async () => {
    const model = await load(2);
    const events = await collect<ModelRunEvent>('quiver:model:run', async () => {
      const first = model.run(batch());
      expect(model.idleRunners).toBe(1);
      const second = model.run(batch());
      // Both dispatched before either finished: two runs in flight at once.
      expect(model.idleRunners).toBe(0);
      await Promise.all([first, second]);
    });
    expect(model.idleRunners).toBe(2);
    expect(new Set(events.map((e) => e.threadId)).size).toBe(2);
    expect(events.every((e) => !e.failed && e.computeUs > 0 && e.roundTripUs >= e.computeUs)).toBe(true);
  });

  it('queues FIFO when every runner is busy, and calls onIdle as runners free up', async () => {
    const model = await load(1);
    let idleCalls = 0;
    model.onIdle(() => idleCalls++);
    const order: number[] = [];
    const runs = [1, 2, 3, 4].map((n) => model.run(batch(n)).then(() => void order.push(n)));
    expect(model.idleRunners).toBe(0);
    await Promise.all(runs);
    expect(order).toEqual([1, 2, 3, 4]);
    // The runner went straight from one queued job to the next, and was idle only at the end.
    expect(idleCalls).toBe(1);
    expect(model.idleRunners).toBe(1);
  });

  it('a run that fails inside onnxruntime rejects alone; the runner keeps serving', async () => {
    const model = await load(1);
    // Validation bypassed on purpose: 15 columns where the model needs 16.
    const wrong: Tensor = { name: 'features', datatype: 'FP32', shape: [1, 15], data: new Float32Array(15) };
    await expect(model.run({ features: wrong })).rejects.toMatchObject({
      code: 'QUIVER_ERR_INFERENCE_FAILED',
      message: expect.stringMatching(/^Inference failed for model "m": .*dimension/i),
    });
    const { probability } = await model.run(batch());
    expect(Math.abs((probability!.data as Float32Array)[0]! - rows.lr[0]!)).toBeLessThan(1e-5);
  });

  it('returns only the requested outputs', async () => {
    const model = await load(1);
    expect(Object.keys(await model.run(batch(), ['probability']))).toEqual(['probability']);
    await expect(model.run(batch(), ['nope'])).rejects.toMatchObject({ code: 'QUIVER_ERR_INFERENCE_FAILED' });
  });

  it('copies rather than detaches a typed array that views part of a larger buffer', async () => {
    const model = await load(1);
    const shared = rows.features.slice(0, 32);
    const view = shared.subarray(16, 32);
    await model.run({ features: { name: 'features', datatype: 'FP32', shape: [1, 16], data: view } });
    expect(shared.byteLength).toBe(128);
  });
});

describe('lifecycle', () => {
  it('close() lets in-flight and queued runs finish, then rejects new ones with QUIVER_ERR_CLOSED', async () => {
    const model = await load(1);
    const inFlight = model.run(batch(8));
    const queued = model.run(batch(4));
    const closed = model.close();
    expect(model.idleRunners).toBe(0);
    await expect(model.run(batch())).rejects.toMatchObject({
      code: 'QUIVER_ERR_CLOSED',
      message: 'Model "m" is closed',
    });
    expect((await inFlight).probability!.shape).toEqual([8, 1]);
    expect((await queued).probability!.shape).toEqual([4, 1]);
    await closed;
    await expect(model.run(batch())).rejects.toMatchObject({ code: 'QUIVER_ERR_CLOSED' });
    await model.close(); // idempotent
  });

  it('destroy() rejects in-flight and queued runs with QUIVER_ERR_CLOSED', async () => {
    const model = await load(1);
    const outcomes = [model.run(batch(1000)), model.run(batch())].map((run) =>
      expect(run).rejects.toMatchObject({ code: 'QUIVER_ERR_CLOSED' }),
    );
    await model.destroy();
    await Promise.all(outcomes);
  });

  it('a runner thread that dies fails its own run only, and is replaced', async () => {
    const workerUrl = new URL('../../../test/fixtures/models/crash-on-cue-worker.ts', import.meta.url);
    const model = await load(2, { workerUrl });
    const crash: Tensor = { name: '__crash__', datatype: 'FP32', shape: [1], data: new Float32Array(1) };
    const events = await collect<ModelRunnerEvent>('quiver:model:runner', async () => {
      const restarted = new Promise<void>((resolve) => {
        const listener = (message: unknown): void => {
          if ((message as ModelRunnerEvent).event !== 'restarted') return;
          diagnostics.unsubscribe('quiver:model:runner', listener);
          resolve();
        };
        diagnostics.subscribe('quiver:model:runner', listener);
      });
      const survivor = model.run(batch());
      await expect(model.run({ __crash__: crash })).rejects.toMatchObject({
        code: 'QUIVER_ERR_INFERENCE_FAILED',
        message: expect.stringContaining('exited (code 7)'),
      });
      await survivor; // the other runner kept serving
      await restarted;
    });
    expect(events.map((e) => e.event)).toEqual(['crashed', 'restarted']);
    expect(model.idleRunners).toBe(2);
    const runs = await Promise.all([model.run(batch()), model.run(batch())]);
    expect(runs.map((r) => r.probability!.shape)).toEqual([
      [1, 1],
      [1, 1],
    ]);
  });
});

describe('event loop', () => {
  it('stays responsive while runners compute batch-1000 inferences back to back (p99 delay < 20 ms)', async () => {
    const model = await load(2, { path: GBDT_PATH });
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const lane = async (): Promise<void> => {
      for (let i = 0; i < 40; i++) await model.run(batch(1000));
    };
    await Promise.all([lane(), lane()]);
    delay.disable();
    expect(delay.percentile(99) / 1e6).toBeLessThan(20);
  });
});
