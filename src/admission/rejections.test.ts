import { describe, expect, it } from 'vitest';
import { droppedError, queueFullError, shedError } from './rejections.ts';
import type { QueuedRequest } from './request-queue.ts';

const request = (over: Partial<QueuedRequest<string, string>> = {}): QueuedRequest<string, string> => ({
  payload: 'p',
  rows: 1,
  priority: 2,
  enqueuedAtNs: 0,
  deadlineNs: 25e6,
  cancelled: false,
  resolve: () => undefined,
  reject: () => undefined,
  ...over,
});

describe('rejections', () => {
  it('are catalogued errors with Retry-After where the client should retry', () => {
    expect(queueFullError('m', 2, 8, 3)).toMatchObject({
      code: 'QUIVER_ERR_QUEUE_FULL',
      message: 'Queue for model "m" priority 2 is full (8); retry later',
      retryAfterS: 3,
      details: { model: 'm', priority: 2 },
    });
    expect(shedError('m', 1, 2)).toMatchObject({
      code: 'QUIVER_ERR_SHED',
      retryAfterS: 2,
      details: { priority: 1 },
    });
    expect(droppedError('m', { request: request(), reason: 'expired' })).toMatchObject({
      code: 'QUIVER_ERR_DEADLINE_EXCEEDED',
      details: { model: 'm', timeoutMs: 25 },
    });
    expect(droppedError('m', { request: request(), reason: 'cancelled' })).toMatchObject({
      code: 'QUIVER_ERR_CLIENT_CLOSED_REQUEST',
    });
  });

  it('carry no stack trace (normal flow under load), and leave the stack trace limit as it was', () => {
    const limit = Error.stackTraceLimit;
    const error = queueFullError('m', 2, 8, 1);
    expect(error.stack?.split('\n')).toHaveLength(1);
    expect(Error.stackTraceLimit).toBe(limit);
    expect(new Error('x').stack!.split('\n').length).toBeGreaterThan(1);
  });
});
