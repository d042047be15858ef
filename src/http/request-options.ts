/**
 * Per-request scheduling options from headers: `x-priority` (1 = highest) and
 * `x-request-timeout-ms` (may only shorten the model's default). Both request paths use them; a
 * client that goes away cancels its queued work (cancelSubmitted), so nothing is computed for nobody.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';
import { cancelSubmitted, type Cancellation, type SubmitOptions } from '../batching/batcher.ts';
import { quiverError, type QuiverError } from '../errors.ts';
import type { ModelManager } from '../serving/model-manager.ts';

/** A header's positive integer: undefined when absent, NaN when present but not one. */
function headerInt(headers: IncomingHttpHeaders, name: string): number | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const value = Number(raw);
  return typeof raw === 'string' && Number.isInteger(value) && value >= 1 ? value : NaN;
}

function positiveIntHeader(headers: IncomingHttpHeaders, name: string): number | undefined {
  const value = headerInt(headers, name);
  if (Number.isNaN(value)) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: `header "${name}" must be a positive integer, got ${JSON.stringify(headers[name])}`,
    });
  }
  return value;
}

/**
 * A queue-full refusal from the headers alone, for the fast path to send before reading the body:
 * only when the model is ready and its queue level is full. Anything else wrong (unknown model,
 * bad header) is left to the normal path, which reports errors in their usual order.
 */
export function refuseWhenFull(
  models: ModelManager,
  headers: IncomingHttpHeaders,
  model: string,
): QuiverError | undefined {
  const handle = models.peek(model);
  if (handle === undefined) return undefined;
  const priority = headerInt(headers, 'x-priority');
  return Number.isNaN(priority) ? undefined : handle.batcher.refuseIfFull({ priority });
}

/** Priority and timeout from the headers; `cancellation` passed through to the batcher. */
export function schedulingOptions(headers: IncomingHttpHeaders, cancellation?: Cancellation): SubmitOptions {
  return {
    priority: positiveIntHeader(headers, 'x-priority'),
    timeoutMs: positiveIntHeader(headers, 'x-request-timeout-ms'),
    cancellation,
  };
}

/** A cancellation for a Fastify route's request, fired when its client leaves before the answer. */
export function cancelOnClose(reply: FastifyReply): Cancellation {
  const cancellation: Cancellation = {};
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) cancelSubmitted(cancellation);
  });
  return cancellation;
}
