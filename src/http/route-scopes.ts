/**
 * Which scope each route needs: one table for both request paths (fast path and Fastify).
 *
 * - open (no key, no rate limit): probes and operations — /healthz /health /readyz /metrics,
 *   /v2/health/*, GET /v2 (server metadata), GET /v2/models/{m}[/versions/{v}]/ready (per-model
 *   probes), GET / (the endpoint index) and GET /ui[/*] (the read-only dashboard, which shows what
 *   /metrics shows). A probe or a scraper must never need a secret or be rate limited.
 * - features:read: POST /get-online-features. features:write: POST /push.
 * - predict: inference and jobs, and GET /v2/models/{m}[/versions/{v}] (model metadata: inputs,
 *   outputs, shapes). Metadata is not open because it describes a model to whoever asks; the
 *   clients that need it are the ones about to call infer, and they hold the scope anyway.
 * - admin: /v2/repository/* (load, unload, index).
 * - A route not in the table needs `admin` (fail closed): a new route is unreachable without the
 *   strongest scope until it is classified here (a test checks that every route is).
 * - No route matched (404): a valid key of whatever scope, so unknown paths do not answer anonymous probing with
 *   404 vs 401 differences.
 */
import type { Scope } from '../config/types.ts';

/** A scope, 'authenticated' (any valid key) or 'open'. */
export type RouteAccess = Scope | 'authenticated' | 'open';

/** [method ('*' = any), path pattern ('*' = one segment, '**' = the rest), access] */
const RULES: readonly (readonly [string, string, RouteAccess])[] = [
  ['GET', '/healthz', 'open'],
  ['GET', '/health', 'open'],
  ['GET', '/readyz', 'open'],
  ['GET', '/metrics', 'open'],
  ['GET', '/', 'open'],
  ['GET', '/v2', 'open'],
  ['GET', '/v2/health/live', 'open'],
  ['GET', '/v2/health/ready', 'open'],
  ['GET', '/v2/models/*/ready', 'open'],
  ['GET', '/v2/models/*/versions/*/ready', 'open'],
  ['GET', '/ui', 'open'],
  ['GET', '/ui/**', 'open'],
  ['POST', '/get-online-features', 'features:read'],
  ['POST', '/push', 'features:write'],
  ['POST', '/v1/models/*/predict', 'predict'],
  ['POST', '/v2/models/*/infer', 'predict'],
  ['POST', '/v2/models/*/versions/*/infer', 'predict'],
  ['POST', '/v1/models/*/jobs', 'predict'],
  ['GET', '/v1/jobs/*', 'predict'],
  ['GET', '/v2/models/*', 'predict'],
  ['GET', '/v2/models/*/versions/*', 'predict'],
  ['*', '/v2/repository/**', 'admin'],
];

const DEFAULT_ACCESS: RouteAccess = 'admin';

function segments(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

/** True when `route` fits `pattern`, whose '*' stands for one segment and '**' for the rest. */
export function matches(pattern: readonly string[], route: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === '**') return true;
    if (i >= route.length) return false;
    if (p !== '*' && p !== route[i]) return false;
  }
  return pattern.length === route.length;
}

const COMPILED = RULES.map(([method, path, access]) => ({ method, pattern: segments(path), access }));

/**
 * Classifies a route by its method and its registered URL pattern (`request.routeOptions.url`,
 * e.g. '/v2/models/:model/infer'), or a concrete path. HEAD is treated as GET.
 */
export function classifyRoute(method: string, url: string): { access: RouteAccess; listed: boolean } {
  const m = method === 'HEAD' ? 'GET' : method;
  const route = segments(url.split('?')[0]!);
  for (const rule of COMPILED) {
    if ((rule.method === '*' || rule.method === m) && matches(rule.pattern, route)) {
      return { access: rule.access, listed: true };
    }
  }
  return { access: DEFAULT_ACCESS, listed: false };
}

/** Memoised classification per (method, route URL): a request costs two Map lookups. */
export class RouteAccessTable {
  readonly #byMethod = new Map<string, Map<string, RouteAccess>>();
  readonly #unlisted: string[] = [];

  /** Classifies a route when it is registered (Fastify's onRoute hook). */
  register(method: string | readonly string[], url: string): void {
    for (const m of typeof method === 'string' ? [method] : method) this.#classify(m, url);
  }

  /** The access a request needs; `url` undefined means no route matched (404). */
  of(method: string, url: string | undefined): RouteAccess {
    if (url === undefined) return 'authenticated';
    return this.#byMethod.get(method)?.get(url) ?? this.#classify(method, url);
  }

  /** Routes registered without a rule in the table (they need `admin`). */
  unlisted(): readonly string[] {
    return this.#unlisted;
  }

  #classify(method: string, url: string): RouteAccess {
    const { access, listed } = classifyRoute(method, url);
    let urls = this.#byMethod.get(method);
    if (urls === undefined) this.#byMethod.set(method, (urls = new Map()));
    if (!urls.has(url) && !listed) this.#unlisted.push(`${method} ${url}`);
    urls.set(url, access);
    return access;
  }
}
