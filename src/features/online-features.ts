/**
 * The feature engine's read path: for a compiled plan and the request's entity columns, build the
 * entity keys, do ONE store read per view (a single synchronous call for LMDB and memory, one
 * MGET for Redis), then run on-demand transforms vectorised over all entities. Statuses and TTL are
 * derived by the serializers straight from the stored rows, so no per-feature arrays are built here.
 */
import type { Registry } from '../config/registry.ts';
import type { FeatureType } from '../config/types.ts';
import { quiverError } from '../errors.ts';
import type { OnlineStore, ReadResult } from '../stores/online-store.ts';
import { runTransform, type TransformOutput } from '../transforms/run-transform.ts';
import { describeKey, joinKeyParts, KEY_EXPECTED, keyBytes, keyPart, MAX_KEY_BYTES } from './entity-key.ts';
import { PlanCache, type OnDemandRead, type ServingPlan } from './plan.ts';
import { NOT_FOUND, NULL_VALUE, statusOf, worseStatus, type StatusCode } from './status.ts';
import { describe, finiteAs, finiteExpected } from './values.ts';

/** Request columns: join keys and request-data fields, each one value per entity. */
export type EntityColumns = Readonly<Record<string, readonly unknown[]>>;

export interface OnDemandValues {
  readonly columns: TransformOutput;
  /**
   * Per entity: the worst status of the stored inputs. Shared by the view's outputs, so it says
   * nothing of one output's value: writers show each output with onDemandStatus().
   */
  readonly statuses: Uint8Array;
}

/**
 * The status an on-demand output is served with: its entity's input status, except that a value
 * its type cannot hold (NaN, ±Infinity, beyond the float32 range) is NULL_VALUE, that output alone.
 */
export function onDemandStatus(inputs: StatusCode, type: FeatureType, value: number | undefined): StatusCode {
  return inputs === NOT_FOUND ? NOT_FOUND : finiteAs(type, value) ? inputs : NULL_VALUE;
}

export interface OnlineFeaturesResult {
  readonly plan: ServingPlan;
  readonly count: number;
  readonly entities: EntityColumns;
  /** Join keys echoed in the response, in the order the request listed them. */
  readonly outputKeys: readonly string[];
  /** Per plan.views slot: the stored rows, by entity. */
  readonly rows: readonly ReadResult[];
  /** Per plan.onDemand slot. */
  readonly onDemand: readonly OnDemandValues[];
  readonly nowMs: number;
}

export interface FeatureRequest {
  readonly features?: readonly string[];
  readonly featureService?: string;
}

export class OnlineFeatureService {
  readonly plans: PlanCache;

  constructor(
    readonly registry: Registry,
    private readonly store: OnlineStore,
    private readonly nowMs: () => number = Date.now,
  ) {
    this.plans = new PlanCache(registry);
  }

  planFor(request: FeatureRequest): ServingPlan {
    if (request.featureService !== undefined) return this.plans.forService(request.featureService);
    return this.plans.forRefs(request.features ?? []);
  }

  /**
   * Reads the plan's features for `count` entities. Returns synchronously when the store does (LMDB,
   * memory) and the plan has no promise-returning step; otherwise a promise.
   */
  fetch(
    plan: ServingPlan,
    entities: EntityColumns,
    count: number,
  ): OnlineFeaturesResult | Promise<OnlineFeaturesResult> {
    const views = plan.views;
    const rows: (ReadResult | Promise<ReadResult>)[] = new Array(views.length);
    let pending = false;
    for (let v = 0; v < views.length; v++) {
      const view = views[v]!.view;
      const read = this.store.read(view.name, entityKeys(view.joinKeys, entities, count));
      if (read instanceof Promise) pending = true;
      rows[v] = read;
    }
    if (pending) {
      // One view (the common case): no Promise.all around the one read (its array, element
      // closures and extra microtask cost ~130 ns per request, measured in a loop).
      if (views.length === 1) {
        return (rows[0] as Promise<ReadResult>).then((only) => this.finish(plan, entities, count, [only]));
      }
      return Promise.all(rows).then((resolved) => this.finish(plan, entities, count, resolved));
    }
    return this.finish(plan, entities, count, rows as ReadResult[]);
  }

  private finish(
    plan: ServingPlan,
    entities: EntityColumns,
    count: number,
    rows: ReadResult[],
  ): OnlineFeaturesResult {
    const nowMs = this.nowMs();
    const onDemand =
      plan.onDemand.length === 0
        ? []
        : plan.onDemand.map((o) => computeOnDemand(o, plan, rows, entities, count, nowMs));
    const outputKeys =
      plan.joinKeys.length === 1
        ? plan.joinKeys
        : Object.keys(entities).filter((k) => plan.joinKeys.includes(k));
    return { plan, count, entities, outputKeys, rows, onDemand, nowMs };
  }
}

