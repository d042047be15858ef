/** POST /push — Feast-compatible `{push_source_name | feature_view, df: {column: [values]}, to}`. */
import type { FastifyInstance } from 'fastify';
import type { Registry } from '../../config/registry.ts';
import { quiverError } from '../../errors.ts';
import { pushColumns } from '../../features/push.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { OnlineStore } from '../../stores/online-store.ts';
import { requireObject } from '../validate-body.ts';

export function registerPushRoutes(
  app: FastifyInstance,
  deps: { registry: Registry; store: OnlineStore; metrics: Metrics },
): void {
  app.post('/push', async (request) => {
    const body = requireObject(request.body);
    const target = body.push_source_name ?? body.feature_view;
    if (typeof target !== 'string' || target.length === 0) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: 'missing "push_source_name" (or "feature_view")',
      });
    }
    const to = body.to ?? 'online';
    if (to !== 'online' && to !== 'online_and_offline') {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: `"to" must be "online" (or Feast's "online_and_offline", which writes online only: Quiver has no offline store), got ${JSON.stringify(to)}`,
      });
    }
    const df = requireObject(body.df, '"df"') as Record<string, unknown[]>;
    const result = await pushColumns(deps.registry, deps.store, target, df);
    deps.metrics.storeRows.inc(
      { view: deps.registry.viewForPush(target).name, origin: 'push' },
      result.written,
    );
    return result;
  });
}
