/**
 * Owns the configured models: loads them (ready only after warm-up), gives each its batcher, and
 * swaps or unloads a model without dropping requests in flight — new requests go to the new handle
 * at once, while the old batcher drains what it admitted before its model closes.
 */
import { Batcher } from '../batching/batcher.ts';
import type { Registry } from '../config/registry.ts';
import { suggestion } from '../config/did-you-mean.ts';
import type { ResolvedModelConfig } from '../config/resolved.ts';
import { quiverError } from '../errors.ts';
import type { OnlineFeatureService } from '../features/online-features.ts';
import type { Logger } from '../metrics/logger.ts';
import type { LoadedModel, ModelRuntime } from '../models/model-runtime.ts';
import { ModelExecutor, type ModelPayload, type ModelResult, type PredictBinding } from './model-executor.ts';

export type ModelState = 'loading' | 'ready' | 'unloaded' | 'failed';

export interface ModelHandle {
  readonly name: string;
  readonly version: string;
  readonly config: ResolvedModelConfig;
  readonly model: LoadedModel;
  readonly batcher: Batcher<ModelPayload, ModelResult>;
  /** Present when the model has a featureService (POST /v1/models/{m}/predict). */
  readonly predict: PredictBinding | undefined;
}

interface Entry {
  readonly config: ResolvedModelConfig;
  state: ModelState;
  handle: ModelHandle | undefined;
  error: string | undefined;
  /** Serialises load/unload of one model. */
  pending: Promise<void>;
}

