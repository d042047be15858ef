/**
 * The one place where error kinds become HTTP statuses, and where every error — Quiver's own,
 * Fastify's (body too large, bad media type) and unexpected ones — becomes the documented body
 * `{error, code, details?}`. A client's mistake never becomes a 500.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isQuiverError, quiverError, type ErrorKind, type QuiverError } from '../errors.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { AllowedMethods } from './allowed-methods.ts';

export const STATUS_BY_KIND: Readonly<Record<ErrorKind, number>> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  headers_too_large: 431,
  unavailable: 503,
  deadline_exceeded: 504,
  config: 500,
  closed: 503,
  internal: 500,
};

export interface ErrorBody {
  error: string;
  code: string;
  details?: Readonly<Record<string, unknown>>;
}

export function errorBody(err: QuiverError): ErrorBody {
  return err.details === undefined
    ? { error: err.message, code: err.code }
    : { error: err.message, code: err.code, details: err.details };
}

/** Longest path parameter the router accepts (model names, versions, job ids); Fastify's default is 100. */
export const MAX_PATH_SEGMENT = 256;

/** Turns anything thrown into a QuiverError, recognising Fastify's own client errors. */
export function toQuiverError(err: unknown, bodyLimitBytes: number): QuiverError {
  if (isQuiverError(err)) return err;
  const fastifyError = err as Partial<FastifyError>;
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return quiverError('QUIVER_ERR_BODY_TOO_LARGE', { limitBytes: bodyLimitBytes });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return quiverError('QUIVER_ERR_UNSUPPORTED_MEDIA_TYPE', { contentType: 'given' });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return quiverError('QUIVER_ERR_MALFORMED_BODY', { reason: fastifyError.message ?? 'invalid body' });
    // The router's own refusals, which reach us through Fastify's `frameworkErrors` option.
    case 'FST_ERR_BAD_URL':
      return quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: 'the URL path is not valid: check its percent-encoding',
      });
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: `a path segment is longer than ${MAX_PATH_SEGMENT} characters`,
      });
  }
  if (fastifyError.validation)
    return quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: fastifyError.message ?? 'invalid request' });
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: fastifyError.message ?? 'invalid request' });
  }
  const reason = err instanceof Error ? err.message : String(err);
  return quiverError('QUIVER_ERR_INTERNAL', { reason }, { cause: err });
}

export function sendError(reply: FastifyReply, err: QuiverError): FastifyReply {
  const status = STATUS_BY_KIND[err.kind];
  if (err.retryAfterS !== undefined)
    reply.header('retry-after', String(Math.max(1, Math.ceil(err.retryAfterS))));
  return reply
    .code(status)
    .type('application/json')
    .send(JSON.stringify(errorBody(err)));
}

export function installErrorHandlers(app: FastifyInstance, bodyLimitBytes: number, metrics: Metrics): void {
  app.setErrorHandler((err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const quiver = toQuiverError(err, bodyLimitBytes);
    metrics.httpErrorDuration.observe(
      { route: request.routeOptions.url ?? 'unmatched', code: quiver.code },
      reply.elapsedTime / 1000,
    );
    if (STATUS_BY_KIND[quiver.kind] >= 500 && quiver.kind !== 'unavailable' && quiver.kind !== 'closed') {
      request.log.error({ err, code: quiver.code, url: request.url }, 'request failed');
    }
    return sendError(reply, quiver);
  });
  // Recorded before the routes are registered (buildServer installs this first).
  const methods = new AllowedMethods();
  app.addHook('onRoute', (route) => methods.register(route.method, route.url));
  app.setNotFoundHandler((request, reply) => {
    const url = request.url.split('?')[0]!;
    const allowed = methods.of(url);
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '));
      const list = allowed.join(' or ');
      return sendError(
        reply,
        quiverError('QUIVER_ERR_METHOD_NOT_ALLOWED', { method: request.method, url, allowed: list }),
      );
    }
    return sendError(
      reply,
      quiverError(
        'QUIVER_ERR_ROUTE_NOT_FOUND',
        { method: request.method, url },
        { details: { hint: 'GET / lists the endpoints' } },
      ),
    );
  });
}
