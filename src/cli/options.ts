/** Options shared by several commands, each also settable from the environment. */
import { Option } from 'commander';
import { quiverError } from '../errors.ts';

export const configOption = (): Option =>
  new Option('-c, --config <path>', 'path of quiver.config.ts')
    .env('QUIVER_CONFIG')
    .default('quiver.config.ts');

export const portOption = (fallback?: string): Option => {
  const option = new Option('-p, --port <port>', 'port to listen on').env('QUIVER_PORT').argParser(parsePort);
  return fallback === undefined ? option : option.default(Number(fallback));
};

export const hostOption = (): Option =>
  new Option('--host <host>', 'address to listen on').env('QUIVER_HOST');

export function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw quiverError('QUIVER_ERR_USAGE', {
      option: '--port or QUIVER_PORT',
      reason: `expected a port 0-65535, got "${value}"`,
    });
  }
  return port;
}

export function parsePositiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) {
      throw quiverError('QUIVER_ERR_USAGE', {
        option: name,
        reason: `expected a positive integer, got "${value}"`,
      });
    }
    return n;
  };
}