/**
 * Validates the request's entity columns against a plan: every join key present, all columns the
 * same length, within the limit. Returns the entity count.
 */
export function checkEntities(plan: ServingPlan, entities: EntityColumns, maxEntities: number): number {
  let count = -1;
  let first = '';
  for (const name in entities) {
    const column = entities[name];
    if (!Array.isArray(column)) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: `entities.${name} must be an array of values`,
      });
    }
    if (count === -1) {
      count = column.length;
      first = name;
    } else if (column.length !== count) {
      throw quiverError(
        'QUIVER_ERR_ENTITY_LENGTH_MISMATCH',
        { column: name, actual: column.length, expected: count },
        {
          details: { column: name, reference: first },
        },
      );
    }
  }
  for (const key of plan.joinKeys) {
    if (entities[key] === undefined) {
      const view = plan.views.find((v) => v.view.joinKeys.includes(key))!.view.name;
      throw quiverError('QUIVER_ERR_MISSING_JOIN_KEY', { joinKey: key, view }, { details: { joinKey: key } });
    }
  }
  if (count <= 0)
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: 'entities must hold at least one entity' });
  if (count > maxEntities) throw quiverError('QUIVER_ERR_TOO_MANY_ENTITIES', { count, limit: maxEntities });
  return count;
}

function invalidKey(joinKey: string, index: number, value: unknown): never {
  throw quiverError('QUIVER_ERR_INVALID_VALUE', {
    field: `entities.${joinKey}[${index}]`,
    expected: KEY_EXPECTED,
    actual: describeKey(value),
  });
}

/** Encoded store keys for one view, one per entity. */
export function entityKeys(joinKeys: readonly string[], entities: EntityColumns, count: number): string[] {
  const keys = new Array<string>(count);
  if (joinKeys.length === 1) {
    const joinKey = joinKeys[0]!;
    const column = entities[joinKey]!;
    for (let i = 0; i < count; i++) keys[i] = keyPart(column[i]) ?? invalidKey(joinKey, i, column[i]);
    return keys;
  }
  const parts = new Array<string>(joinKeys.length);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < joinKeys.length; k++) {
      const value = entities[joinKeys[k]!]![i];
      parts[k] = keyPart(value) ?? invalidKey(joinKeys[k]!, i, value);
    }
    const key = joinKeyParts(parts);
    if (key === undefined) {
      throw quiverError('QUIVER_ERR_INVALID_VALUE', {
        field: `entities.${joinKeys.join('+')}[${i}]`,
        expected: `a composite key of at most ${MAX_KEY_BYTES} UTF-8 bytes`,
        actual: `a key of ${keyBytes(parts)} bytes`,
      });
    }
    keys[i] = key;
  }
  return keys;
}

function computeOnDemand(
  read: OnDemandRead,
  plan: ServingPlan,
  rows: ReadResult[],
  entities: EntityColumns,
  count: number,
  nowMs: number,
): OnDemandValues {
  const statuses = new Uint8Array(count);
  const inputs: Record<string, Float64Array> = {};
  for (const input of read.inputs) {
    const view = plan.views[input.viewSlot]!.view;
    const viewRows = rows[input.viewSlot]!;
    const fallback = view.config.defaults?.[input.name] ?? 0;
    const column = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const row = viewRows[i];
      const status = statusOf(row, input.valueIndex, view.ttlMs, nowMs);
      statuses[i] = worseStatus(statuses[i] as StatusCode, status);
      const value = row?.[input.valueIndex + 1];
      column[i] = typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : fallback;
    }
    inputs[input.name] = column;
  }
  for (const field of read.requestFields) {
    const source = entities[field.name];
    if (source === undefined) {
      throw quiverError('QUIVER_ERR_MISSING_REQUEST_DATA', { field: field.name, view: read.odfv.name });
    }
    const column = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      const value = source[i];
      if (!finiteAs(field.type, value)) {
        throw quiverError('QUIVER_ERR_INVALID_VALUE', {
          field: `${field.name}[${i}]`,
          expected: finiteExpected(field.type),
          actual: describe(value),
        });
      }
      column[i] = value;
    }
    inputs[field.name] = column;
  }
  return { columns: runTransform(read.odfv, inputs, count), statuses };
}
