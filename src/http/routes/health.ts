/** Liveness, readiness, Prometheus metrics, and an index of endpoints for people. */
import type { FastifyInstance } from 'fastify';
import type { Metrics } from '../../metrics/metrics.ts';
import { TimeoutError, withTimeout } from '../../timeout.ts';

export interface ReadinessCheck {
  readonly name: string;
  /** Resolves to undefined when ready, or a reason when not. */
  check(): Promise<string | undefined> | string | undefined;
}

/** How long a /metrics scrape waits for the readiness checks. */
const SCRAPE_READINESS_WAIT_MS = 250;

export function registerHealthRoutes(
  app: FastifyInstance,
  deps: {
    metrics: Metrics;
    checks: readonly ReadinessCheck[];
    project: string;
    featureServices: readonly string[];
    models: readonly string[];
  },
): void {
  app.get('/healthz', (_req, reply) => reply.type('application/json').send('{"status":"ok"}'));
  app.get('/health', (_req, reply) => reply.type('application/json').send('{"status":"ok"}')); // Feast's path

  /** Runs every check; the failing ones by name. Also sets `quiver_ready`. */
  const readiness = async (): Promise<Record<string, string>> => {
    const failing: Record<string, string> = {};
    for (const c of deps.checks) {
      const reason = await c.check();
      if (reason !== undefined) failing[c.name] = reason;
    }
    deps.metrics.ready.set(Object.keys(failing).length === 0 ? 1 : 0);
    return failing;
  };

  app.get('/readyz', async (_req, reply) => {
    const failing = await readiness();
    const ready = Object.keys(failing).length === 0;
    return reply.code(ready ? 200 : 503).send(ready ? { status: 'ready' } : { status: 'not_ready', failing });
  });

  app.get('/metrics', async (_req, reply) => {
    // Readiness as of this scrape, not as of the last /readyz probe (there may be none). A check
    // still pending after SCRAPE_READINESS_WAIT_MS (a store that does not answer) counts as not
    // ready: metrics must stay fast during the outage they are there to show.
    await withTimeout(readiness(), SCRAPE_READINESS_WAIT_MS, 'readiness checks').catch((err: unknown) => {
      if (!(err instanceof TimeoutError)) throw err;
      deps.metrics.ready.set(0);
    });
    return reply.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });

  app.get('/', (_req, reply) =>
    reply.send({
      service: 'quiver',
      project: deps.project,
      featureServices: deps.featureServices,
      models: deps.models,
      endpoints: {
        'POST /get-online-features': 'Feast-compatible feature lookup',
        'POST /push': 'write feature rows (Feast push)',
        'POST /v1/models/{model}/predict': 'predict by entity: features read and batched inside Quiver',
        'POST /v1/models/{model}/jobs': 'the same as an async job (202, then GET its status_url)',
        'GET /v1/jobs/{id}': 'an async job: queued | running | done | failed, and its result',
        'POST /v2/models/{model}/infer': 'Open Inference Protocol (KServe v2 / Triton) inference',
        'GET /v2/models/{model}': 'model metadata: inputs and outputs',
        'GET /v2/health/ready': 'OIP readiness (all models loaded)',
        'POST /v2/repository/models/{model}/load': 'load or reload a model (also /unload)',
        'GET /healthz': 'liveness',
        'GET /readyz': 'readiness',
        'GET /metrics': 'Prometheus metrics',
      },
    }),
  );
}
