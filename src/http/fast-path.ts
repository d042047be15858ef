/**
 * The raw node:http fast path, in front of Fastify, for the three hot routes: POST
 * /get-online-features, POST /v1/models/{m}/predict and POST /v2/models/{m}/infer. Fastify's
 * per-request machinery (request/reply objects, hooks, content-type parsing, reply serialization)
 * measured at ~40 µs of CPU per request, as much as the whole HTTP ceiling, and ~30% of the main
 * thread under inference load. This path does only what the routes need: it shares their logic
 * (routes/*.ts export a FastRoute beside their Fastify registration), the guard, and the error
 * mapping (error-handler.ts), so both paths answer byte for byte the same. Anything else — other
 * methods, query strings, versioned or percent-encoded model paths — goes on to Fastify.
 *
 * The body comes to the request's state object straight from the parser (request-body.ts), and the
 * close listener is a shared function that finds the state through `this`, so a request allocates
 * its state object and chunks, and no closures until it must wait.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { cancelSubmitted, type Cancellation } from '../batching/batcher.ts';
import { isQuiverError, quiverError, type QuiverError } from '../errors.ts';
import type { Logger } from '../metrics/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { acceptsMsgpack, encodingRefusal, packMsgpack, parseJsonBody, parseMsgpackBody } from './codec.ts';
import { errorBody, STATUS_BY_KIND, toQuiverError } from './error-handler.ts';
import type { Guard, RequiredAccess } from './guard.ts';
import { scanJson } from './json-scan.ts';
import { receiveBody, type BodySink } from './request-body.ts';
import { WriteCoalescer } from './write-coalescer.ts';
// The module's binding, not the global: globalThis.performance is an accessor, a call per read.
import { performance } from 'node:perf_hooks';

/** A response ready to write. */
export interface EncodedResponse {
  readonly contentType: string;
  readonly body: string | Buffer;
  /** Set when some rows came from a hot cache while the store was down: the header's value. */
  readonly degraded?: 'stale-cache';
}

/** A JSON document as Fastify would send it (same content type, same bytes). */
export function jsonResponse(document: unknown): EncodedResponse {
  return { contentType: 'application/json; charset=utf-8', body: JSON.stringify(document) };
}

/** A document in the encoding the client accepts: MessagePack when it asks for it, JSON otherwise. */
export function documentResponse(document: unknown, accept: string | undefined): EncodedResponse {
  return acceptsMsgpack(accept)
    ? { contentType: 'application/msgpack', body: packMsgpack(document) }
    : jsonResponse(document);
}

/** Response header saying the answer is degraded (stores/breaker-store.ts), e.g. `stale-cache`. */
export const DEGRADED_HEADER = 'x-quiver-degraded';

/** One route served on the raw path. */
export interface FastRoute {
  /** The route as Fastify names it, for metrics (e.g. '/v1/models/:model/predict'). */
  readonly label: string;
  readonly access: RequiredAccess;
  /** An error to answer from the headers alone, before the body is read (overload), if any. */
  refuseEarly?(req: IncomingMessage, param: string): QuiverError | undefined;
  /** Answers a parsed body; `param` is the model name of /models/{m}/ routes, '' otherwise. */
  respond(
    body: unknown,
    req: IncomingMessage,
    param: string,
    /** The request's cancellation handle: pass it to Batcher#submit. */
    cancellation: Cancellation,
  ): EncodedResponse | Promise<EncodedResponse>;
}

export interface FastRoutes {
  readonly features: FastRoute;
  readonly predict: FastRoute;
  readonly infer: FastRoute;
}

export interface FastPathDeps {
  readonly routes: FastRoutes;
  readonly maxBodyBytes: number;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Auth, scopes and rate limits; skipped entirely when inactive. */
  readonly guard?: Guard;
  /** True once the server is draining: new requests get 503. */
  readonly isClosing: () => boolean;
  /** How long a finished answer may wait for the others of its turn (write-coalescer.ts); 0: none. */
  readonly writeHoldMs: number;
}

const FEATURES_PATH = '/get-online-features';
const V1_MODELS = '/v1/models/';
const PREDICT = '/predict';
const V2_MODELS = '/v2/models/';
const INFER = '/infer';

/** A route with its metric children resolved once. */
interface BoundRoute {
  readonly route: FastRoute;
  readonly ok: { inc(): void };
  readonly duration: { observe(v: number): void };
}

class RequestState implements Cancellation, BodySink {
  cancelled?: boolean;
  queued?: object;
  owner?: { cancel(cancellation: Cancellation): void };
  chunks: Buffer[] = [];
  size = 0;
  tooLarge = false;
  constructor(
    readonly res: ServerResponse,
    readonly path: FastPath,
    readonly bound: BoundRoute,
    readonly param: string,
    readonly startedMs: number,
  ) {}

