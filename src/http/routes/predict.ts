/**
 * POST /v1/models/{m}/predict — predict by entity: `{entities: {join_key: [...]}, request?: {field: [...]}}`.
 * Inputs are checked here, per request, before batching, so a bad request fails alone and early;
 * features are then read, transformed and batched inside Quiver (serving/model-executor.ts).
 */
import type { FastifyInstance } from 'fastify';
import { quiverError } from '../../errors.ts';
import { keyPart } from '../../features/entity-key.ts';
import { checkEntities, type EntityColumns } from '../../features/online-features.ts';
import type { Tensor } from '../../models/tensor.ts';
import type { ModelManager } from '../../serving/model-manager.ts';
import { submitOptions } from '../request-options.ts';
import { requireObject } from '../validate-body.ts';

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

export function registerPredictRoutes(
  app: FastifyInstance,
  deps: { models: ModelManager; maxEntitiesPerRequest: number },
): void {
  app.post<{ Params: { model: string } }>('/v1/models/:model/predict', async (request, reply) => {
    const handle = deps.models.get(request.params.model);
    if (handle.predict === undefined) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: `model "${handle.name}" has no featureService, so it cannot predict by entity; send tensors to POST /v2/models/${handle.name}/infer`,
      });
    }
    const plan = handle.predict.plan;
    const body = requireObject(request.body);
    const entities = requireObject(body.entities, '"entities"') as EntityColumns;
    const requestData =
      body.request === undefined || body.request === null
        ? {}
        : (requireObject(body.request, '"request"') as EntityColumns);
    const columns: Record<string, readonly unknown[]> = { ...entities, ...requestData };
    const count = checkEntities(plan, columns, deps.maxEntitiesPerRequest);
    for (const key of plan.joinKeys) {
      const column = columns[key]!;
      for (let i = 0; i < count; i++) {
        if (keyPart(column[i]) === undefined) {
          throw quiverError('QUIVER_ERR_INVALID_VALUE', {
            field: `entities.${key}[${i}]`,
            expected: 'a non-empty string or an integer',
            actual: JSON.stringify(column[i]) ?? 'nothing',
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
          if (typeof v !== 'number' || !Number.isFinite(v)) {
            throw quiverError('QUIVER_ERR_INVALID_VALUE', {
              field: `request.${field.name}[${i}]`,
              expected: `${field.type} (finite number)`,
              actual: JSON.stringify(v) ?? 'nothing',
            });
          }
        }
      }
    }
    const result = await handle.batcher.submit(
      { kind: 'predict', entities: columns, rows: count },
      count,
      submitOptions(request, reply),
    );
    const outputs: Record<string, unknown[]> = {};
    for (const [name, tensor] of Object.entries(result.outputs)) outputs[name] = outputValues(tensor);
    return reply.send({
      model: handle.name,
      model_version: handle.version,
      outputs,
      ...(result.featureStatuses === undefined ? {} : { feature_statuses: result.featureStatuses }),
    });
  });
}
