/**
 * POST /v1/models/{m}/predict — predict by entity: `{entities: {join_key: [...]}, request?: {field: [...]}}`.
 * Inputs are checked per request, before batching (serving/request-payloads.ts), so a bad request fails alone and early;
 * features are then read, transformed and batched inside Quiver (serving/model-executor.ts).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Cancellation } from '../../batching/batcher.ts';
import type { ModelManager } from '../../serving/model-manager.ts';
import { predictPayload, predictResponse } from '../../serving/request-payloads.ts';
import { documentResponse, type EncodedResponse, type FastRoute } from '../fast-path.ts';
import { cancelOnClose, refuseWhenFull, schedulingOptions } from '../request-options.ts';

export { outputValues } from '../../serving/request-payloads.ts';

export interface PredictRouteDeps {
  readonly models: ModelManager;
  readonly maxEntitiesPerRequest: number;
}

/** The route's logic, shared by both request paths. */
function predict(
  deps: PredictRouteDeps,
  model: string,
  body: unknown,
  headers: IncomingHttpHeaders,
  cancellation: Cancellation,
): Promise<EncodedResponse> {
  const handle = deps.models.get(model);
  const payload = predictPayload(handle, body, deps.maxEntitiesPerRequest);
  return handle.batcher
    .submit(payload, payload.rows, schedulingOptions(headers, cancellation))
    .then((result) => documentResponse(predictResponse(handle, result), headers.accept));
}

/** The same route on the raw fast path (fast-path.ts). */
export function predictFastRoute(deps: PredictRouteDeps): FastRoute {
  return {
    label: '/v1/models/:model/predict',
    access: 'predict',
    refuseEarly: (req, model) => refuseWhenFull(deps.models, req.headers, model),
    respond: (body, req, model, cancellation) => predict(deps, model, body, req.headers, cancellation),
  };
}

export function registerPredictRoutes(app: FastifyInstance, deps: PredictRouteDeps): void {
  app.post<{ Params: { model: string } }>('/v1/models/:model/predict', async (request, reply) => {
    const { params, body, headers } = request;
    const encoded = await predict(deps, params.model, body, headers, cancelOnClose(reply));
    return reply.type(encoded.contentType).send(encoded.body);
  });
}
