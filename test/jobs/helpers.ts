/** Shared helpers for the jobs tests: configs with a jobs section, polling a job, recording settlements. */
import diagnostics from 'node:diagnostics_channel';
import type { ResolvedConfig } from '../../src/config/resolved.ts';
import type { JobsConfig, ModelConfig } from '../../src/config/types.ts';
import { validateConfig } from '../../src/config/validate.ts';
import type { JobSettledEvent } from '../../src/jobs/events.ts';
import type { JobView } from '../../src/jobs/job.ts';
import { GBDT_PATH, inferenceConfigObject, type InferenceServer } from '../fixtures/inference.ts';

/** `gbdt_checked`: gbdt fed by feature service gbdt_checked, whose transform throws for amount < 0. */
export const CHECKED_MODEL: ModelConfig = {
  name: 'gbdt_checked',
  path: GBDT_PATH,
  featureService: 'gbdt_checked',
};

/** The inference fixture's config with a jobs section (and the checked model for poison jobs). */
export function jobsConfig(
  jobs: JobsConfig,
  extraModels: readonly ModelConfig[] = [CHECKED_MODEL],
): ResolvedConfig {
  const object = inferenceConfigObject({ extraModels });
  object.jobs = jobs;
  return validateConfig(object, '');
}

/** Polls GET /v1/jobs/{id} until `done(view)` holds (bounded). */
export async function pollJob(
  server: Pick<InferenceServer, 'get'>,
  id: string,
  done: (view: JobView) => boolean = (v) => v.status === 'done' || v.status === 'failed',
  timeoutMs = 15_000,
): Promise<JobView> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const res = await server.get(`/v1/jobs/${id}`);
    if (res.status === 200 && done(res.body as JobView)) return res.body as JobView;
    if (performance.now() > deadline)
      throw new Error(
        `job ${id} did not reach the expected state: ${res.status} ${JSON.stringify(res.body)}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Records quiver:job:settled events while subscribed. */
export function recordSettlements(onEvent?: (event: JobSettledEvent) => void): {
  events: JobSettledEvent[];
  stop: () => void;
} {
  const events: JobSettledEvent[] = [];
  // Called synchronously where the job settles, so `onEvent` sees it in order with everything else.
  const listener = (message: unknown): void => {
    events.push(message as JobSettledEvent);
    onEvent?.(message as JobSettledEvent);
  };
  diagnostics.subscribe('quiver:job:settled', listener);
  return { events, stop: () => diagnostics.unsubscribe('quiver:job:settled', listener) };
}
