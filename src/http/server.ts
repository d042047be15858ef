/**
 * Builds the Fastify app from its dependencies (composed in main.ts). Nothing here opens stores or
 * models; buildServer only wires routes, parsers, error handling and observation hooks.
 */
import { createServer } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from '../config/registry.ts';
import type { ResolvedConfig } from '../config/resolved.ts';
import type { OnlineFeatureService } from '../features/online-features.ts';
import type { Logger } from '../metrics/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { JobService } from '../jobs/job-service.ts';
import type { ModelManager } from '../serving/model-manager.ts';
import type { OnlineStore } from '../stores/online-store.ts';
import { installBodyParsers, installMsgpackReplies } from './codec.ts';
import { installErrorHandlers, MAX_PATH_SEGMENT, sendError, toQuiverError } from './error-handler.ts';
import { answerClientError } from './client-error.ts';
import { FastPath } from './fast-path.ts';
import type { Guard } from './guard.ts';
import { installGuard } from './guard-hook.ts';
import { BodyReceivingMessage } from './request-body.ts';
import { featuresFastRoute, registerFeatureRoutes } from './routes/features.ts';
import { registerHealthRoutes, type ReadinessCheck } from './routes/health.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { inferFastRoute, registerOipRoutes } from './routes/oip-v2.ts';
import { predictFastRoute, registerPredictRoutes } from './routes/predict.ts';
import { registerPushRoutes } from './routes/push.ts';

export interface ServerDeps {
  readonly config: ResolvedConfig;
  readonly registry: Registry;
  readonly store: OnlineStore;
  readonly features: OnlineFeatureService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly models: ModelManager;
  /** Auth, scopes and rate limits for both request paths (inactive when all are off). */
  readonly guard: Guard;
  /** Async jobs (POST /v1/models/{m}/jobs, GET /v1/jobs/{id}); the routes exist only when given. */
  readonly jobs?: JobService;
  readonly readinessChecks?: readonly ReadinessCheck[];
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const { config } = deps;
  let closing = false;
  const app: FastifyInstance = Fastify({
    // The hot routes bypass Fastify (see fast-path.ts); everything else goes through it.
    serverFactory: (handler) => {
      // Requests as BodyReceivingMessage: the fast path takes bodies straight from the parser.
      const server = createServer({ IncomingMessage: BodyReceivingMessage }, (req, res) => {
        // Requests arrive only after listen(), by which time fastPath is initialised below.
        if (!fastPath.handle(req, res)) handler(req, res);
      });
      server.keepAliveTimeout = 72_000; // Fastify's default, above common load-balancer idle timeouts
      return server;
    },
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Per-request logs cost more than the feature lookup itself; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.server.maxBodyBytes,
    routerOptions: { maxParamLength: MAX_PATH_SEGMENT },
    // The router's refusals (bad percent-encoding, an over-long segment) in Quiver's error shape.
    frameworkErrors: (err, _request, reply) => {
      sendError(reply, toQuiverError(err, config.server.maxBodyBytes));
    },
    // What node:http's parser refuses (bad framing, huge headers), in Quiver's error shape too.
    clientErrorHandler: answerClientError,
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  installBodyParsers(app);
  installMsgpackReplies(app);
  installErrorHandlers(app, config.server.maxBodyBytes, deps.metrics);

  app.addHook('onRequest', (request, reply, done) => {
    const id = request.headers['x-request-id'];
    if (id !== undefined) reply.header('x-request-id', id);
    done();
  });
  installGuard(app, deps.guard, deps.logger); // before the routes: it classifies each one
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route, status: reply.statusCode });
    deps.metrics.httpDuration.observe({ route, status: reply.statusCode }, reply.elapsedTime / 1000);
    done();
  });

  registerHealthRoutes(app, {
    metrics: deps.metrics,
    project: config.project,
    featureServices: config.featureServices.map((s) => s.name),
    models: config.models.map((m) => m.name),
    checks: [
      {
        name: 'store',
        check: () =>
          deps.store.ready().then(
            () => undefined,
            (e: Error) => e.message,
          ),
      },
      ...(deps.readinessChecks ?? []),
    ],
  });
  const featureDeps = { features: deps.features, maxEntitiesPerRequest: config.server.maxEntitiesPerRequest };
  const predictDeps = { models: deps.models, maxEntitiesPerRequest: config.server.maxEntitiesPerRequest };
  registerFeatureRoutes(app, featureDeps);
  registerPushRoutes(app, { registry: deps.registry, store: deps.store, metrics: deps.metrics });
  registerOipRoutes(app, { models: deps.models });
  registerPredictRoutes(app, predictDeps);
  const fastPath = new FastPath({
    routes: {
      features: featuresFastRoute(featureDeps),
      predict: predictFastRoute(predictDeps),
      infer: inferFastRoute(deps.models),
    },
    maxBodyBytes: config.server.maxBodyBytes,
    metrics: deps.metrics,
    logger: deps.logger,
    guard: deps.guard,
    isClosing: () => closing,
    writeHoldMs: config.server.writeHoldMicros / 1000,
  });
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  if (deps.jobs !== undefined) registerJobRoutes(app, { jobs: deps.jobs });
  return app;
}
