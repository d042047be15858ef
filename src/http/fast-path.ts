/**
 * The raw node:http fast path for POST /get-online-features, in front of Fastify. Fastify's
 * per-request machinery (request/reply objects, hooks, content-type parsing) measured at ~40 µs of
 * CPU, as much as the whole HTTP ceiling, for a lookup whose own work is a few µs; this path does
 * only what the route needs and shares its logic (routes/features.ts) and error mapping
 * (error-handler.ts) with the Fastify route, so both answer byte for byte the same.
 *
 * Body listeners are shared functions that find their request's state through `this`, so a request
 * allocates its state object and chunks, and no closures.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isQuiverError, quiverError, type QuiverError } from '../errors.ts';
import type { Logger } from '../metrics/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { unpackMsgpack } from './codec.ts';
import { errorBody, STATUS_BY_KIND, toQuiverError } from './error-handler.ts';
import type { Guard } from './guard.ts';
import {
  DEGRADED_HEADER,
  getOnlineFeatures,
  type EncodedResponse,
  type FeatureRouteDeps,
} from './routes/features.ts';

export const FAST_ROUTE = '/get-online-features';

export interface FastPathDeps {
  readonly route: FeatureRouteDeps;
  readonly maxBodyBytes: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Auth, scope features:read and rate limits; skipped entirely when inactive. */
  readonly guard?: Guard;
  /** True once the server is draining: new requests get 503. */
  readonly isClosing: () => boolean;
}

interface BodyState {
  readonly res: ServerResponse;
  readonly path: FastPath;
  readonly startedMs: number;
  chunks: Buffer[];
  size: number;
  tooLarge: boolean;
}

const STATE = Symbol('quiver.body');
type FastRequest = IncomingMessage & { [STATE]?: BodyState };

function onData(this: FastRequest, chunk: Buffer): void {
  const state = this[STATE]!;
  state.size += chunk.length;
  if (state.size > state.path.maxBodyBytes) state.tooLarge = true;
  else state.chunks.push(chunk);
}

function onEnd(this: FastRequest): void {
  const state = this[STATE]!;
  this[STATE] = undefined;
  state.path.finish(this, state);
}

function onError(this: FastRequest): void {
  this[STATE] = undefined;
}

export class FastPath {
  readonly maxBodyBytes: number;
  private readonly ok: { inc(): void };
  private readonly duration: { observe(v: number): void };
  private readonly guard: Guard | undefined;

  constructor(private readonly deps: FastPathDeps) {
    this.maxBodyBytes = deps.maxBodyBytes;
    this.guard = deps.guard?.active ? deps.guard : undefined;
    this.ok = deps.metrics.httpRequests.labels(FAST_ROUTE, '200');
    this.duration = deps.metrics.httpDuration.labels(FAST_ROUTE);
  }

  /** Handles the request if it is the fast route; false hands it on to Fastify. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST' || req.url !== FAST_ROUTE) return false;
    const requestId = req.headers['x-request-id'];
    if (requestId !== undefined) res.setHeader('x-request-id', requestId);
    if (this.deps.isClosing()) {
      res.setHeader('connection', 'close');
      this.fail(res, quiverError('QUIVER_ERR_SHUTTING_DOWN', {}, { retryAfterS: 1 }), performance.now());
      return true;
    }
    if (this.guard !== undefined) {
      // Before the body is read, as Fastify's onRequest hook does; node:http discards an unread body.
      let pending: void | Promise<void>;
      try {
        pending = this.guard.check('features:read', req.headers, req.socket.remoteAddress, res);
      } catch (err) {
        this.fail(res, err, performance.now());
        return true;
      }
      if (pending !== undefined) {
        const startedMs = performance.now();
        pending.then(
          () => this.receive(req, res),
          (err: unknown) => this.fail(res, err, startedMs),
        );
        return true;
      }
    }
    this.receive(req, res);
    return true;
  }

  /** Checks the declared size and starts reading the body. */
  private receive(req: IncomingMessage, res: ServerResponse): void {
    const declared = Number(req.headers['content-length']);
    if (declared > this.maxBodyBytes) {
      // Refuse before reading: the connection closes after the answer, dropping the unread body.
      res.setHeader('connection', 'close');
      this.fail(
        res,
        quiverError('QUIVER_ERR_BODY_TOO_LARGE', { limitBytes: this.maxBodyBytes }),
        performance.now(),
      );
      return;
    }
    const request = req as FastRequest;
    request[STATE] = { res, path: this, startedMs: performance.now(), chunks: [], size: 0, tooLarge: false };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
  }

  /** Called when the body has arrived. */
  finish(req: IncomingMessage, state: BodyState): void {
    const { res, startedMs } = state;
    if (state.tooLarge) {
      this.fail(res, quiverError('QUIVER_ERR_BODY_TOO_LARGE', { limitBytes: this.maxBodyBytes }), startedMs);
      return;
    }
    let encoded: EncodedResponse | Promise<EncodedResponse>;
    try {
      const body = state.chunks.length === 1 ? state.chunks[0]! : Buffer.concat(state.chunks, state.size);
      const accept = req.headers.accept;
      encoded = getOnlineFeatures(
        this.deps.route,
        this.parse(req, body),
        accept !== undefined && accept.includes('msgpack'),
      );
    } catch (err) {
      this.fail(res, err, startedMs);
      return;
    }
    if (encoded instanceof Promise) {
      encoded.then(
        (e) => this.send(res, e, startedMs),
        (err: unknown) => this.fail(res, err, startedMs),
      );
    } else this.send(res, encoded, startedMs);
  }

  private parse(req: IncomingMessage, body: Buffer): unknown {
    const type = req.headers['content-type'];
    if (type !== undefined && type.includes('msgpack')) {
      try {
        return unpackMsgpack(body);
      } catch (err) {
        throw quiverError('QUIVER_ERR_MALFORMED_BODY', {
          reason: `invalid msgpack: ${(err as Error).message}`,
        });
      }
    }
    if (body.length === 0)
      throw quiverError('QUIVER_ERR_MALFORMED_BODY', { reason: 'the body is empty; send a JSON object' });
    try {
      return JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw quiverError('QUIVER_ERR_MALFORMED_BODY', { reason: `invalid JSON: ${(err as Error).message}` });
    }
  }

  private send(res: ServerResponse, encoded: EncodedResponse, startedMs: number): void {
    res.statusCode = 200;
    res.setHeader('content-type', encoded.contentType);
    if (encoded.degraded !== undefined) res.setHeader(DEGRADED_HEADER, encoded.degraded);
    res.end(encoded.body);
    this.ok.inc();
    this.duration.observe((performance.now() - startedMs) / 1000);
  }

  private fail(res: ServerResponse, err: unknown, startedMs: number): void {
    const error: QuiverError = isQuiverError(err) ? err : toQuiverError(err, this.maxBodyBytes);
    const status = STATUS_BY_KIND[error.kind];
    if (status >= 500 && error.kind !== 'unavailable' && error.kind !== 'closed') {
      this.deps.logger.error({ err, code: error.code, url: FAST_ROUTE }, 'request failed');
    }
    if (error.retryAfterS !== undefined)
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(error.retryAfterS))));
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(errorBody(error)));
    this.deps.metrics.httpRequests.inc({ route: FAST_ROUTE, status });
    this.duration.observe((performance.now() - startedMs) / 1000);
  }
}
