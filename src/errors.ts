/**
 * The QUIVER_ERR_* catalogue: every error Quiver reports, with a stable code, a kind from a closed
 * set and a message template. Kinds map to HTTP statuses in exactly one place (http/error-handler.ts);
 * nothing else decides a status. `docs/errors.md` lists the same codes; a test keeps them in sync.
 *
 * @example
 *   throw quiverError('QUIVER_ERR_UNKNOWN_FEATURE_VIEW', { view: 'user_stat' }, { details: { didYouMean: 'user_stats' } });
 */

/** The closed set of error kinds. Each has exactly one HTTP status (see http/error-handler.ts). */
export type ErrorKind =
  | 'bad_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'headers_too_large'
  | 'request_timeout'
  | 'unsupported_media_type'
  | 'unprocessable'
  | 'rate_limited'
  | 'unavailable'
  | 'deadline_exceeded'
  | 'config'
  | 'closed'
  | 'internal';

interface CatalogueEntry {
  readonly kind: ErrorKind;
  /** Template; `{name}` is replaced by the param of that name. */
  readonly message: string;
}

export const ERROR_CATALOGUE = {
  // ── request shape ──────────────────────────────────────────────────────────────────────────────
  QUIVER_ERR_MALFORMED_BODY: { kind: 'bad_request', message: 'Request body could not be parsed: {reason}' },
  QUIVER_ERR_UNSUPPORTED_MEDIA_TYPE: {
    kind: 'unsupported_media_type',
    message: 'Unsupported Content-Type "{contentType}": send application/json or application/msgpack',
  },
  QUIVER_ERR_UNSUPPORTED_ENCODING: {
    kind: 'unsupported_media_type',
    message: 'Content-Encoding "{encoding}" is not supported: send the body uncompressed',
  },
  QUIVER_ERR_INVALID_REQUEST: { kind: 'bad_request', message: '{reason}' },
  QUIVER_ERR_BODY_TOO_LARGE: {
    kind: 'payload_too_large',
    message: 'Request body exceeds the limit of {limitBytes} bytes (server.maxBodyBytes)',
  },
  QUIVER_ERR_ROUTE_NOT_FOUND: { kind: 'not_found', message: 'No route {method} {url}' },
  QUIVER_ERR_METHOD_NOT_ALLOWED: {
    kind: 'method_not_allowed',
    message: '{method} is not allowed on {url}: use {allowed}',
  },
  // Refusals of node:http's parser, before any route: each closes the connection.
  QUIVER_ERR_MALFORMED_HTTP: {
    kind: 'bad_request',
    message: 'The request is not valid HTTP/1.1 ({reason}); the connection is closed',
  },
  QUIVER_ERR_HEADERS_TOO_LARGE: {
    kind: 'headers_too_large',
    message:
      'The request headers exceed {limitBytes} bytes (node --max-http-header-size); the connection is closed',
  },
  QUIVER_ERR_REQUEST_TIMEOUT: {
    kind: 'request_timeout',
    message: 'The request did not arrive in full in time; the connection is closed',
  },

  // ── features ───────────────────────────────────────────────────────────────────────────────────
  QUIVER_ERR_UNKNOWN_FEATURE_VIEW: { kind: 'not_found', message: 'Unknown feature view "{view}"' },
  QUIVER_ERR_UNKNOWN_FEATURE: { kind: 'not_found', message: 'Unknown feature "{feature}" in view "{view}"' },
  QUIVER_ERR_UNKNOWN_FEATURE_SERVICE: { kind: 'not_found', message: 'Unknown feature service "{service}"' },
  QUIVER_ERR_BAD_FEATURE_REF: {
    kind: 'bad_request',
    message: 'Feature reference "{ref}" is malformed: expected "view:feature" or "view:*"',
  },
  QUIVER_ERR_FEATURE_NAME_COLLISION: {
    kind: 'bad_request',
    message:
      'Feature names collide across views ({names}): send "full_feature_names": true to get "view__feature" names',
  },
  QUIVER_ERR_MISSING_JOIN_KEY: {
    kind: 'bad_request',
    message: 'Missing join key "{joinKey}" in entities (needed by feature view "{view}")',
  },
  QUIVER_ERR_ENTITY_LENGTH_MISMATCH: {
    kind: 'bad_request',
    message: 'All entity columns must have the same length: "{column}" has {actual}, expected {expected}',
  },
  QUIVER_ERR_TOO_MANY_ENTITIES: {
    kind: 'bad_request',
    message: 'Too many entities: {count} in one request, the limit is {limit}',
  },
  QUIVER_ERR_INVALID_VALUE: {
    kind: 'unprocessable',
    message: 'Invalid value for "{field}": expected {expected}, got {actual}',
  },
  QUIVER_ERR_MISSING_COLUMNS: {
    kind: 'bad_request',
    message:
      'Push to feature view "{view}" lacks {columns}: a push writes whole rows, so send every join key and feature (null where a value is unknown)',
  },
  QUIVER_ERR_MISSING_REQUEST_DATA: {
    kind: 'bad_request',
    message: 'Missing request data field "{field}" (needed by on-demand feature view "{view}")',
  },
  QUIVER_ERR_TRANSFORM_FAILED: {
    kind: 'unprocessable',
    message: 'On-demand transform "{view}" failed: {reason}',
  },

  // ── models and inference ───────────────────────────────────────────────────────────────────────
  QUIVER_ERR_UNKNOWN_MODEL: { kind: 'not_found', message: 'Unknown model "{model}"' },
  QUIVER_ERR_UNKNOWN_MODEL_VERSION: {
    kind: 'not_found',
    message: 'Unknown version "{version}" of model "{model}"',
  },
  QUIVER_ERR_MODEL_NOT_READY: { kind: 'unavailable', message: 'Model "{model}" is not ready: {reason}' },
  QUIVER_ERR_INVALID_TENSOR: { kind: 'unprocessable', message: 'Invalid tensor "{name}": {reason}' },
  QUIVER_ERR_INFERENCE_FAILED: {
    kind: 'internal',
    message: 'Inference failed for model "{model}": {reason}',
  },
  QUIVER_ERR_MODEL_LOAD_FAILED: { kind: 'config', message: 'Could not load model "{model}": {reason}' },

  // ── admission, limits, auth ────────────────────────────────────────────────────────────────────
  QUIVER_ERR_QUEUE_FULL: {
    kind: 'unavailable',
    message: 'Queue for model "{model}" priority {priority} is full ({maxQueueSize}); retry later',
  },
  QUIVER_ERR_SHED: {
    kind: 'unavailable',
    message: 'Request shed under overload (model "{model}", priority {priority}); retry later',
  },
  QUIVER_ERR_DEADLINE_EXCEEDED: {
    kind: 'deadline_exceeded',
    message: 'Deadline of {timeoutMs} ms passed before the request could run',
  },
  QUIVER_ERR_CLIENT_CLOSED_REQUEST: {
    kind: 'bad_request',
    message: 'The client closed the request before it ran; its queued work was cancelled',
  },
  QUIVER_ERR_RATE_LIMITED: {
    kind: 'rate_limited',
    message: 'Rate limit exceeded for {subject}; retry later',
  },
  QUIVER_ERR_UNAUTHENTICATED: {
    kind: 'unauthenticated',
    message: 'Missing or invalid API key: send it as "x-api-key" or "Authorization: Bearer <key>"',
  },
  QUIVER_ERR_FORBIDDEN: { kind: 'forbidden', message: 'API key "{keyId}" lacks scope "{scope}"' },

  // ── dependencies and lifecycle ─────────────────────────────────────────────────────────────────
  QUIVER_ERR_STORE_UNAVAILABLE: {
    kind: 'unavailable',
    message: 'Online store ({store}) is unavailable: {reason}',
  },
  QUIVER_ERR_STORE_CORRUPT_RECORD: {
    kind: 'internal',
    message:
      'The online store holds a value Quiver cannot read at key "{key}" ({reason}): push or materialize that entity again, or delete the key',
  },
  QUIVER_ERR_BROKER_UNAVAILABLE: { kind: 'unavailable', message: 'Job broker is unavailable: {reason}' },
  QUIVER_ERR_UNKNOWN_JOB: { kind: 'not_found', message: 'Unknown job "{id}" (it may have expired)' },
  QUIVER_ERR_JOB_ATTEMPTS_EXHAUSTED: {
    kind: 'internal',
    message: 'Job "{id}" was started {attempts} times without finishing; moved to the dead-letter queue',
  },
  QUIVER_ERR_SHUTTING_DOWN: {
    kind: 'unavailable',
    message: 'Server is shutting down; retry on another instance',
  },
  QUIVER_ERR_CLOSED: { kind: 'closed', message: '{component} is closed' },

  // ── configuration and CLI ──────────────────────────────────────────────────────────────────────
  QUIVER_ERR_CONFIG_NOT_FOUND: { kind: 'config', message: 'Config file not found: {path}' },
  QUIVER_ERR_CONFIG_LOAD: { kind: 'config', message: 'Could not load config {path}: {reason}' },
  QUIVER_ERR_CONFIG_INVALID: { kind: 'config', message: 'Invalid config {path}: {reason}' },
  QUIVER_ERR_USAGE: { kind: 'config', message: 'Invalid {option}: {reason}' },
  QUIVER_ERR_SOURCE: { kind: 'config', message: 'Cannot read source of feature view "{view}": {reason}' },

  QUIVER_ERR_INTERNAL: { kind: 'internal', message: 'Internal error: {reason}' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export type ErrorParams = Readonly<Record<string, string | number>>;

export class QuiverError extends Error {
  override readonly name = 'QuiverError';
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  /** Machine-readable details returned to the client as `details`. */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /** Seconds a client should wait before retrying (sets Retry-After on 429/503). */
  readonly retryAfterS: number | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details?: Readonly<Record<string, unknown>>,
    retryAfterS?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.code = code;
    this.kind = ERROR_CATALOGUE[code].kind;
    this.details = details;
    this.retryAfterS = retryAfterS;
  }
}

export function formatMessage(template: string, params: ErrorParams): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.hasOwn(params, name) ? String(params[name]) : whole,
  );
}

/** Builds a QuiverError from the catalogue; params fill the message template. */
export function quiverError(
  code: ErrorCode,
  params: ErrorParams = {},
  extra: { details?: Readonly<Record<string, unknown>>; retryAfterS?: number; cause?: unknown } = {},
): QuiverError {
  return new QuiverError(
    code,
    formatMessage(ERROR_CATALOGUE[code].message, params),
    extra.details,
    extra.retryAfterS,
    extra.cause === undefined ? undefined : { cause: extra.cause },
  );
}

export function isQuiverError(err: unknown): err is QuiverError {
  return err instanceof QuiverError;
}

/**
 * Builds an error without capturing a stack trace: for rejections that are normal flow under load
 * (queue full, shed, circuit open), whose stack nobody reads (clients get code and message) and
 * whose capture costs ~15 µs each, a real share of the cost of a rejected request.
 */
export function withoutStackTrace<T>(make: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
