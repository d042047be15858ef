/**
 * A loaded ONNX model: a pool of runners (worker threads, one session each). `run()` goes to an idle
 * runner or waits FIFO in the pool — the batcher normally calls it only when `idleRunners > 0`, but
 * the pool stays correct either way. A runner that dies fails its own run only; a replacement starts
 * at once (with backoff if it cannot load), and the pool keeps serving on the others.
 */
import { quiverError } from '../../errors.ts';
import { modelChannels, type ModelRunEvent, type ModelRunnerEvent } from '../events.ts';
import type { LoadedModel, ModelMetadata } from '../model-runtime.ts';
import type { Tensor } from '../tensor.ts';
import type { WorkerInit } from './protocol.ts';
import { Runner } from './runner.ts';

interface Job {
  readonly inputs: Tensor[];
  readonly outputNames: readonly string[];
  readonly resolve: (outputs: Record<string, Tensor>) => void;
  readonly reject: (err: unknown) => void;
}

const RESTART_BACKOFF_MS = { first: 100, max: 30_000 } as const;

export class OnnxModel implements LoadedModel {
  private readonly runners: (Runner | undefined)[];
  private readonly idle: Runner[] = [];
  private queue: Job[] = [];
  private queueHead = 0;
  private busy = 0;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private readonly idleListeners: (() => void)[] = [];
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private closing: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(
    readonly metadata: ModelMetadata,
    runners: Runner[],
    private readonly workerUrl: URL,
    private readonly init: WorkerInit,
  ) {
    this.runners = [...runners];
    for (const runner of runners) {
      runner.onCrash = (dead, reason) => this.crashed(dead, reason);
      // A thread could have died between its 'ready' and now.
      if (runner.alive) this.idle.push(runner);
      else this.crashed(runner, 'exited during load');
    }
  }

  get idleRunners(): number {
    return this.state === 'open' ? this.idle.length : 0;
  }

  onIdle(listener: () => void): void {
    this.idleListeners.push(listener);
  }

