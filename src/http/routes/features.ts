/**
 * POST /get-online-features — Feast-compatible. The hot path: a parsed body, a cached plan lookup,
 * one store read per view, one serialization straight from the stored rows. The same logic serves
 * the raw node:http fast path (http/fast-path.ts) and the Fastify route (used by inject and as the
 * fallback), so both answer identically.
 */
import type { FastifyInstance } from 'fastify';
import { quiverError } from '../../errors.ts';
import { feastJson } from '../../features/feast-json.ts';
import { buildFeastResponse } from '../../features/feast-response.ts';
import {
  checkEntities,
  type EntityColumns,
  type OnlineFeatureService,
  type OnlineFeaturesResult,
} from '../../features/online-features.ts';
import type { ServingPlan } from '../../features/plan.ts';
import { isStaleCache } from '../../stores/online-store.ts';
import { acceptsMsgpack, packMsgpack } from '../codec.ts';
import { DEGRADED_HEADER, type EncodedResponse, type FastRoute } from '../fast-path.ts';
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

function encode(result: OnlineFeaturesResult, full: boolean, msgpack: boolean): EncodedResponse {
  const encoded: EncodedResponse = msgpack
    ? { contentType: 'application/msgpack', body: packMsgpack(buildFeastResponse(result, full)) }
    : { contentType: 'application/json', body: feastJson(result, full) };
  return result.rows.some(isStaleCache) ? { ...encoded, degraded: 'stale-cache' } : encoded;
}

/** Validates a parsed request body, reads the features and encodes the response. */
export function getOnlineFeatures(
  deps: FeatureRouteDeps,
  rawBody: unknown,
  msgpack: boolean,
): EncodedResponse | Promise<EncodedResponse> {
  const body = requireObject(rawBody);
  const plan = planOf(deps.features, body);
  const entities = requireObject(body.entities, '"entities"') as EntityColumns;
  const count = checkEntities(plan, entities, deps.maxEntitiesPerRequest);
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
  const result = deps.features.fetch(plan, entities, count);
  if (result instanceof Promise) return result.then((r) => encode(r, full, msgpack));
  return encode(result, full, msgpack);
}

/** The same route on the raw fast path (fast-path.ts). */
export function featuresFastRoute(deps: FeatureRouteDeps): FastRoute {
  return {
    label: '/get-online-features',
    access: 'features:read',
    respond: (body, req) => {
      return getOnlineFeatures(deps, body, acceptsMsgpack(req.headers.accept));
    },
  };
}

export function registerFeatureRoutes(app: FastifyInstance, deps: FeatureRouteDeps): void {
  app.post('/get-online-features', async (request, reply) => {
    const encoded = await getOnlineFeatures(deps, request.body, acceptsMsgpack(request.headers.accept));
    if (encoded.degraded !== undefined) reply.header(DEGRADED_HEADER, encoded.degraded);
    return reply.type(encoded.contentType).send(encoded.body);
  });
}