export class ModelManager {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly deps: {
      readonly runtime: ModelRuntime;
      readonly registry: Registry;
      readonly features: OnlineFeatureService;
      readonly logger: Logger;
    },
  ) {
    for (const config of deps.registry.config.models) {
      this.entries.set(config.name, {
        config,
        state: 'unloaded',
        handle: undefined,
        error: undefined,
        pending: Promise.resolve(),
      });
    }
  }

  /** Loads every configured model; fails (naming the model) if one cannot load. */
  async start(): Promise<void> {
    for (const name of this.entries.keys()) await this.load(name);
  }

  /** The ready handle of a model: 404 for unknown names, 503 while not loaded. */
  get(name: string): ModelHandle {
    const entry = this.entries.get(name);
    if (entry === undefined) throw this.unknown(name);
    if (entry.handle === undefined) {
      throw quiverError(
        'QUIVER_ERR_MODEL_NOT_READY',
        { model: name, reason: entry.error ?? entry.state },
        { retryAfterS: 1 },
      );
    }
    return entry.handle;
  }

  /** The ready handle, or undefined: for checks that must not throw (fast-path admission). */
  peek(name: string): ModelHandle | undefined {
    return this.entries.get(name)?.handle;
  }

  names(): string[] {
    return [...this.entries.keys()];
  }

  state(name: string): ModelState {
    const entry = this.entries.get(name);
    if (entry === undefined) throw this.unknown(name);
    return entry.state;
  }

  list(): { name: string; version: string; state: ModelState; reason?: string }[] {
    return [...this.entries.values()].map((e) => ({
      name: e.config.name,
      version: e.config.version ?? '1',
      state: e.state,
      ...(e.error === undefined ? {} : { reason: e.error }),
    }));
  }

  /** Undefined when every model is ready, else a reason for /readyz. */
  notReady(): string | undefined {
    const waiting = [...this.entries.values()].filter((e) => e.state !== 'ready');
    return waiting.length === 0
      ? undefined
      : waiting.map((e) => `${e.config.name}: ${e.error ?? e.state}`).join('; ');
  }

  /** (Re)loads a model. A model already serving keeps serving until the new one is warm. */
  load(name: string): Promise<void> {
    const entry = this.entry(name);
    const run = entry.pending.then(() => this.doLoad(entry));
    entry.pending = run.catch(() => undefined);
    return run;
  }

  /** Stops routing to the model, drains what it admitted, then frees it. */
  unload(name: string): Promise<void> {
    const entry = this.entry(name);
    const run = entry.pending.then(async () => {
      const old = entry.handle;
      entry.handle = undefined;
      entry.state = 'unloaded';
      entry.error = undefined;
      if (old !== undefined) await retire(old);
      this.deps.logger.info({ model: name }, 'model unloaded');
    });
    entry.pending = run.catch(() => undefined);
    return run;
  }

  /** Drains every batcher, then closes every model. */
  async close(): Promise<void> {
    const handles = [...this.entries.values()].flatMap((e) => (e.handle === undefined ? [] : [e.handle]));
    for (const e of this.entries.values()) {
      e.handle = undefined;
      e.state = 'unloaded';
    }
    await Promise.all(handles.map(retire));
  }

  /** Stops at once (drain timed out): queued requests fail, workers are terminated. */
  async destroy(): Promise<void> {
    const handles = [...this.entries.values()].flatMap((e) => (e.handle === undefined ? [] : [e.handle]));
    for (const h of handles) h.batcher.destroy();
    await Promise.all(handles.map((h) => h.model.destroy()));
  }

  private unknown(name: string): Error {
    return quiverError(
      'QUIVER_ERR_UNKNOWN_MODEL',
      { model: name },
      { details: suggestion(name, this.names()) },
    );
  }

  private entry(name: string): Entry {
    const entry = this.entries.get(name);
    if (entry === undefined) throw this.unknown(name);
    return entry;
  }

  private async doLoad(entry: Entry): Promise<void> {
    const { config } = entry;
    const wasReady = entry.handle !== undefined;
    if (!wasReady) entry.state = 'loading';
    const started = performance.now();
    let model: LoadedModel | undefined;
    try {
      model = await this.deps.runtime.load({
        name: config.name,
        path: config.path,
        version: config.version,
        runners: config.runners,
        intraOpThreads: config.intraOpThreads,
      });
      const handle = this.buildHandle(config, model);
      const old = entry.handle;
      entry.handle = handle;
      entry.state = 'ready';
      entry.error = undefined;
      this.deps.logger.info(
        {
          model: config.name,
          runners: config.runners,
          loadMs: Math.round(performance.now() - started),
          swapped: old !== undefined,
        },
        'model ready',
      );
      if (old !== undefined) await retire(old);
    } catch (err) {
      await model?.destroy();
      const reason = err instanceof Error ? err.message : String(err);
      if (!wasReady) {
        entry.state = 'failed';
        entry.error = reason;
      }
      throw err;
    }
  }

  private buildHandle(config: ResolvedModelConfig, model: LoadedModel): ModelHandle {
    const predict = config.featureService === undefined ? undefined : this.bindPredict(config, model);
    const batchable = model.metadata.inputs.every((spec) => spec.shape[0] === -1);
    const batcher = new Batcher<ModelPayload, ModelResult>({
      name: config.name,
      // A model with a fixed first dimension cannot take concatenated requests: one request per batch.
      policy: batchable ? config.batching : { ...config.batching, maxBatchSize: 1, preferredBatchSizes: [] },
      queue: config.queue,
      concurrency: config.runners,
      executor: new ModelExecutor(model, this.deps.features, predict),
    });
    return { name: config.name, version: config.version ?? '1', config, model, batcher, predict };
  }

  /** Checks that the feature service can feed the model's single FP32 [N, F] input. */
  private bindPredict(config: ResolvedModelConfig, model: LoadedModel): PredictBinding {
    const fail = (reason: string): never => {
      throw quiverError('QUIVER_ERR_MODEL_LOAD_FAILED', { model: config.name, reason });
    };
    const plan = this.deps.features.plans.forService(config.featureService!);
    const inputs = model.metadata.inputs;
    if (inputs.length !== 1)
      fail(`predict by entity needs a model with one input, this one has ${inputs.length}`);
    const input = inputs[0]!;
    if (input.datatype !== 'FP32' || input.shape.length !== 2) {
      fail(
        `predict by entity needs an FP32 [N, F] input, "${input.name}" is ${input.datatype} [${input.shape.join(',')}]`,
      );
    }
    const width = input.shape[1]!;
    if (width !== -1 && width !== plan.columns.length) {
      fail(
        `feature service "${config.featureService}" gives ${plan.columns.length} features, input "${input.name}" takes ${width}`,
      );
    }
    const defaults = new Float64Array(plan.columns.length);
    plan.columns.forEach((c, i) => {
      defaults[i] = this.deps.registry.findFeatureView(c.view)?.config.defaults?.[c.feature] ?? 0;
    });
    return { plan, inputName: input.name, defaults };
  }
}

async function retire(handle: ModelHandle): Promise<void> {
  await handle.batcher.close();
  await handle.model.close();
}
