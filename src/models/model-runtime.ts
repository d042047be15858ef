/**
 * The model runtime port: load a model, run batches on it, close it. Implementations live beside it
 * (onnx/); only main.ts and tests import them. `validateInputs` is shared by every caller so each
 * request is checked once, at the edge — `run()` itself does not validate (the batcher concatenates
 * already-validated requests, and re-checking every batch would only cost time).
 *
 * @example
 *   const model = await runtime.load({ name: 'fraud', path: '/m/fraud.onnx', runners: 2, intraOpThreads: 1 });
 *   validateInputs(model.metadata, inputs);
 *   const { probability } = await model.run(inputs);
 *   await model.close();
 */
import { quiverError } from '../errors.ts';
import { elementCount, type Datatype, type Tensor } from './tensor.ts';

export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  /** -1 = dynamic (any size ≥ 1). */
  readonly shape: readonly number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  /** OIP/Triton platform name, e.g. 'onnxruntime_onnx'. */
  readonly platform: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface ModelSpec {
  readonly name: string;
  /** Absolute path of the model file. */
  readonly path: string;
  readonly version?: string;
  /** Worker threads, each with its own session: batches that can run at once. */
  readonly runners: number;
  /** Threads one session may use for one operator. */
  readonly intraOpThreads: number;
  /** Run one zero-filled inference per runner before the model counts as loaded (default true). */
  readonly warmup?: boolean;
}

export interface LoadedModel {
  readonly metadata: ModelMetadata;
  /**
   * Runs one batch. Inputs by name; outputs by name (all, or `outputNames`). Typed arrays are
   * TRANSFERRED to the worker: callers must not reuse them. Rejects with
   * QUIVER_ERR_INFERENCE_FAILED when the runtime fails the run, QUIVER_ERR_CLOSED after close().
   */
  run(
    inputs: Readonly<Record<string, Tensor>>,
    outputNames?: readonly string[],
  ): Promise<Record<string, Tensor>>;
  /** Number of runners currently idle (the batcher forms a batch only when one is free). */
  readonly idleRunners: number;
  /** Called whenever a runner becomes idle (the batcher uses this to dispatch the next batch). */
  onIdle(listener: () => void): void;
  /** Lets in-flight (and already queued) runs finish, then stops the workers. */
  close(): Promise<void>;
  /**
   * Stops at once: queued and in-flight runs reject with QUIVER_ERR_CLOSED. For a shutdown whose
   * drain timed out: close() alone would wait forever on a run that never returns.
   */
  destroy(): Promise<void>;
}

export interface ModelRuntime {
  /** Resolves once every runner has loaded the model (and warmed up); QUIVER_ERR_MODEL_LOAD_FAILED otherwise. */
  load(spec: ModelSpec): Promise<LoadedModel>;
}

function invalid(name: string, reason: string): Error {
  return quiverError('QUIVER_ERR_INVALID_TENSOR', { name, reason }, { details: { tensor: name } });
}

function describeSpecs(specs: readonly TensorSpec[]): string {
  return specs.map((s) => `${s.name} (${s.datatype} [${s.shape.join(',')}])`).join(', ');
}

/**
 * Checks a request's inputs against the model: every input present, none unknown, datatype, rank
 * and fixed dims equal, dynamic dims ≥ 1, data length = product of shape. Throws
 * QUIVER_ERR_INVALID_TENSOR naming the first offending tensor.
 */
export function validateInputs(metadata: ModelMetadata, inputs: Readonly<Record<string, Tensor>>): void {
  for (const name of Object.keys(inputs)) {
    if (!metadata.inputs.some((spec) => spec.name === name)) {
      throw invalid(name, `unknown input; model "${metadata.name}" takes ${describeSpecs(metadata.inputs)}`);
    }
  }
  for (const spec of metadata.inputs) {
    // hasOwn, not `in`: an input named "constructor" must not find Object.prototype's.
    const tensor = Object.hasOwn(inputs, spec.name) ? inputs[spec.name] : undefined;
    if (tensor === undefined) {
      throw invalid(
        spec.name,
        `missing input; model "${metadata.name}" takes ${describeSpecs(metadata.inputs)}`,
      );
    }
    if (tensor.datatype !== spec.datatype) {
      throw invalid(spec.name, `datatype ${tensor.datatype} does not match the model's ${spec.datatype}`);
    }
    const mismatch = shapeMismatch(tensor.shape, spec.shape);
    if (mismatch !== undefined) throw invalid(spec.name, mismatch);
    const expected = elementCount(tensor.shape);
    if (tensor.data.length !== expected) {
      throw invalid(
        spec.name,
        `shape [${tensor.shape.join(',')}] needs ${expected} elements, got ${tensor.data.length}`,
      );
    }
  }
}

function shapeMismatch(actual: readonly number[], expected: readonly number[]): string | undefined {
  const wanted = `[${expected.join(',')}]`;
  if (actual.length !== expected.length) {
    return `shape [${actual.join(',')}] has rank ${actual.length}, the model needs rank ${expected.length} ${wanted}`;
  }
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i]!;
    const got = actual[i]!;
    if (want === -1 ? got < 1 : got !== want) {
      const needs = want === -1 ? 'at least 1' : String(want);
      return `shape [${actual.join(',')}] does not match the model's ${wanted}: dim ${i} is ${got}, needs ${needs}`;
    }
  }
  return undefined;
}

/** Checks requested output names (OIP `outputs`) against the model. Throws QUIVER_ERR_INVALID_TENSOR. */
export function validateOutputNames(metadata: ModelMetadata, outputNames: readonly string[]): void {
  for (const name of outputNames) {
    if (!metadata.outputs.some((spec) => spec.name === name)) {
      throw invalid(
        name,
        `unknown output; model "${metadata.name}" returns ${describeSpecs(metadata.outputs)}`,
      );
    }
  }
}
