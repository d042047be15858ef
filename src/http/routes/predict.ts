/**
 * POST /v1/models/{m}/predict — predict by entity: `{entities: {join_key: [...]}, request?: {field: [...]}}`.
 * Inputs are checked per request, before batching (serving/request-payloads.ts), so a bad request fails alone and early;
 * features are then read, transformed and batched inside Quiver (serving/model-executor.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ModelManager } from '../../serving/model-manager.ts';
import { predictPayload, predictResponse } from '../../serving/request-payloads.ts';
import { submitOptions } from '../request-options.ts';

export { outputValues } from '../../serving/request-payloads.ts';

export function registerPredictRoutes(
  app: FastifyInstance,
  deps: { models: ModelManager; maxEntitiesPerRequest: number },
): void {
  app.post<{ Params: { model: string } }>('/v1/models/:model/predict', async (request, reply) => {
    const handle = deps.models.get(request.params.model);
    const payload = predictPayload(handle, request.body, deps.maxEntitiesPerRequest);
    const result = await handle.batcher.submit(payload, payload.rows, submitOptions(request, reply));
    return reply.send(predictResponse(handle, result));
  });
}
