/**
 * Maps every failure of a Redis call to one catalogue error, so serving answers 503 with a reason a
 * human understands instead of an ioredis message.
 */
import { isQuiverError, quiverError } from '../errors.ts';
import type { QuiverError } from '../errors.ts';

/** ioredis message fragments → the reason shown to operators. */
const KNOWN_REASONS: readonly (readonly [fragment: string, reason: string])[] = [
  ['Command timed out', 'command timed out'],
  ["Stream isn't writeable", 'not connected (reconnecting)'],
  ['max retries per request', 'connection lost during the command'],
  ['Connection is closed', 'connection closed'],
  ['ECONNREFUSED', 'connection refused'],
  ['ECONNRESET', 'connection reset'],
  ["Cluster isn't ready", 'Redis Cluster not connected (reconnecting)'],
  ['CLUSTERDOWN', 'Redis Cluster is down (slots without a node)'],
  ['Too many Cluster redirections', 'Redis Cluster kept redirecting the command (failover or resharding)'],
];

export function storeUnavailable(err: unknown): QuiverError {
  if (isQuiverError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  const known = KNOWN_REASONS.find(([fragment]) => message.includes(fragment));
  const reason = known === undefined ? message : `${known[1]} (${message})`;
  return quiverError('QUIVER_ERR_STORE_UNAVAILABLE', { store: 'redis', reason }, { cause: err });
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}
