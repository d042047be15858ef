/**
 * The request guard: authentication, authorization and rate limiting in one call, used by both
 * request paths (the raw fast path in fast-path.ts and Fastify's onRequest hook in server.ts), so
 * both answer the same statuses, bodies and headers.
 *
 * Order: the key (x-api-key, else Authorization: Bearer) is authenticated → 401; its scopes are
 * checked against the route's → 403 (details {keyId, scope}); then every `apiKey` rate limit takes
 * a token for the key's id → 429 (Retry-After, details {limit, retryAfterS}). Requests without a
 * principal (auth disabled, or a missing or wrong key) are limited per client IP by the `ip`
 * limits instead, the 401s included, so a client guessing keys is throttled too. IPv6 clients are
 * limited per /64, as one host usually holds a whole /64.
 *
 * The guard writes RateLimit-Limit / -Remaining / -Reset (IETF draft-ietf-httpapi-ratelimit-headers:
 * capacity, whole tokens left, seconds until the bucket is full) on the response itself, before it
 * throws on a 429 too, since both paths hold the node:http response; Retry-After comes from the
 * error's retryAfterS in the one error mapping. With several limits, the headers describe the one
 * with the fewest tokens left. A request refused by a later limit has spent its token in the
 * earlier ones.
 *
 * With auth disabled and no limits, `active` is false and callers skip the guard altogether.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { Scope } from '../config/types.ts';
import { quiverError, type QuiverError } from '../errors.ts';
import type { ApiKeyAuth, Principal } from '../limits/api-keys.ts';
import { limitChannels, type AuthRejectEvent, type RateLimitRejectEvent } from '../limits/events.ts';
import type { RateLimiter, TakeResult } from '../limits/rate-limiter.ts';

export interface RateLimitRule {
  /** 'apiKey': one bucket per key id; 'ip': one bucket per client IP, for requests without a key. */
  readonly key: 'apiKey' | 'ip';
  readonly limiter: RateLimiter;
}

export interface GuardOptions {
  /** undefined: auth disabled (config `auth: { enabled: false }`). */
  readonly auth: ApiKeyAuth | undefined;
  readonly rateLimits: readonly RateLimitRule[];
}

/** Where the guard writes headers: a node:http ServerResponse (Fastify's reply.raw) fits. */
export interface HeaderSink {
  setHeader(name: string, value: string): unknown;
}

/** What a route needs: a scope, or just a valid key ('authenticated'). */
export type RequiredAccess = Scope | 'authenticated';

const BEARER = /^bearer +/i;
const REJECT_KEY: RateLimitRejectEvent = { key: 'apiKey' };
const REJECT_IP: RateLimitRejectEvent = { key: 'ip' };

export class Guard {
  /** False when there is nothing to check: auth disabled and no rate limits. */
  readonly active: boolean;
  readonly #auth: ApiKeyAuth | undefined;
  readonly #keyLimiters: readonly RateLimiter[];
  readonly #ipLimiters: readonly RateLimiter[];

  constructor(options: GuardOptions) {
    this.#auth = options.auth;
    this.#keyLimiters = options.rateLimits.filter((r) => r.key === 'apiKey').map((r) => r.limiter);
    this.#ipLimiters = options.rateLimits.filter((r) => r.key === 'ip').map((r) => r.limiter);
    this.active = options.auth !== undefined || options.rateLimits.length > 0;
  }

  /**
   * Authenticates, authorizes and rate-limits one request; writes the RateLimit-* headers on `res`.
   * Returns undefined when every step was synchronous (auth, memory limits), a promise when a Redis
   * limit answered; throws (or rejects with) QUIVER_ERR_UNAUTHENTICATED, _FORBIDDEN or _RATE_LIMITED.
   *
   * @example
   *   const pending = guard.check('features:read', req.headers, req.socket.remoteAddress, res);
   */
  check(
    access: RequiredAccess,
    headers: IncomingHttpHeaders,
    ip: string | undefined,
    res: HeaderSink,
  ): void | Promise<void> {
    const auth = this.#auth;
    if (auth === undefined) return this.#limitByIp(ip, res);
    const key = presentedKey(headers);
    const principal = key === undefined ? undefined : auth.authenticate(key);
    if (principal === undefined) return this.#unauthenticated(key === undefined, access, ip, res);
    if (access !== 'authenticated' && !principal.scopes.includes(access)) throw forbidden(principal, access);
    const limiters = this.#keyLimiters;
    if (limiters.length === 0) return undefined;
    return limit(limiters, principal.keyId, REJECT_KEY, res);
  }

