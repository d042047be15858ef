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
export class AllowedMethods {
  readonly #routes: { readonly method: string; readonly segments: readonly string[] }[] = [];

  register(method: string | readonly string[], url: string): void {
    const segments = split(url);
    for (const m of typeof method === 'string' ? [method] : method)
      this.#routes.push({ method: m, segments });
  }

  /** The methods with a route matching `path` (no query string), sorted; empty when none. */
  of(path: string): string[] {
    const segments = split(path);
    const methods = new Set<string>();
    for (const route of this.#routes) if (matches(route.segments, segments)) methods.add(route.method);
    return [...methods].sort();
  }
}

function split(path: string): string[] {
  return path.split('/').filter((s) => s !== '');
}

function matches(pattern: readonly string[], path: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === '*') return true;
    if (i >= path.length) return false;
    if (!p.startsWith(':') && p !== path[i]) return false;
  }
  return pattern.length === path.length;
}
