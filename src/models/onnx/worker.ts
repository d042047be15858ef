/**
 * A runner's worker thread: owns one InferenceSession and runs one batch at a time. session.run()
 * blocks the thread it is called on, which is the point of being here: the main event loop never
 * waits on inference. Typed arrays arrive and leave in the transfer list (no copies, no JSON).
 * Started by runner.ts with `workerData: WorkerInit`; answers with protocol.ts messages.
 */
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { InferenceSession, Tensor as OrtTensor, type OnnxValue } from 'onnxruntime-node';
import { DATATYPE_TO_ORT, datatypeFromOrt, zerosTensor, type Tensor } from '../tensor.ts';
import type { TensorSpec } from '../model-runtime.ts';
import { inputSpecs, outputSpecs } from './metadata.ts';
import { transferList, type FromWorker, type RunRequest, type WorkerInit } from './protocol.ts';

const port = parentPort;
if (port === null) throw new Error('onnx/worker.ts must run in a worker thread');
const init = workerData as WorkerInit;

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function send(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

function toOrt(tensor: Tensor): OrtTensor {
  // onnxruntime's constructor overloads pair each type name with its array type; the pairing is
  // the one DATATYPE_TO_ORT encodes, which TypeScript cannot follow through a union.
  return new OrtTensor(DATATYPE_TO_ORT[tensor.datatype], tensor.data as Float32Array, tensor.shape);
}

function fromOrt(name: string, value: OnnxValue): Tensor {
  const datatype = datatypeFromOrt(value.type);
  if (datatype === undefined)
    throw new Error(`output "${name}" has element type ${value.type}, which Quiver does not support`);
  return { name, datatype, shape: [...value.dims], data: value.data as Tensor['data'] };
}

function warmupFeeds(specs: readonly TensorSpec[]): Record<string, OrtTensor> {
  const feeds: Record<string, OrtTensor> = {};
  for (const spec of specs) {
    feeds[spec.name] = toOrt(
      zerosTensor(
        spec.name,
        spec.datatype,
        spec.shape.map((dim) => (dim === -1 ? 1 : dim)),
      ),
    );
  }
  return feeds;
}

async function load(): Promise<{ session: InferenceSession; outputNames: string[] } | undefined> {
  try {
    const session = await InferenceSession.create(init.path, {
      intraOpNumThreads: init.intraOpThreads,
      // One batch at a time per runner: parallelism comes from more runners, not inter-op threads.
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const inputs = inputSpecs(session.inputMetadata);
    const outputs = outputSpecs(session.outputMetadata);
    const outputNames = outputs.map((spec) => spec.name);
    // The first run allocates and plans; doing it here keeps that cost off the first request.
    if (init.warmup) await session.run(warmupFeeds(inputs), outputNames);
    send({ type: 'ready', inputs, outputs, threadId });
    return { session, outputNames };
  } catch (err) {
    send({ type: 'load-failed', reason: reasonOf(err) });
    port!.close();
    return undefined;
  }
}

async function run(session: InferenceSession, tensorOutputs: string[], request: RunRequest): Promise<void> {
  try {
    const feeds: Record<string, OrtTensor> = {};
    for (const tensor of request.inputs) feeds[tensor.name] = toOrt(tensor);
    const startMs = performance.now();
    const results = await session.run(
      feeds,
      request.outputNames.length > 0 ? request.outputNames : tensorOutputs,
    );
    const computeUs = (performance.now() - startMs) * 1000;
    const outputs = Object.entries(results).map(([name, value]) => fromOrt(name, value));
    send({ type: 'result', id: request.id, outputs, computeUs }, transferList(outputs));
  } catch (err) {
    // The session is still usable after a failed run (bad shape, bad value): report and carry on.
    send({ type: 'run-failed', id: request.id, reason: reasonOf(err) });
  }
}

const loaded = await load();
if (loaded !== undefined) {
  const { session, outputNames } = loaded;
  port.on('message', (request: RunRequest) => void run(session, outputNames, request));
}
