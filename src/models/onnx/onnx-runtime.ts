/**
 * The ONNX model runtime (onnxruntime-node, CPU). Each model gets `runners` worker threads with one
 * InferenceSession each; a model is returned only once every runner has loaded and warmed up, and a
 * failed load leaves no thread behind.
 *
 * @example
 *   const runtime = new OnnxRuntime();
 *   const model = await runtime.load({ name: 'fraud', path: '/abs/fraud.onnx', runners: 2, intraOpThreads: 1 });
 *   model.metadata.inputs; // [{ name: 'features', datatype: 'FP32', shape: [-1, 16] }]
 */
import { access, constants } from 'node:fs/promises';
import { quiverError } from '../../errors.ts';
import type { LoadedModel, ModelMetadata, ModelRuntime, ModelSpec } from '../model-runtime.ts';
import { OnnxModel } from './onnx-model.ts';
import type { WorkerInit } from './protocol.ts';
import { Runner, type RunnerStart } from './runner.ts';
import { DEFAULT_WORKER_URL } from './spawn.ts';

/** Triton's platform name for ONNX models, reported in OIP model metadata. */
export const ONNX_PLATFORM = 'onnxruntime_onnx';

export interface OnnxRuntimeOptions {
  /** The runner thread entry; tests swap in a wrapper (e.g. one that can crash on cue). */
  readonly workerUrl?: URL;
}

export class OnnxRuntime implements ModelRuntime {
  private readonly workerUrl: URL;

  constructor(options: OnnxRuntimeOptions = {}) {
    this.workerUrl = options.workerUrl ?? DEFAULT_WORKER_URL;
  }

  async load(spec: ModelSpec): Promise<LoadedModel> {
    const fail = (reason: string, cause?: unknown): Error =>
      quiverError(
        'QUIVER_ERR_MODEL_LOAD_FAILED',
        { model: spec.name, reason },
        { details: { model: spec.name }, cause },
      );
    if (!Number.isSafeInteger(spec.runners) || spec.runners < 1) {
      throw fail(`runners must be an integer ≥ 1, got ${spec.runners}`);
    }
    if (!Number.isSafeInteger(spec.intraOpThreads) || spec.intraOpThreads < 0) {
      throw fail(
        `intraOpThreads must be an integer ≥ 0 (0 = onnxruntime's default), got ${spec.intraOpThreads}`,
      );
    }
    try {
      // Checked here for a clear message, and so a missing file starts no thread at all.
      await access(spec.path, constants.R_OK);
    } catch (err) {
      throw fail(`cannot read ${spec.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
    }

    const init: WorkerInit = {
      path: spec.path,
      intraOpThreads: spec.intraOpThreads,
      warmup: spec.warmup ?? true,
    };
    const started = await Promise.allSettled(
      Array.from({ length: spec.runners }, (_, index) =>
        Runner.start(index, spec.name, this.workerUrl, init),
      ),
    );
    const runners = started
      .filter((s): s is PromiseFulfilledResult<RunnerStart> => s.status === 'fulfilled')
      .map((s) => s.value);
    const failure = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure !== undefined || runners.length === 0) {
      const closing = quiverError('QUIVER_ERR_CLOSED', { component: `Model "${spec.name}"` });
      await Promise.all(runners.map(({ runner }) => runner.terminate(closing)));
      const reason: unknown = failure?.reason;
      throw fail(reason instanceof Error ? reason.message : String(reason), reason);
    }

    const first = runners[0]!;
    const metadata: ModelMetadata = Object.freeze({
      name: spec.name,
      versions: Object.freeze(spec.version === undefined ? [] : [spec.version]),
      platform: ONNX_PLATFORM,
      inputs: Object.freeze(first.inputs),
      outputs: Object.freeze(first.outputs),
    });
    return new OnnxModel(
      metadata,
      runners.map((r) => r.runner),
      this.workerUrl,
      init,
    );
  }
}
