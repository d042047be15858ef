/**
 * Runs one batch on a model. A batch may mix raw tensor requests (OIP /infer) and predict-by-entity
 * requests; both become rows of the same input tensors, so the model runs ONCE per batch:
 * - predict requests: ONE feature read for all their entities (one store call per view), on-demand
 *   transforms vectorised over the batch, then one Float32Array [N, F];
 * - tensor requests: concatenated along dim 0.
 * Outputs are split back by row ranges. A transform or feature failure throws for the batch; the
 * batcher then re-runs each request alone, so only the culprit fails.
 */
import type { BatchExecutor } from '../batching/batcher.ts';
import type {
  EntityColumns,
  OnlineFeatureService,
  OnlineFeaturesResult,
} from '../features/online-features.ts';
import type { ServingPlan } from '../features/plan.ts';
import {
  NOT_FOUND,
  NULL_VALUE,
  PRESENT,
  STATUS_NAMES,
  statusOf,
  type StatusCode,
} from '../features/status.ts';
import { finiteAs } from '../features/values.ts';
import type { LoadedModel } from '../models/model-runtime.ts';
import { concatRows, splitRows } from '../models/batch-rows.ts';
import type { Tensor } from '../models/tensor.ts';

export interface InferPayload {
  readonly kind: 'infer';
  readonly inputs: Readonly<Record<string, Tensor>>;
  /** Dim 0 of the inputs. */
  readonly rows: number;
  /** OIP `outputs` selection; all outputs when undefined. */
  readonly outputNames?: readonly string[];
}

export interface PredictPayload {
  readonly kind: 'predict';
  readonly entities: EntityColumns;
  readonly rows: number;
}

export type ModelPayload = InferPayload | PredictPayload;

/** Per entity with a feature that was not PRESENT: which features, and their statuses. */
export interface EntityFeatureStatus {
  readonly index: number;
  readonly statuses: Record<string, string>;
}

export interface ModelResult {
  readonly outputs: Record<string, Tensor>;
  /** Predict only: entities whose features were missing, null or stale (defaults were used). */
  readonly featureStatuses?: EntityFeatureStatus[];
}

/** How predict requests become the model's input: a compiled plan feeding one FP32 [N, F] input. */
export interface PredictBinding {
  readonly plan: ServingPlan;
  readonly inputName: string;
  /** Per plan column: the value used when the feature is missing or null. */
  readonly defaults: Float64Array;
}

export class ModelExecutor implements BatchExecutor<ModelPayload, ModelResult> {
  constructor(
    private readonly model: LoadedModel,
    private readonly features: OnlineFeatureService,
    private readonly predict: PredictBinding | undefined,
  ) {}

  async execute(payloads: readonly ModelPayload[]): Promise<ModelResult[]> {
    const predicted = payloads.some((p) => p.kind === 'predict')
      ? await this.predictInputs(payloads)
      : undefined;
    const inputs: Record<string, Tensor> = {};
    for (const spec of this.model.metadata.inputs) {
      inputs[spec.name] = concatRows(
        spec.name,
        payloads.map((p, i) => (p.kind === 'infer' ? p.inputs[spec.name]! : predicted!.tensors[i]!)),
      );
    }
    const outputs = await this.model.run(inputs, unionOutputs(payloads));

    const rowCounts = payloads.map((p) => p.rows);
    const split: Record<string, Tensor[]> = {};
    for (const name of Object.keys(outputs)) split[name] = splitRows(outputs[name]!, rowCounts);
    return payloads.map((payload, i) => {
      const own: Record<string, Tensor> = {};
      const wanted = payload.kind === 'infer' ? payload.outputNames : undefined;
      for (const name of wanted ?? Object.keys(split)) own[name] = split[name]![i]!;
      return payload.kind === 'predict'
        ? { outputs: own, featureStatuses: predicted!.statuses[i] }
        : { outputs: own };
    });
  }