  #limitByIp(ip: string | undefined, res: HeaderSink): void | Promise<void> {
    const limiters = this.#ipLimiters;
    if (limiters.length === 0) return undefined;
    return limit(limiters, ipSubject(ip), REJECT_IP, res);
  }

  #unauthenticated(
    missing: boolean,
    access: RequiredAccess,
    ip: string | undefined,
    res: HeaderSink,
  ): never | Promise<never> {
    const event: AuthRejectEvent = { reason: missing ? 'missing' : 'invalid', scope: access };
    if (limitChannels.authReject.hasSubscribers) limitChannels.authReject.publish(event);
    res.setHeader('www-authenticate', 'Bearer realm="quiver"');
    const error = quiverError(
      'QUIVER_ERR_UNAUTHENTICATED',
      {},
      {
        details: { reason: missing ? 'missing_key' : 'invalid_key' },
      },
    );
    // The IP limits throttle 401s too (a 429 wins once a client has guessed too often).
    const limited = this.#limitByIp(ip, res);
    if (limited === undefined) throw error;
    return limited.then(() => {
      throw error;
    });
  }
}

/** The key a request presents: `x-api-key`, else `Authorization: Bearer <key>`. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const header = headers['x-api-key'];
  // node:http joins a repeated x-api-key with ", ": such a value authenticates nothing.
  if (typeof header === 'string' && header !== '') return header;
  const authorization = headers.authorization;
  if (authorization !== undefined && BEARER.test(authorization)) {
    const token = authorization.slice(authorization.indexOf(' ')).trim();
    return token === '' ? undefined : token;
  }
  return undefined;
}

/**
 * The rate-limit subject of a client address: IPv4 as is (also when IPv4-mapped, ::ffff:a.b.c.d),
 * IPv6 by its /64 prefix.
 */
export function ipSubject(ip: string | undefined): string {
  if (ip === undefined || ip === '') return 'unknown';
  if (!ip.includes(':')) return ip;
  if (ip.startsWith('::ffff:') && ip.includes('.')) return ip.slice(7);
  const address = ip.split('%')[0]!; // drop a zone index (fe80::1%eth0)
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [
    ...left,
    ...new Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'),
    ...right,
  ];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

function forbidden(principal: Principal, scope: Scope): QuiverError {
  const event: AuthRejectEvent = { reason: 'forbidden', scope };
  if (limitChannels.authReject.hasSubscribers) limitChannels.authReject.publish(event);
  return quiverError(
    'QUIVER_ERR_FORBIDDEN',
    { keyId: principal.keyId, scope },
    { details: { keyId: principal.keyId, scope } },
  );
}

/**
 * Takes a token from each limiter in turn, synchronously while they answer synchronously. Stops
 * at the first refusal; on success writes the headers of the tightest bucket.
 */
function limit(
  limiters: readonly RateLimiter[],
  subject: string,
  event: RateLimitRejectEvent,
  res: HeaderSink,
): void | Promise<void> {
  let tightest: TakeResult | undefined;
  for (let i = 0; i < limiters.length; i++) {
    const result = limiters[i]!.take(subject);
    if (result instanceof Promise) {
      return limitAsync(limiters, i, result, tightest, subject, event, res);
    }
    tightest = settle(result, tightest, subject, event, res);
  }
  writeHeaders(res, tightest!);
  return undefined;
}

async function limitAsync(
  limiters: readonly RateLimiter[],
  index: number,
  pending: Promise<TakeResult>,
  tightest: TakeResult | undefined,
  subject: string,
  event: RateLimitRejectEvent,
  res: HeaderSink,
): Promise<void> {
  tightest = settle(await pending, tightest, subject, event, res);
  for (let i = index + 1; i < limiters.length; i++) {
    tightest = settle(await limiters[i]!.take(subject), tightest, subject, event, res);
  }
  writeHeaders(res, tightest);
}

/** Throws the 429 (after writing its headers) or returns the tighter of the two results. */
function settle(
  result: TakeResult,
  tightest: TakeResult | undefined,
  subject: string,
  event: RateLimitRejectEvent,
  res: HeaderSink,
): TakeResult {
  if (!result.allowed) {
    if (limitChannels.rateLimitReject.hasSubscribers) limitChannels.rateLimitReject.publish(event);
    writeHeaders(res, result);
    const retryAfterS = Math.round(result.retryAfterS * 1000) / 1000;
    throw quiverError(
      'QUIVER_ERR_RATE_LIMITED',
      { subject: event.key === 'apiKey' ? `API key "${subject}"` : `IP ${subject}` },
      { retryAfterS, details: { limit: result.limit, retryAfterS } },
    );
  }
  return tightest === undefined || result.remaining < tightest.remaining ? result : tightest;
}

function writeHeaders(res: HeaderSink, r: TakeResult): void {
  res.setHeader('RateLimit-Limit', String(r.limit));
  res.setHeader('RateLimit-Remaining', String(r.remaining));
  res.setHeader('RateLimit-Reset', String(Math.ceil(r.resetS)));
}
