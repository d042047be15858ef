/**
 * Turns a request body into a model payload, checking everything that can be checked before the
 * request is queued, so a bad request fails alone and early — and answers the response body. Shared
 * by the sync routes (POST /v1/models/{m}/predict, POST /v2/models/{m}/infer) and async jobs (at
 * enqueue, and again in the consumer), so a job is accepted exactly when the sync call would be.
 *
 * @example
 *   const payload = predictPayload(handle, body, 10_000); // throws QUIVER_ERR_* for a bad body
 *   const result = await handle.batcher.submit(payload, payload.rows, options);
 *   reply.send(predictResponse(handle, result));
 */
import { quiverError } from '../errors.ts';
import { describeKey, KEY_EXPECTED, keyPart } from '../features/entity-key.ts';
import { describe, finiteAs, finiteExpected } from '../features/values.ts';
import { checkEntities, type EntityColumns } from '../features/online-features.ts';
import { validateInputs, validateOutputNames } from '../models/model-runtime.ts';
import { tensorToJson, tensorsFromJson, type Tensor } from '../models/tensor.ts';
import type { InferPayload, ModelResult, PredictPayload } from './model-executor.ts';
import type { ModelHandle } from './model-manager.ts';

type Body = Readonly<Record<string, unknown>>;

function requireObject(value: unknown, what: string): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: `${what} must be a JSON object` });
  }
  return value as Body;
}

/** Output values per entity: a flat list for [N] and [N, 1] outputs, one list per entity otherwise. */
export function outputValues(tensor: Tensor): unknown[] {
  const rows = tensor.shape[0] ?? 0;
  const width = rows === 0 ? 0 : tensor.data.length / rows;
  const values = Array.from(tensor.data as ArrayLike<unknown>, (v) =>
    typeof v === 'bigint' ? Number(v) : v,
  );
  if (width === 1) return values;
  const nested: unknown[][] = [];
  for (let i = 0; i < rows; i++) nested.push(values.slice(i * width, (i + 1) * width));
  return nested;
}

/** `{entities: {join_key: [...]}, request?: {field: [...]}}` → a predict payload. */
export function predictPayload(
  handle: ModelHandle,
  body: unknown,
  maxEntitiesPerRequest: number,
): PredictPayload {
  if (handle.predict === undefined) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: `model "${handle.name}" has no featureService, so it cannot predict by entity; send tensors to POST /v2/models/${handle.name}/infer`,
    });
  }
  const plan = handle.predict.plan;
  const object = requireObject(body, 'the request body');
  for (const field in object) {
    if (field !== 'entities' && field !== 'request') {
      // Quiver's own API, unlike Feast's: a field it would ignore is more likely a mistake.
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: `unknown field "${field}": predict takes "entities" and "request"; the features are the model's feature service "${handle.config.featureService}"`,
      });
    }
  }
  const entities = requireObject(object.entities, '"entities"') as EntityColumns;
  const requestData =
    object.request === undefined || object.request === null
      ? {}
      : (requireObject(object.request, '"request"') as EntityColumns);
  const columns: Record<string, readonly unknown[]> = { ...entities };
  for (const field in requestData) {
    if (Object.hasOwn(columns, field)) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: `"${field}" is in both "entities" and "request": send each column once`,
      });
    }
    columns[field] = requestData[field]!;
  }
  const count = checkEntities(plan, columns, maxEntitiesPerRequest);
  for (const key of plan.joinKeys) {
    const column = columns[key]!;
    for (let i = 0; i < count; i++) {
      if (keyPart(column[i]) === undefined) {
        throw quiverError('QUIVER_ERR_INVALID_VALUE', {
          field: `entities.${key}[${i}]`,
          expected: KEY_EXPECTED,
          actual: describeKey(column[i]),
        });
      }
    }
  }
  for (const odfv of plan.onDemand) {
    for (const field of odfv.requestFields) {
      const column = columns[field.name];
      if (column === undefined)
        throw quiverError('QUIVER_ERR_MISSING_REQUEST_DATA', { field: field.name, view: odfv.odfv.name });
      for (let i = 0; i < count; i++) {
        const v = column[i];
        if (!finiteAs(field.type, v)) {
          throw quiverError('QUIVER_ERR_INVALID_VALUE', {
            field: `request.${field.name}[${i}]`,
            expected: finiteExpected(field.type),
            actual: describe(v),
          });
        }
      }
    }
  }
  return { kind: 'predict', entities: columns, rows: count };
}

/** POST /v1/models/{m}/predict's response body. */
export function predictResponse(handle: ModelHandle, result: ModelResult): Record<string, unknown> {
  const outputs: Record<string, unknown[]> = {};
  for (const [name, tensor] of Object.entries(result.outputs)) outputs[name] = outputValues(tensor);
  return {
    model: handle.name,
    model_version: handle.version,
    outputs,
    ...(result.featureStatuses === undefined ? {} : { feature_statuses: result.featureStatuses }),
  };
}

function outputSelection(body: Body): string[] | undefined {
  const outputs = body.outputs;
  if (outputs === undefined || outputs === null) return undefined;
  if (
    !Array.isArray(outputs) ||
    !outputs.every(
      (o) => typeof o === 'object' && o !== null && typeof (o as { name?: unknown }).name === 'string',
    )
  ) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: '"outputs" must be an array of {name}' });
  }
  return outputs.map((o: { name: string }) => o.name);
}

/** OIP `{inputs: [{name, shape, datatype, data}], outputs?}` → an infer payload. */
export function inferPayload(handle: ModelHandle, body: unknown): InferPayload {
  const object = requireObject(body, 'the request body');
  if (object.id !== undefined && typeof object.id !== 'string') {
    // OIP's id is a string, echoed in the answer; any other type would silently not come back.
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: `"id" must be a string (Open Inference Protocol), got ${describe(object.id)}`,
    });
  }
  const inputs = tensorsFromJson(object.inputs);
  const meta = handle.model.metadata;
  validateInputs(meta, inputs);
  const outputNames = outputSelection(object);
  if (outputNames !== undefined) validateOutputNames(meta, outputNames);
  let rows = -1;
  for (const tensor of Object.values(inputs)) {
    const dim0 = tensor.shape[0] ?? 1;
    if (rows !== -1 && dim0 !== rows) {
      throw quiverError('QUIVER_ERR_INVALID_TENSOR', {
        name: tensor.name,
        reason: `dim 0 is ${dim0}, other inputs have ${rows}`,
      });
    }
    rows = dim0;
  }
  return { kind: 'infer', inputs, rows, outputNames };
}

/** POST /v2/models/{m}/infer's response body (OIP). */
export function inferResponse(
  handle: ModelHandle,
  body: unknown,
  result: ModelResult,
): Record<string, unknown> {
  const id = (body as { id?: unknown } | null)?.id;
  return {
    model_name: handle.name,
    model_version: handle.version,
    ...(typeof id === 'string' ? { id } : {}),
    outputs: Object.values(result.outputs).map(tensorToJson),
  };
}