  /**
   * ONE feature read for every predict request of the batch, one [N, F] float32 matrix in plan
   * order, then per-request views of it (aligned with `payloads`; undefined for infer requests).
   */
  private async predictInputs(
    payloads: readonly ModelPayload[],
  ): Promise<{ tensors: (Tensor | undefined)[]; statuses: (EntityFeatureStatus[] | undefined)[] }> {
    const binding = this.predict!;
    const plan = binding.plan;
    const requests = payloads.filter((p): p is PredictPayload => p.kind === 'predict');
    let count = 0;
    for (const p of requests) count += p.rows;
    const merged = requests.length === 1 ? requests[0]!.entities : mergeColumns(requests, count);
    const result = await this.features.fetch(plan, merged, count);
    const width = plan.columns.length;
    const data = new Float32Array(count * width);
    const statusCodes = new Uint8Array(count * width);
    fillFeatureMatrix(result, binding.defaults, data, statusCodes);

    const tensors: (Tensor | undefined)[] = [];
    const statuses: (EntityFeatureStatus[] | undefined)[] = [];
    let row = 0;
    for (const p of payloads) {
      if (p.kind === 'predict') {
        const view = data.subarray(row * width, (row + p.rows) * width);
        tensors.push({ name: binding.inputName, datatype: 'FP32', shape: [p.rows, width], data: view });
        statuses.push(reportStatuses(plan, statusCodes, row, p.rows));
        row += p.rows;
      } else {
        tensors.push(undefined);
        statuses.push(undefined);
      }
    }
    return { tensors, statuses };
  }
}

function unionOutputs(payloads: readonly ModelPayload[]): string[] | undefined {
  const names = new Set<string>();
  for (const p of payloads) {
    if (p.kind === 'predict' || p.outputNames === undefined) return undefined;
    for (const n of p.outputNames) names.add(n);
  }
  return [...names];
}

function mergeColumns(payloads: readonly PredictPayload[], count: number): EntityColumns {
  const merged: Record<string, unknown[]> = {};
  for (const name of Object.keys(payloads[0]!.entities)) {
    const column = new Array<unknown>(count);
    let offset = 0;
    for (const p of payloads) {
      const source = p.entities[name];
      for (let i = 0; i < p.rows; i++) column[offset + i] = source === undefined ? undefined : source[i];
      offset += p.rows;
    }
    merged[name] = column;
  }
  return merged;
}

/** Fills the row-major [N, F] matrix and per-cell statuses; missing and null values take defaults. */
export function fillFeatureMatrix(
  result: OnlineFeaturesResult,
  defaults: Float64Array,
  data: Float32Array,
  statusCodes: Uint8Array,
): void {
  const { plan, count, rows, nowMs } = result;
  const width = plan.columns.length;
  for (let c = 0; c < width; c++) {
    const source = plan.columns[c]!.source;
    const fallback = defaults[c]!;
    if (source.kind === 'stored') {
      const view = plan.views[source.viewSlot]!.view;
      const viewRows = rows[source.viewSlot]!;
      const valueIndex = source.valueIndex;
      for (let i = 0; i < count; i++) {
        const row = viewRows[i];
        const status = statusOf(row, valueIndex, view.ttlMs, nowMs);
        statusCodes[i * width + c] = status;
        const value = status === NOT_FOUND || status === NULL_VALUE ? fallback : row![valueIndex + 1];
        data[i * width + c] = typeof value === 'boolean' ? Number(value) : (value as number);
      }
    } else {
      const computed = result.onDemand[source.odfvSlot]!;
      const output = computed.columns[source.outputIndex]!;
      for (let i = 0; i < count; i++) {
        const status = computed.statuses[i] as StatusCode;
        const value = output[i]!;
        // The matrix is float32: a value beyond its range would reach the model as Infinity.
        const usable = status !== NOT_FOUND && finiteAs('float32', value);
        statusCodes[i * width + c] = usable ? status : status === NOT_FOUND ? NOT_FOUND : NULL_VALUE;
        data[i * width + c] = usable ? value : fallback;
      }
    }
  }
}

function reportStatuses(
  plan: ServingPlan,
  codes: Uint8Array,
  offset: number,
  rows: number,
): EntityFeatureStatus[] | undefined {
  const width = plan.columns.length;
  let report: EntityFeatureStatus[] | undefined;
  for (let i = 0; i < rows; i++) {
    let statuses: Record<string, string> | undefined;
    for (let c = 0; c < width; c++) {
      const code = codes[(offset + i) * width + c]!;
      if (code === PRESENT) continue;
      statuses ??= {};
      statuses[plan.names[c]!] = STATUS_NAMES[code as StatusCode];
    }
    if (statuses !== undefined) (report ??= []).push({ index: i, statuses });
  }
  return report;
}
