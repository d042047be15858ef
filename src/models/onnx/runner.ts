/**
 * One runner: a worker thread with its own InferenceSession, running one batch at a time. The pool
 * (onnx-model.ts) decides what runs where; a runner only moves tensors across the thread boundary
 * and turns the worker's answers — or its death — into settled promises.
 */
import type { Worker } from 'node:worker_threads';
import { quiverError } from '../../errors.ts';
import type { TensorSpec } from '../model-runtime.ts';
import type { Tensor } from '../tensor.ts';
import { transferList, type FromWorker, type RunRequest, type WorkerInit } from './protocol.ts';
import { spawnWorker } from './spawn.ts';

export interface RunOutcome {
  readonly outputs: Tensor[];
  readonly computeUs: number;
}

export interface RunnerStart {
  readonly runner: Runner;
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
}

interface InFlight {
  readonly id: number;
  readonly resolve: (outcome: RunOutcome) => void;
  readonly reject: (err: Error) => void;
}

export class Runner {
  /** False once the thread has exited or been stopped; a dead runner is never reused. */
  alive = true;
  /** Called once if the thread dies on its own (not through terminate()). */
  onCrash: ((runner: Runner, reason: string) => void) | undefined;
  private inFlight: InFlight | undefined;
  private nextId = 1;
  private lastError: string | undefined;
  private stopping = false;

  private constructor(
    readonly index: number,
    readonly threadId: number,
    private readonly model: string,
    private readonly worker: Worker,
  ) {
    worker.on('message', (message: FromWorker) => this.answer(message));
    worker.on('error', (err) => (this.lastError = err.message));
    worker.on('exit', (code) => this.exited(code));
  }

  /** Starts the thread; resolves once the session is loaded (and warmed up), rejects with the reason otherwise. */
  static start(index: number, model: string, workerUrl: URL, init: WorkerInit): Promise<RunnerStart> {
    return new Promise((resolve, reject) => {
      let worker: Worker;
      try {
        worker = spawnWorker(workerUrl, init);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      let failure = 'worker exited before loading the model';
      const onMessage = (message: FromWorker): void => {
        if (message.type === 'ready') {
          settle();
          resolve({
            runner: new Runner(index, message.threadId, model, worker),
            inputs: message.inputs,
            outputs: message.outputs,
          });
        } else if (message.type === 'load-failed') {
          failure = message.reason;
          void worker.terminate();
        }
      };
      const onError = (err: Error): void => void (failure = err.message);
      const onExit = (): void => {
        settle();
        reject(new Error(failure));
      };
      const settle = (): void => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    });
  }

  get busy(): boolean {
    return this.inFlight !== undefined;
  }

  /** Runs one batch; the inputs' typed arrays are transferred. One run at a time (the pool ensures it). */
  run(inputs: Tensor[], outputNames: readonly string[]): Promise<RunOutcome> {
    if (this.inFlight !== undefined || !this.alive) {
      return Promise.reject(
        quiverError('QUIVER_ERR_INTERNAL', { reason: `runner ${this.index} is not free` }),
      );
    }
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.inFlight = { id, resolve, reject };
      const request: RunRequest = { type: 'run', id, inputs, outputNames };
      try {
        this.worker.postMessage(request, transferList(inputs));
      } catch (err) {
        // E.g. a typed array already detached by an earlier run: the caller reused it.
        this.inFlight = undefined;
        reject(this.failed(err instanceof Error ? err.message : String(err)));
      }
    });
  }

  /** Stops the thread; a run in flight rejects with `reason`. */
  async terminate(reason: Error): Promise<void> {
    this.stopping = true;
    this.alive = false;
    this.settleInFlight(reason);
    await this.worker.terminate();
  }

  private answer(message: FromWorker): void {
    const current = this.inFlight;
    if (current === undefined || !('id' in message) || message.id !== current.id) return;
    this.inFlight = undefined;
    if (message.type === 'result')
      current.resolve({ outputs: message.outputs, computeUs: message.computeUs });
    else if (message.type === 'run-failed') current.reject(this.failed(message.reason));
  }

  private exited(code: number): void {
    this.alive = false;
    if (this.stopping) return;
    const reason = `runner thread ${this.threadId} exited (code ${code}${this.lastError ? `: ${this.lastError}` : ''})`;
    this.settleInFlight(this.failed(reason));
    this.onCrash?.(this, reason);
  }

  private settleInFlight(err: Error): void {
    const current = this.inFlight;
    this.inFlight = undefined;
    current?.reject(err);
  }

  private failed(reason: string): Error {
    return quiverError(
      'QUIVER_ERR_INFERENCE_FAILED',
      { model: this.model, reason },
      { details: { model: this.model } },
    );
  }
}