  run(
    inputs: Readonly<Record<string, Tensor>>,
    outputNames: readonly string[] = [],
  ): Promise<Record<string, Tensor>> {
    if (this.state !== 'open') return Promise.reject(this.closedError());
    // Shallow wire copies: transferList() may swap in a copy of a shared buffer, never in the caller's object.
    const wire: Tensor[] = [];
    for (const name of Object.keys(inputs)) {
      const { datatype, shape, data } = inputs[name]!;
      wire.push({ name, datatype, shape, data });
    }
    return new Promise((resolve, reject) => {
      const job: Job = { inputs: wire, outputNames, resolve, reject };
      const runner = this.idle.pop();
      if (runner !== undefined) this.dispatch(runner, job);
      else this.queue.push(job);
    });
  }

  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    if (this.state === 'closed') return Promise.resolve(); // destroy() came first
    this.state = 'closing';
    this.closing = new Promise<void>((resolve) => (this.drained = resolve)).then(() => this.stopAll());
    this.checkDrained();
    return this.closing;
  }

  async destroy(): Promise<void> {
    this.state = 'closed';
    const queued = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    for (const job of queued) job.reject(this.closedError());
    await this.stopAll();
    this.drained?.();
  }

  private async stopAll(): Promise<void> {
    this.state = 'closed';
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    this.idle.length = 0;
    const live = this.runners.filter((runner): runner is Runner => runner !== undefined);
    this.runners.fill(undefined);
    await Promise.all(live.map((runner) => runner.terminate(this.closedError())));
  }

  private dispatch(runner: Runner, job: Job): void {
    this.busy++;
    const startMs = performance.now();
    runner.run(job.inputs, job.outputNames).then(
      (outcome) => {
        const outputs = Object.create(null) as Record<string, Tensor>;
        for (const tensor of outcome.outputs) outputs[tensor.name] = tensor;
        this.publishRun(runner, startMs, outcome.computeUs, false);
        job.resolve(outputs);
        this.release(runner);
      },
      (err: unknown) => {
        this.publishRun(runner, startMs, 0, true);
        job.reject(err);
        this.release(runner);
      },
    );
  }

  /** A runner finished a run: give it the next queued job, or mark it idle and tell the listeners. */
  private release(runner: Runner): void {
    this.busy--;
    if (runner.alive && this.state !== 'closed') this.offer(runner);
    this.checkDrained();
  }

  private offer(runner: Runner): void {
    const job = this.dequeue();
    if (job !== undefined) {
      this.dispatch(runner, job);
      return;
    }
    this.idle.push(runner);
    if (this.state !== 'open') return;
    for (const listener of this.idleListeners) listener();
  }

  private dequeue(): Job | undefined {
    if (this.queueHead >= this.queue.length) return undefined;
    const job = this.queue[this.queueHead++];
    // Compact now and then rather than shift() on every dequeue.
    if (this.queueHead >= 1024 && this.queueHead * 2 >= this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
    return job;
  }

  private checkDrained(): void {
    if (this.state === 'closing' && this.busy === 0 && this.queueHead >= this.queue.length) this.drained?.();
  }

  private crashed(runner: Runner, reason: string): void {
    const idleAt = this.idle.indexOf(runner);
    if (idleAt >= 0) this.idle.splice(idleAt, 1);
    if (this.runners[runner.index] === runner) this.runners[runner.index] = undefined;
    this.publishRunner(runner.index, 'crashed', reason);
    this.restart(runner.index, RESTART_BACKOFF_MS.first);
  }

  private restart(index: number, delayMs: number): void {
    if (this.state === 'closed') return;
    Runner.start(index, this.metadata.name, this.workerUrl, this.init).then(
      ({ runner }) => {
        if (this.state === 'closed') {
          void runner.terminate(this.closedError());
          return;
        }
        runner.onCrash = (dead, why) => this.crashed(dead, why);
        this.runners[index] = runner;
        this.publishRunner(index, 'restarted');
        this.offer(runner);
        this.checkDrained();
      },
      (err: unknown) => {
        const reason = err instanceof Error ? err.message : String(err);
        this.publishRunner(index, 'restart_failed', reason);
        // With no runner left, queued jobs would wait for a replacement that may never load.
        if (this.runners.every((r) => r === undefined)) this.failQueued(reason);
        if (this.state === 'closed') return;
        const timer = setTimeout(() => {
          this.restartTimers.delete(timer);
          this.restart(index, Math.min(delayMs * 2, RESTART_BACKOFF_MS.max));
        }, delayMs);
        timer.unref();
        this.restartTimers.add(timer);
      },
    );
  }

  private failQueued(reason: string): void {
    const queued = this.queue.slice(this.queueHead);
    this.queue = [];
    this.queueHead = 0;
    const model = this.metadata.name;
    for (const job of queued) {
      job.reject(
        quiverError('QUIVER_ERR_INFERENCE_FAILED', { model, reason: `no runner available: ${reason}` }),
      );
    }
    this.checkDrained();
  }

  private closedError(): Error {
    return quiverError('QUIVER_ERR_CLOSED', { component: `Model "${this.metadata.name}"` });
  }

  private publishRun(runner: Runner, startMs: number, computeUs: number, failed: boolean): void {
    if (!modelChannels.run.hasSubscribers) return;
    const event: ModelRunEvent = {
      model: this.metadata.name,
      runner: runner.index,
      threadId: runner.threadId,
      computeUs,
      roundTripUs: (performance.now() - startMs) * 1000,
      failed,
    };
    modelChannels.run.publish(event);
  }

  private publishRunner(runner: number, event: ModelRunnerEvent['event'], reason?: string): void {
    if (!modelChannels.runner.hasSubscribers) return;
    const message: ModelRunnerEvent = {
      model: this.metadata.name,
      runner,
      event,
      ...(reason ? { reason } : {}),
    };
    modelChannels.runner.publish(message);
  }
}
