/**
 * Integration tests talk to real services. Outside CI a missing service skips its suite with a loud
 * message naming it; in CI (CI=true) a missing service is a failure, never a silent skip.
 */
import net from 'node:net';

export interface ServiceEndpoint {
  name: 'redis' | 'postgres' | 'rabbitmq';
  host: string;
  port: number;
}

export const REDIS: ServiceEndpoint = { name: 'redis', host: '127.0.0.1', port: 6379 };
export const POSTGRES: ServiceEndpoint = { name: 'postgres', host: '127.0.0.1', port: 5432 };
export const RABBITMQ: ServiceEndpoint = { name: 'rabbitmq', host: '127.0.0.1', port: 5672 };

export const REDIS_URL = process.env.QUIVER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.QUIVER_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const RABBITMQ_URL = process.env.QUIVER_TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

function canConnect(endpoint: ServiceEndpoint, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(endpoint.port, endpoint.host);
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Returns true when the service answers. When it does not: throws in CI, otherwise prints a loud
 * warning and returns false so the caller can `describe.skipIf(!up)`.
 */
export async function serviceAvailable(endpoint: ServiceEndpoint): Promise<boolean> {
  if (await canConnect(endpoint)) return true;
  const message =
    `${endpoint.name} is not answering on ${endpoint.host}:${endpoint.port}. ` +
    `Start it with ../shared/services/ensure-services.sh (or the project's scripts/services.sh).`;
  if (process.env.CI === 'true') throw new Error(`CI requires ${endpoint.name}: ${message}`);
  console.warn(`\n!!! SKIPPING ${endpoint.name.toUpperCase()} TESTS: ${message}\n`);
  return false;
}

/** A key prefix unique to one test run, so parallel suites never see each other's data. */
export function uniquePrefix(label: string): string {
  return `qt:${label}:${process.pid}:${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 8)}`;
}
