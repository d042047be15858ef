/**
 * POST /get-online-features — Feast-compatible. The hot path: parse (done by the body parser),
 * a cached plan lookup, one store read per view, one serialization.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { quiverError } from '../../errors.ts';
import { buildFeastResponse, feastResponseJson } from '../../features/feast-response.ts';
import {
  checkEntities,
  type EntityColumns,
  type OnlineFeatureService,
  type OnlineFeaturesResult,
} from '../../features/online-features.ts';
import type { ServingPlan } from '../../features/plan.ts';
import { sendDocument } from '../codec.ts';
import { optionalBoolean, requireObject, stringArray } from '../validate-body.ts';

export interface FeatureRouteDeps {
  readonly features: OnlineFeatureService;
  readonly maxEntitiesPerRequest: number;
}

function planOf(features: OnlineFeatureService, body: Record<string, unknown>): ServingPlan {
  const service = body.feature_service;
  if (service !== undefined && service !== null) {
    if (typeof service !== 'string' || service.length === 0) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: '"feature_service" must be a feature service name',
      });
    }
    if (body.features !== undefined) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: 'send either "features" or "feature_service", not both',
      });
    }
    return features.planFor({ featureService: service });
  }
  if (body.features === undefined) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: 'missing "features" (["view:feature", ...]) or "feature_service"',
    });
  }
  return features.planFor({ features: stringArray(body, 'features') });
}

export function registerFeatureRoutes(app: FastifyInstance, deps: FeatureRouteDeps): void {
  const { features, maxEntitiesPerRequest } = deps;

  const respond = (
    request: FastifyRequest,
    reply: FastifyReply,
    result: OnlineFeaturesResult,
    full: boolean,
  ) => {
    const document = buildFeastResponse(result, full);
    return request.headers.accept?.includes('msgpack')
      ? sendDocument(request, reply, document)
      : reply.type('application/json').send(feastResponseJson(document));
  };

  app.post('/get-online-features', (request, reply) => {
    const body = requireObject(request.body);
    const plan = planOf(features, body);
    const entities = requireObject(body.entities, '"entities"') as EntityColumns;
    const count = checkEntities(plan, entities, maxEntitiesPerRequest);
    const full = optionalBoolean(body, 'full_feature_names');
    if (!full && plan.collidingNames.length > 0) {
      throw quiverError(
        'QUIVER_ERR_FEATURE_NAME_COLLISION',
        { names: plan.collidingNames.join(', ') },
        {
          details: { names: plan.collidingNames },
        },
      );
    }
    const result = features.fetch(plan, entities, count);
    if (result instanceof Promise) return result.then((r) => respond(request, reply, r, full));
    return respond(request, reply, result, full);
  });
}
