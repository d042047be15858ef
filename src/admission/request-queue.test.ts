import { describe, expect, it } from 'vitest';
import { RequestQueue, type Dropped, type QueuedRequest } from './request-queue.ts';

type Req = QueuedRequest<string, string>;

function req(payload: string, priority: number, deadlineNs = 1000, enqueuedAtNs = 0): Req {
  return {
    payload,
    rows: 1,
    priority,
    enqueuedAtNs,
    deadlineNs,
    cancelled: false,
    resolve: () => undefined,
    reject: () => undefined,
  };
}

function filled(...requests: Req[]): RequestQueue<string, string> {
  const queue = new RequestQueue<string, string>(3, 10);
  for (const r of requests) expect(queue.offer(r)).toBe(true);
  return queue;
}

const payloads = (q: RequestQueue<string, string>): string[] =>
  Array.from({ length: q.length }, (_, i) => q.at(i).payload);

function dropLog(): { log: string[]; onDrop: (d: Dropped<string, string>) => void } {
  const log: string[] = [];
  return { log, onDrop: (d) => log.push(`${d.request.payload}:${d.reason}`) };
}

describe('RequestQueue', () => {
  it('orders by priority, then FIFO, and bounds each level on its own', () => {
    const queue = new RequestQueue<string, string>(2, 2);
    expect(queue.offer(req('l1', 2))).toBe(true);
    expect(queue.offer(req('h1', 1))).toBe(true);
    expect(queue.offer(req('l2', 2))).toBe(true);
    expect(queue.offer(req('l3', 2))).toBe(false);
    expect(queue.offer(req('h2', 1))).toBe(true);
    expect(payloads(queue)).toEqual(['h1', 'h2', 'l1', 'l2']);
    expect([queue.depthUpTo(1), queue.depthUpTo(2), queue.depthUpTo(9)]).toEqual([2, 4, 4]);
    expect(() => queue.at(4)).toThrow(RangeError);
  });

  it('shedLowest takes the oldest live request of the lowest non-empty level', () => {
    const queue = filled(req('h1', 1), req('m1', 2), req('m2', 2));
    const { log, onDrop } = dropLog();
    expect(queue.shedLowest(0, onDrop)?.payload).toBe('m1');
    expect(queue.shedLowest(0, onDrop)?.payload).toBe('m2');
    expect(queue.shedLowest(0, onDrop)?.payload).toBe('h1');
    expect(queue.shedLowest(0, onDrop)).toBeUndefined();
    expect(queue.length).toBe(0);
    expect(log).toEqual([]);
  });

  it('shedLowest drops dead requests on its way and goes up a level when a level holds only dead ones', () => {
    const cancelled = req('l-cancelled', 3);
    cancelled.cancelled = true;
    const queue = filled(req('h1', 1), req('m-expired', 2, 5), cancelled, req('l-expired', 3, 5));
    const { log, onDrop } = dropLog();
    expect(queue.shedLowest(10, onDrop)?.payload).toBe('h1');
    expect(log).toEqual(['l-cancelled:cancelled', 'l-expired:expired', 'm-expired:expired']);
    expect(queue.length).toBe(0);
  });

  it('sweep drops dead requests anywhere and returns the earliest deadline left', () => {
    const gone = req('gone', 1, 900);
    gone.cancelled = true;
    const queue = filled(req('a', 1, 800), gone, req('b', 1, 50), req('c', 2, 300), req('d', 3, 60));
    const { log, onDrop } = dropLog();
    expect(queue.sweep(55, onDrop)).toBe(60);
    expect(log).toEqual(['gone:cancelled', 'b:expired']);
    expect(payloads(queue)).toEqual(['a', 'c', 'd']);
    expect(queue.sweep(1000, onDrop)).toBe(Number.POSITIVE_INFINITY);
    expect(queue.length).toBe(0);
  });

  it('take drops dead requests instead of returning them', () => {
    const queue = filled(req('a', 1, 5), req('b', 1), req('c', 2));
    const { log, onDrop } = dropLog();
    expect(queue.take(2, 10, onDrop).map((r) => r.payload)).toEqual(['b']);
    expect(log).toEqual(['a:expired']);
    expect(payloads(queue)).toEqual(['c']);
  });

  it('drain empties every level', () => {
    const queue = filled(req('a', 1), req('b', 3));
    expect(queue.drain().map((r) => r.payload)).toEqual(['a', 'b']);
    expect(queue.length).toBe(0);
  });
});
