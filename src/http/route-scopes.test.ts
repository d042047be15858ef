import { describe, expect, it } from 'vitest';
import { classifyRoute, RouteAccessTable } from './route-scopes.ts';

describe('route scopes', () => {
  it.each([
    ['GET', '/healthz', 'open'],
    ['GET', '/health', 'open'],
    ['GET', '/readyz', 'open'],
    ['GET', '/metrics', 'open'],
    ['HEAD', '/metrics', 'open'],
    ['GET', '/', 'open'],
    ['GET', '/v2', 'open'],
    ['GET', '/v2/health/live', 'open'],
    ['GET', '/v2/health/ready', 'open'],
    ['GET', '/v2/models/:model/ready', 'open'],
    ['GET', '/v2/models/:model/versions/:version/ready', 'open'],
    ['GET', '/ui', 'open'],
    ['GET', '/ui/*', 'open'],
    ['GET', '/ui/assets/app.js', 'open'],
    ['POST', '/get-online-features', 'features:read'],
    ['POST', '/push', 'features:write'],
    ['POST', '/v1/models/:model/predict', 'predict'],
    ['POST', '/v2/models/:model/infer', 'predict'],
    ['POST', '/v2/models/:model/versions/:version/infer', 'predict'],
    ['POST', '/v1/models/:model/jobs', 'predict'],
    ['GET', '/v1/jobs/:id', 'predict'],
    ['GET', '/v2/models/:model', 'predict'],
    ['GET', '/v2/models/:model/versions/:version', 'predict'],
    ['POST', '/v2/repository/models/:model/load', 'admin'],
    ['POST', '/v2/repository/models/:model/unload', 'admin'],
    ['GET', '/v2/repository/index', 'admin'],
    ['POST', '/v2/repository/index', 'admin'],
  ])('%s %s needs %s', (method, url, access) => {
    expect(classifyRoute(method, url)).toEqual({ access, listed: true });
  });

  it('fails closed: a route missing from the table needs admin, and is reported', () => {
    expect(classifyRoute('DELETE', '/healthz')).toEqual({ access: 'admin', listed: false });
    expect(classifyRoute('POST', '/ui/settings')).toEqual({ access: 'admin', listed: false });
    expect(classifyRoute('GET', '/v1/something-new')).toEqual({ access: 'admin', listed: false });
    const table = new RouteAccessTable();
    table.register(['GET', 'HEAD'], '/healthz');
    table.register('POST', '/v1/something-new');
    expect(table.unlisted()).toEqual(['POST /v1/something-new']);
    expect(table.of('POST', '/v1/something-new')).toBe('admin');
  });

  it('needs a valid key (no scope) when no route matched', () => {
    expect(new RouteAccessTable().of('GET', undefined)).toBe('authenticated');
  });
});
