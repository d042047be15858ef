/**
 * Per-model request queue: one bounded FIFO per priority level (1 = highest), drained in strict
 * priority order. It is the batching policy's QueueView, so decide() sees requests in dispatch order.
 * Requests whose deadline passed or whose client went away are removed before execution (take()),
 * so they never reach the model, and sweep() removes them wherever they wait, so their client hears
 * about it at the deadline rather than when the request would have reached the head.
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

const isDead = (request: QueuedRequest<unknown, unknown>, nowNs: number): boolean =>
  request.cancelled || request.deadlineNs <= nowNs;

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

  /** Requests waiting at `priority` or higher (those that run before a new one at `priority`). */
  depthUpTo(priority: number): number {
    let n = 0;
    for (let p = 0; p < priority && p < this.levels.length; p++) n += this.levels[p]!.length;
    return n;
  }

  /** Monotonic enqueue time of the request that has waited longest, at any level; Infinity if empty. */
  oldestEnqueuedNs(): number {
    let oldest = Number.POSITIVE_INFINITY;
    for (const level of this.levels) {
      const head = level.peek();
      if (head !== undefined && head.enqueuedAtNs < oldest) oldest = head.enqueuedAtNs;
    }
    return oldest;
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
      while (head !== undefined && isDead(head, nowNs)) {
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
        if (isDead(request, nowNs)) {
          onDrop({ request, reason: request.cancelled ? 'cancelled' : 'expired' });
        } else {
          taken.push(request);
        }
      }
      if (remaining === 0) break;
    }
    return taken;
  }

  /**
   * Removes the live request that waited longest at the LOWEST non-empty priority level (adaptive
   * shedding); dead requests met on the way are dropped as usual. Undefined when nothing is live.
   */
  shedLowest(nowNs: number, onDrop: (dropped: Dropped<P, R>) => void): QueuedRequest<P, R> | undefined {
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const level = this.levels[p]!;
      let request = level.shift();
      while (request !== undefined) {
        this.total--;
        if (!isDead(request, nowNs)) return request;
        onDrop({ request, reason: request.cancelled ? 'cancelled' : 'expired' });
        request = level.shift();
      }
    }
    return undefined;
  }

  /**
   * Drops every expired or cancelled request wherever it waits. Returns the earliest deadline among
   * those left (Infinity when none), for the caller's next sweep. O(length).
   */
  sweep(nowNs: number, onDrop: (dropped: Dropped<P, R>) => void): number {
    let earliest = Number.POSITIVE_INFINITY;
    const removed = (request: QueuedRequest<P, R>): void => {
      this.total--;
      onDrop({ request, reason: request.cancelled ? 'cancelled' : 'expired' });
    };
    for (const level of this.levels) {
      level.removeWhere((request) => {
        if (isDead(request, nowNs)) return true;
        if (request.deadlineNs < earliest) earliest = request.deadlineNs;
        return false;
      }, removed);
    }
    return earliest;
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
