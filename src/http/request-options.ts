/**
 * Per-request scheduling options from headers: `x-priority` (1 = highest), `x-request-timeout-ms`
 * (may only shorten the model's default), and an AbortSignal that fires when the client goes away,
 * so queued work is cancelled instead of computed for nobody.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SubmitOptions } from '../batching/batcher.ts';
import { quiverError } from '../errors.ts';

function positiveIntHeader(request: FastifyRequest, name: string): number | undefined {
  const raw = request.headers[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (typeof raw !== 'string' || !Number.isInteger(value) || value < 1) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: `header "${name}" must be a positive integer, got ${JSON.stringify(raw)}`,
    });
  }
  return value;
}

export function submitOptions(request: FastifyRequest, reply: FastifyReply): SubmitOptions {
  const abort = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) abort.abort();
  });
  return {
    priority: positiveIntHeader(request, 'x-priority'),
    timeoutMs: positiveIntHeader(request, 'x-request-timeout-ms'),
    signal: abort.signal,
  };
}
