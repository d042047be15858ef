/**
 * Which methods a path has routes for, so a request with the wrong method is told 405 and what to
 * use (`GET /get-online-features` → "use POST"), not 404 as if the path did not exist. Routes are
 * recorded as Fastify registers them (its onRoute hook); `:param` matches one segment, `*` the rest.
 *
 * @example
 *   const methods = new AllowedMethods();
 *   methods.register('POST', '/v1/models/:model/predict');
 *   methods.of('/v1/models/fraud/predict'); // ['POST']
 */
import { matches } from './route-scopes.ts';

export class AllowedMethods {
  readonly #routes: { readonly method: string; readonly pattern: readonly string[] }[] = [];

  register(method: string | readonly string[], url: string): void {
    // Fastify's `:param` is one segment and its `*` the rest: route-scopes.ts's '*' and '**'.
    const pattern = exactSegments(url).map((s) => (s.startsWith(':') ? '*' : s === '*' ? '**' : s));
    for (const m of typeof method === 'string' ? [method] : method) this.#routes.push({ method: m, pattern });
  }

  /** The methods with a route matching `path` (no query string), sorted; empty when none. */
  of(path: string): string[] {
    const route = exactSegments(path);
    if (route.includes('')) return []; // no route has an empty segment, nor does a parameter match one
    const methods = new Set<string>();
    for (const r of this.#routes) if (matches(r.pattern, route)) methods.add(r.method);
    return [...methods].sort();
  }
}

/**
 * A path's segments, empty ones kept: the router does not ignore a trailing or doubled slash, so
 * `/get-online-features/` is another path (404), not the route with the wrong method.
 */
function exactSegments(path: string): string[] {
  return path === '/' ? [] : path.split('/').slice(1);
}
