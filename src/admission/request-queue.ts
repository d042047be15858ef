/**
 * Per-model request queue: one bounded FIFO per priority level (1 = highest), drained in strict
 * priority order. It is the batching policy's QueueView, so decide() sees requests in dispatch order.
 * Requests whose deadline passed or whose client went away are removed before execution (take()),
 * so they never reach the model.
 */
import type { QueueView } from '../batching/policy.ts';
import { RingBuffer } from './ring-buffer.ts';

export interface QueuedRequest<P, R> {
  readonly payload: P;
  readonly rows: number;
  /** 1-based, 1 = highest. */
  readonly priority: number;
  readonly enqueuedAtNs: number;
  /** Monotonic ns after which the request must not start. */
  readonly deadlineNs: number;
  /** Set when the client disconnected: drop instead of running. */
  cancelled: boolean;
  resolve(result: R): void;
  reject(error: unknown): void;
}

export type Dropped<P, R> = {
  readonly request: QueuedRequest<P, R>;
  readonly reason: 'expired' | 'cancelled';
};

export class RequestQueue<P, R> implements QueueView {
  private readonly levels: RingBuffer<QueuedRequest<P, R>>[];
  private total = 0;

  constructor(
    readonly priorityLevels: number,
    /** Per level. */
    readonly maxQueueSize: number,
  ) {
    this.levels = Array.from({ length: priorityLevels }, () => new RingBuffer<QueuedRequest<P, R>>(64));
  }

  get length(): number {
    return this.total;
  }

  /** Requests waiting at one priority level. */
  depth(priority: number): number {
    return this.levels[priority - 1]!.length;
  }

  /** Adds a request; false when its level is full (the caller rejects it at once). */
  offer(request: QueuedRequest<P, R>): boolean {
    const level = this.levels[request.priority - 1]!;
    if (level.length >= this.maxQueueSize) return false;
    level.push(request);
    this.total++;
    return true;
  }

  /** The i-th request in dispatch order. */
  at(index: number): QueuedRequest<P, R> {
    let i = index;
    for (const level of this.levels) {
      if (i < level.length) return level.at(i);
      i -= level.length;
    }
    throw new RangeError(`queue index ${index} out of range (${this.total})`);
  }

  rowsAt(index: number): number {
    return this.at(index).rows;
  }

  enqueuedAtNs(index: number): number {
    return this.at(index).enqueuedAtNs;
  }

  /**
   * Drops expired and cancelled requests waiting at the head of each level, so the batching
   * decision looks at live requests. (Ones deeper in a level are dropped by take().)
   */
  dropDeadHeads(nowNs: number, onDrop: (dropped: Dropped<P, R>) => void): void {
    for (const level of this.levels) {
      let head = level.peek();
      while (head !== undefined && (head.cancelled || head.deadlineNs <= nowNs)) {
        level.shift();
        this.total--;
        onDrop({ request: head, reason: head.cancelled ? 'cancelled' : 'expired' });
        head = level.peek();
      }
    }
  }

  /** Removes the first `count` requests in dispatch order; returns the live ones, drops the rest. */
  take(count: number, nowNs: number, onDrop: (dropped: Dropped<P, R>) => void): QueuedRequest<P, R>[] {
    const taken: QueuedRequest<P, R>[] = [];
    let remaining = count;
    for (const level of this.levels) {
      while (remaining > 0 && level.length > 0) {
        const request = level.shift()!;
        this.total--;
        remaining--;
        if (request.cancelled || request.deadlineNs <= nowNs) {
          onDrop({ request, reason: request.cancelled ? 'cancelled' : 'expired' });
        } else {
          taken.push(request);
        }
      }
      if (remaining === 0) break;
    }
    return taken;
  }

  /** Removes everything (shutdown); returns what was queued. */
  drain(): QueuedRequest<P, R>[] {
    const all: QueuedRequest<P, R>[] = [];
    for (const level of this.levels) {
      let r = level.shift();
      while (r !== undefined) {
        all.push(r);
        r = level.shift();
      }
    }
    this.total = 0;
    return all;
  }
}
