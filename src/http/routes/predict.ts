/**
 * POST /v1/models/{m}/predict — predict by entity: `{entities: {join_key: [...]}, request?: {field: [...]}}`.
 * Inputs are checked per request, before batching (serving/request-payloads.ts), so a bad request fails alone and early;
 * features are then read, transformed and batched inside Quiver (serving/model-executor.ts).
 */
import type { FastifyInstance } from 'fastify';
import type { ModelManager } from '../../serving/model-manager.ts';
import { predictPayload, predictResponse } from '../../serving/request-payloads.ts';
import { jsonResponse, type FastRoute } from '../fast-path.ts';
import { refuseWhenFull, schedulingOptions, submitOptions } from '../request-options.ts';

export { outputValues } from '../../serving/request-payloads.ts';

export interface PredictRouteDeps {
  readonly models: ModelManager;
  readonly maxEntitiesPerRequest: number;
}

/** The same route on the raw fast path (fast-path.ts). */
export function predictFastRoute(deps: PredictRouteDeps): FastRoute {
  return {
    label: '/v1/models/:model/predict',
    access: 'predict',
    refuseEarly: (req, model) => refuseWhenFull(deps.models, req.headers, model),
    respond: (body, req, model, cancellation) => {
      const handle = deps.models.get(model);
      const payload = predictPayload(handle, body, deps.maxEntitiesPerRequest);
      return handle.batcher
        .submit(payload, payload.rows, schedulingOptions(req.headers, cancellation))
        .then((result) => jsonResponse(predictResponse(handle, result)));
    },
  };
}

export function registerPredictRoutes(app: FastifyInstance, deps: PredictRouteDeps): void {
  app.post<{ Params: { model: string } }>('/v1/models/:model/predict', async (request, reply) => {
    const handle = deps.models.get(request.params.model);
    const payload = predictPayload(handle, request.body, deps.maxEntitiesPerRequest);
    const result = await handle.batcher.submit(payload, payload.rows, submitOptions(request, reply));
    return reply.send(predictResponse(handle, result));
  });
}
