/**
 * Puts the guard in front of every Fastify route: each route is classified when it is registered
 * (route-scopes.ts), and an onRequest hook (before any body is read or parsed) checks the scope the
 * route needs. Routes missing from the scope table are reported once the server is ready: they
 * need `admin` until someone classifies them.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../metrics/logger.ts';
import type { Guard } from './guard.ts';
import { RouteAccessTable } from './route-scopes.ts';

/** Call before the routes are registered. */
export function installGuard(app: FastifyInstance, guard: Guard, logger: Logger): RouteAccessTable {
  const table = new RouteAccessTable();
  app.addHook('onRoute', (route) => table.register(route.method, route.url));
  app.addHook('onReady', (done) => {
    const unlisted = table.unlisted();
    if (unlisted.length > 0) {
      logger.warn(
        { routes: unlisted },
        'routes missing from the scope table (http/route-scopes.ts) need admin',
      );
    }
    done();
  });
  if (!guard.active) return table;
  app.addHook('onRequest', (request, reply, done) => {
    const access = table.of(request.method, request.routeOptions.url);
    if (access === 'open') return done();
    let pending: void | Promise<void>;
    try {
      pending = guard.check(access, request.headers, request.ip, reply.raw);
    } catch (err) {
      return done(err as Error);
    }
    if (pending === undefined) done();
    else pending.then(() => done(), done);
  });
  return table;
}
