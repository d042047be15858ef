/**
 * Open Inference Protocol v2 (KServe v2 / Triton HTTP): health, server and model metadata, readiness,
 * infer, and the model repository load/unload extension. Errors keep OIP's `{"error": "..."}` shape,
 * with Quiver's `code` beside it.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Cancellation } from '../../batching/batcher.ts';
import { quiverError } from '../../errors.ts';
import type { ModelHandle, ModelManager } from '../../serving/model-manager.ts';
import { inferPayload, inferResponse } from '../../serving/request-payloads.ts';
import { documentResponse, type EncodedResponse, type FastRoute } from '../fast-path.ts';
import { cancelOnClose, refuseWhenFull, schedulingOptions } from '../request-options.ts';

export const SERVER_NAME = 'quiver';
export const SERVER_VERSION = '0.1.0';

interface ModelParams {
  model: string;
  version?: string;
}

/** The ready handle for a route's model (and version, when given). */
function handleFor(models: ModelManager, params: ModelParams): ModelHandle {
  const handle = models.get(params.model);
  if (params.version !== undefined && params.version !== handle.version) {
    throw quiverError(
      'QUIVER_ERR_UNKNOWN_MODEL_VERSION',
      { model: params.model, version: params.version },
      {
        details: { versions: [handle.version] },
      },
    );
  }
  return handle;
}

/** POST /v2/models/{m}[/versions/{v}]/infer, shared by both request paths. */
function infer(
  models: ModelManager,
  params: ModelParams,
  body: unknown,
  headers: IncomingHttpHeaders,
  cancellation: Cancellation,
): Promise<EncodedResponse> {
  const handle = handleFor(models, params);
  const payload = inferPayload(handle, body);
  return handle.batcher
    .submit(payload, payload.rows, schedulingOptions(headers, cancellation))
    .then((result) => documentResponse(inferResponse(handle, body, result), headers.accept));
}

/** POST /v2/models/{m}/infer on the raw fast path (fast-path.ts). */
export function inferFastRoute(models: ModelManager): FastRoute {
  return {
    label: '/v2/models/:model/infer',
    access: 'predict',
    refuseEarly: (req, model) => refuseWhenFull(models, req.headers, model),
    respond: (body, req, model, cancellation) => infer(models, { model }, body, req.headers, cancellation),
  };
}

export function registerOipRoutes(app: FastifyInstance, deps: { models: ModelManager }): void {
  const { models } = deps;

  app.get('/v2/health/live', (_req, reply) => reply.send({ live: true }));
  // OIP: a 200 status means true, a 4xx false.
  app.get('/v2/health/ready', (_req, reply) => {
    const ready = models.notReady() === undefined;
    return reply.code(ready ? 200 : 400).send({ ready });
  });
  app.get('/v2', (_req, reply) =>
    reply.send({ name: SERVER_NAME, version: SERVER_VERSION, extensions: ['model_repository'] }),
  );

  const metadata = (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const handle = handleFor(models, request.params);
    const m = handle.model.metadata;
    return reply.send({
      name: handle.name,
      versions: [handle.version],
      platform: m.platform,
      inputs: m.inputs.map((s) => ({ name: s.name, datatype: s.datatype, shape: [...s.shape] })),
      outputs: m.outputs.map((s) => ({ name: s.name, datatype: s.datatype, shape: [...s.shape] })),
    });
  };
  app.get('/v2/models/:model', metadata);
  app.get('/v2/models/:model/versions/:version', metadata);

  const ready = (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const state = models.state(request.params.model);
    const isReady = state === 'ready';
    if (isReady) handleFor(models, request.params);
    return reply.code(isReady ? 200 : 400).send({ name: request.params.model, ready: isReady });
  };
  app.get('/v2/models/:model/ready', ready);
  app.get('/v2/models/:model/versions/:version/ready', ready);

  const inferRoute = async (request: FastifyRequest<{ Params: ModelParams }>, reply: FastifyReply) => {
    const { params, body, headers } = request;
    const encoded = await infer(models, params, body, headers, cancelOnClose(reply));
    return reply.type(encoded.contentType).send(encoded.body);
  };
  app.post('/v2/models/:model/infer', inferRoute);
  app.post('/v2/models/:model/versions/:version/infer', inferRoute);

  // Model repository extension (Triton): load / unload / index.
  app.post<{ Params: ModelParams }>('/v2/repository/models/:model/load', async (request, reply) => {
    await models.load(request.params.model);
    return reply.send({});
  });
  app.post<{ Params: ModelParams }>('/v2/repository/models/:model/unload', async (request, reply) => {
    await models.unload(request.params.model);
    return reply.send({});
  });
  const index = (_req: FastifyRequest, reply: FastifyReply) =>
    reply.send(
      models.list().map((m) => ({
        name: m.name,
        version: m.version,
        state: m.state.toUpperCase(),
        ...(m.reason ? { reason: m.reason } : {}),
      })),
    );
  app.post('/v2/repository/index', index);
  app.get('/v2/repository/index', index);
}
