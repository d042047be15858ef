/**
 * The errors a queue answers with instead of running a request, in one place so every rejection
 * of the same cause reads the same: full level (503), shed (503), deadline passed (504), client
 * gone. Retry-After values come from the caller's drain-rate estimate (retry-after.ts). They are
 * normal flow under overload, so they carry no stack trace (withoutStackTrace).
 */
import { quiverError, withoutStackTrace, type QuiverError } from '../errors.ts';
import type { Dropped } from './request-queue.ts';

export function queueFullError(
  model: string,
  priority: number,
  maxQueueSize: number,
  retryAfterS: number,
): QuiverError {
  return withoutStackTrace(() =>
    quiverError(
      'QUIVER_ERR_QUEUE_FULL',
      { model, priority, maxQueueSize },
      { retryAfterS, details: { model, priority } },
    ),
  );
}

export function shedError(model: string, priority: number, retryAfterS: number): QuiverError {
  return withoutStackTrace(() =>
    quiverError('QUIVER_ERR_SHED', { model, priority }, { retryAfterS, details: { model, priority } }),
  );
}

/** Why a dropped request never ran: its deadline passed (504) or its client went away. */
export function droppedError(model: string, { request, reason }: Dropped<unknown, unknown>): QuiverError {
  if (reason === 'cancelled') return withoutStackTrace(() => quiverError('QUIVER_ERR_CLIENT_CLOSED_REQUEST'));
  const timeoutMs = Math.round((request.deadlineNs - request.enqueuedAtNs) / 1e6);
  return withoutStackTrace(() =>
    quiverError('QUIVER_ERR_DEADLINE_EXCEEDED', { timeoutMs }, { details: { model, timeoutMs } }),
  );
}
