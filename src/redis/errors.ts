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

/**
 * Why a first connection failed, in words an operator can act on. A Redis Cluster client only says
 * "Failed to refresh slots cache"; the node's own error is inside it (`lastNodeError`), and the
 * commonest one, a plain server configured as a cluster, gets the fix spelled out.
 */
export function connectFailure(err: unknown): string {
  const nodeError = (err as { lastNodeError?: unknown } | undefined)?.lastNodeError;
  const message = err instanceof Error ? err.message : String(err);
  if (nodeError === undefined || nodeError === null) return message;
  const cause = nodeError instanceof Error ? nodeError.message : String(nodeError);
  if (cause.includes('cluster support disabled')) {
    return `the server is not a Redis Cluster node (${cause}): configure it with "url", not "cluster"`;
  }
  return `${message} (${cause})`;
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