  bodyChunk(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.size > this.path.maxBodyBytes) this.tooLarge = true;
    else this.chunks.push(chunk);
  }

  bodyEnd(req: IncomingMessage): void {
    this.path.finish(req, this);
  }
}

const STATE = Symbol('quiver.fast');
/**
 * A finished body's chunks: no chunk comes after the end, so nothing is ever pushed to it.
 * (Not `chunks.length = 0`: setting an array's length is a call into the V8 runtime.)
 */
const NO_CHUNKS: Buffer[] = [];
type FastResponse = ServerResponse & { [STATE]?: RequestState };

/** Counts an answer once it is handed to the socket; its duration runs to that moment. */
function countWritten(bound: BoundRoute, startedMs: number, nowMs: number): void {
  bound.ok.inc();
  bound.duration.observe((nowMs - startedMs) / 1000);
}

/** The connection closed: if no answer was written, the client left, so its queued work goes. */
function onResponseClose(this: FastResponse): void {
  const state = this[STATE];
  this[STATE] = undefined;
  if (state !== undefined && !this.writableFinished) cancelSubmitted(state);
}

/** A model name taken from the path as is: anything needing decoding is left to Fastify. */
function plainSegment(url: string, start: number, end: number): string | undefined {
  if (end <= start) return undefined;
  for (let i = start; i < end; i++) {
    const c = url.charCodeAt(i);
    if (c === 0x2f || c === 0x25 || c === 0x3f) return undefined; // '/', '%', '?'
  }
  return url.slice(start, end);
}

export class FastPath {
  readonly maxBodyBytes: number;
  private readonly maxBodyDigits: number;
  private readonly guard: Guard | undefined;
  private readonly features: BoundRoute;
  private readonly predict: BoundRoute;
  private readonly infer: BoundRoute;
  private readonly writes: WriteCoalescer<BoundRoute>;

  constructor(private readonly deps: FastPathDeps) {
    this.maxBodyBytes = deps.maxBodyBytes;
    this.maxBodyDigits = String(deps.maxBodyBytes).length;
    this.writes = new WriteCoalescer(deps.writeHoldMs, countWritten);
    this.guard = deps.guard?.active ? deps.guard : undefined;
    const bind = (route: FastRoute): BoundRoute => ({
      route,
      ok: deps.metrics.httpRequests.labels(route.label, '200'),
      duration: deps.metrics.httpDuration.labels(route.label, '200'),
    });
    this.features = bind(deps.routes.features);
    this.predict = bind(deps.routes.predict);
    this.infer = bind(deps.routes.infer);
  }

