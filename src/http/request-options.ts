/**
 * Per-request scheduling options from headers: `x-priority` (1 = highest) and
 * `x-request-timeout-ms` (may only shorten the model's default). Both request paths use them; a
 * client that goes away cancels its queued work (Batcher#cancel), so nothing is computed for nobody.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Cancellation, SubmitOptions } from '../batching/batcher.ts';
import { quiverError } from '../errors.ts';

function positiveIntHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(value) || value < 1) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: `header "${name}" must be a positive integer, got ${JSON.stringify(raw)}`,
    });
  }
  return value;
}

/** Priority and timeout from the headers; `cancellation` passed through to the batcher. */
export function schedulingOptions(headers: IncomingHttpHeaders, cancellation?: Cancellation): SubmitOptions {
  return {
    priority: positiveIntHeader(headers, 'x-priority'),
    timeoutMs: positiveIntHeader(headers, 'x-request-timeout-ms'),
    cancellation,
  };
}

/** The Fastify routes' options: the scheduling headers, cancelled on `batcher` when the client leaves. */
export function submitOptions(
  request: FastifyRequest,
  reply: FastifyReply,
  batcher: { cancel(cancellation: Cancellation): void },
): SubmitOptions {
  const cancellation: Cancellation = {};
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) batcher.cancel(cancellation);
  });
  return schedulingOptions(request.headers, cancellation);
}
