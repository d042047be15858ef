/**
 * Async jobs (docs/jobs.md):
 * - POST /v1/models/{m}/jobs `{kind?: 'predict' | 'infer', ...the sync endpoint's body, callback_url?}`
 *   → 202 `{id, status: 'queued', status_url}` once the broker confirmed the job (503 + Retry-After
 *   when it could not, and then the job does not exist);
 * - GET /v1/jobs/{id} → `{id, status, model, kind, attempts, created_at, result?, error?, finished_at?}`.
 */
import type { FastifyInstance } from 'fastify';
import { quiverError } from '../../errors.ts';
import type { JobService } from '../../jobs/job-service.ts';
import { schedulingOptions } from '../request-options.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function registerJobRoutes(app: FastifyInstance, deps: { jobs: JobService }): void {
  app.post<{ Params: { model: string } }>('/v1/models/:model/jobs', async (request, reply) => {
    // The same x-priority parsing as the sync endpoints (no cancellation: a job outlives its request).
    const { priority } = schedulingOptions(request.headers);
    const { id } = await deps.jobs.enqueue(request.params.model, request.body, { priority });
    const statusUrl = `/v1/jobs/${id}`;
    return reply
      .code(202)
      .header('location', statusUrl)
      .send({ id, status: 'queued', status_url: statusUrl });
  });

  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (request, reply) => {
    const { id } = request.params;
    if (!UUID.test(id)) throw quiverError('QUIVER_ERR_UNKNOWN_JOB', { id: id.slice(0, 64) });
    return reply.send(await deps.jobs.get(id));
  });
}