  /** Handles the request if it is one of the fast routes; false hands it on to Fastify. */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.method !== 'POST') return false;
    const url = req.url!;
    let bound: BoundRoute;
    let param = '';
    if (url === FEATURES_PATH) bound = this.features;
    else if (url.startsWith(V1_MODELS) && url.endsWith(PREDICT)) {
      const model = plainSegment(url, V1_MODELS.length, url.length - PREDICT.length);
      if (model === undefined) return false;
      bound = this.predict;
      param = model;
    } else if (url.startsWith(V2_MODELS) && url.endsWith(INFER)) {
      const model = plainSegment(url, V2_MODELS.length, url.length - INFER.length);
      if (model === undefined) return false;
      bound = this.infer;
      param = model;
    } else return false;

    const startedMs = performance.now();
    const requestId = req.headers['x-request-id'];
    if (requestId !== undefined) res.setHeader('x-request-id', requestId);
    if (this.deps.isClosing()) {
      res.setHeader('connection', 'close');
      this.fail(res, bound, quiverError('QUIVER_ERR_SHUTTING_DOWN', {}, { retryAfterS: 1 }), startedMs);
      return true;
    }
    const state = new RequestState(res, this, bound, param, startedMs);
    if (this.guard !== undefined) {
      // Before the body is read, as Fastify's onRequest hook does; node:http discards an unread body.
      let pending: void | Promise<void>;
      try {
        pending = this.guard.check(bound.route.access, req.headers, req.socket.remoteAddress, res);
      } catch (err) {
        this.fail(res, bound, err, startedMs);
        return true;
      }
      if (pending !== undefined) {
        pending.then(
          () => this.receive(req, state),
          (err: unknown) => this.fail(res, bound, err, startedMs),
        );
        return true;
      }
    }
    this.receive(req, state);
    return true;
  }

  /** Checks the declared size and starts reading the body. */
  private receive(req: IncomingMessage, state: RequestState): void {
    const refusal =
      state.bound.route.refuseEarly?.(req, state.param) ?? encodingRefusal(req.headers['content-encoding']);
    if (refusal !== undefined) {
      // node:http discards the unread body once the answer is written; the connection stays open.
      this.fail(state.res, state.bound, refusal, state.startedMs);
      return;
    }
    // Only a length with as many digits as the limit can exceed it: the common short one skips
    // Number(), which hashes the string first (~0.05 µs in the running server, perf).
    const declared = req.headers['content-length'];
    if (
      declared !== undefined &&
      declared.length >= this.maxBodyDigits &&
      Number(declared) > this.maxBodyBytes
    ) {
      // Refuse before reading: the connection closes after the answer, dropping the unread body.
      state.res.setHeader('connection', 'close');
      this.fail(
        state.res,
        state.bound,
        quiverError('QUIVER_ERR_BODY_TOO_LARGE', { limitBytes: this.maxBodyBytes }),
        state.startedMs,
      );
      return;
    }
    // No 'error' listener: a request whose client leaves mid-body never ends, and its state goes
    // with it; IncomingMessage emits 'error' only to listeners, so none is needed to stay up.
    receiveBody(req, state);
  }

  /** Called when the body has arrived. */
  finish(req: IncomingMessage, state: RequestState): void {
    const { res, bound, startedMs } = state;
    if (state.tooLarge) {
      this.fail(
        res,
        bound,
        quiverError('QUIVER_ERR_BODY_TOO_LARGE', { limitBytes: this.maxBodyBytes }),
        startedMs,
      );
      return;
    }
    let encoded: EncodedResponse | Promise<EncodedResponse>;
    try {
      const body = state.chunks.length === 1 ? state.chunks[0]! : Buffer.concat(state.chunks, state.size);
      state.chunks = NO_CHUNKS; // the body may wait on a model: let its chunks go
      encoded = bound.route.respond(this.parse(req, body), req, state.param, state);
    } catch (err) {
      this.fail(res, bound, err, startedMs);
      return;
    }
    if (encoded instanceof Promise) {
      if (state.owner !== undefined) {
        // Queued on a model: if the client leaves first, its work is dropped from the queue.
        (res as FastResponse)[STATE] = state;
        res.once('close', onResponseClose);
      }
      encoded.then(
        (e) => this.send(res, bound, e, startedMs),
        (err: unknown) => this.fail(res, bound, err, startedMs),
      );
    } else this.send(res, bound, encoded, startedMs);
  }

  private parse(req: IncomingMessage, body: Buffer): unknown {
    const type = req.headers['content-type'];
    if (type !== undefined && type.includes('msgpack')) return parseMsgpackBody(body);
    // The common shapes straight from the bytes (json-scan.ts, ASCII only); the rest, and every
    // error, as Fastify's routes read them.
    const scanned = scanJson(body);
    return scanned !== undefined ? scanned : parseJsonBody(body);
  }

  private send(res: ServerResponse, bound: BoundRoute, encoded: EncodedResponse, startedMs: number): void {
    // A client that left meanwhile is skipped by the coalescer (it checks at the write itself).
    const body = encoded.body;
    // The length must be in the headers: headers written by writeHead are final, and without a
    // content-length node:http frames the body as chunked (more bytes and work at both ends).
    const headers: OutgoingHttpHeaders = {
      'content-type': encoded.contentType,
      'content-length': typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
    };
    if (encoded.degraded !== undefined) headers[DEGRADED_HEADER] = encoded.degraded;
    this.writes.write(res, headers, body, bound, startedMs);
  }

  private fail(res: ServerResponse, bound: BoundRoute, err: unknown, startedMs: number): void {
    const error: QuiverError = isQuiverError(err) ? err : toQuiverError(err, this.maxBodyBytes);
    const status = STATUS_BY_KIND[error.kind];
    if (status >= 500 && error.kind !== 'unavailable' && error.kind !== 'closed') {
      this.deps.logger.error({ err, code: error.code, url: bound.route.label }, 'request failed');
    }
    if (res.destroyed) return;
    if (error.retryAfterS !== undefined)
      res.setHeader('retry-after', String(Math.max(1, Math.ceil(error.retryAfterS))));
    res.statusCode = status;
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(errorBody(error)));
    const seconds = (performance.now() - startedMs) / 1000;
    const { metrics } = this.deps;
    const route = bound.route.label;
    metrics.httpRequests.inc({ route, status });
    metrics.httpDuration.observe({ route, status }, seconds);
    metrics.httpErrorDuration.observe({ route, code: error.code }, seconds);
  }
}
