/**
 * The dynamic batcher of one model: admits requests into its priority queue, and whenever a runner
 * is free asks the policy (policy.ts) what to do — flush n requests, wait, or nothing — then runs
 * the batch through the executor and hands each request its own outcome. The loop holds no rules of
 * its own: it only dequeues, sets timers and counts runners.
 *
 * @example
 *   const batcher = new Batcher({ name: 'fraud', policy, concurrency: 2, queue, executor });
 *   const result = await batcher.submit(payload, rows, { priority: 1, timeoutMs: 50, cancellation });
 */
import { RequestQueue, type Dropped, type QueuedRequest } from '../admission/request-queue.ts';
import { DeadlineSweeper } from '../admission/deadline-sweeper.ts';
import { droppedError, queueFullError, shedError } from '../admission/rejections.ts';
import { DrainRate, retryAfterS } from '../admission/retry-after.ts';
import {
  INITIAL_SHEDDING_STATE,
  shouldShed,
  type SheddingPolicy,
  type SheddingState,
} from '../admission/shedding.ts';
import { quiverError, type QuiverError } from '../errors.ts';
import {
  channels,
  type AdmissionRejectEvent,
  type BatchDoneEvent,
  type BatchFlushEvent,
} from '../metrics/events.ts';
import { decide, type BatchingPolicy } from './policy.ts';

/** Runs one batch. Returns one outcome per payload, by position: its result, or its own error. */
export interface BatchExecutor<P, R> {
  execute(payloads: readonly P[], rows: number): Promise<(R | Error)[]>;
}

export interface QueuePolicy {
  readonly priorityLevels: number;
  readonly defaultPriority: number;
  readonly maxQueueSize: number;
  readonly defaultTimeoutMs: number;
  /** CoDel-style adaptive shedding; off when absent. */
  readonly shedding?: SheddingPolicy;
}

export interface BatcherOptions<P, R> {
  readonly name: string;
  readonly policy: BatchingPolicy;
  readonly queue: QueuePolicy;
  /** Batches in flight at once: the model's runner count. */
  readonly concurrency: number;
  readonly executor: BatchExecutor<P, R>;
  /** Monotonic clock in ns (injectable for tests). */
  readonly nowNs?: () => number;
}

export interface SubmitOptions {
  /** 1 = highest; default from the queue policy. Out-of-range values are clamped. */
  readonly priority?: number;
  /** May only shorten the model's defaultTimeoutMs. */
  readonly timeoutMs?: number;
  /** Lets the caller cancel the request later (client disconnect) with cancelSubmitted(). */
  readonly cancellation?: Cancellation;
}

/**
 * A caller's handle to cancel what it submitted: submit() records the queued request and its
 * batcher here, and cancelSubmitted() drops it if no runner has taken it yet. A plain object the
 * caller may already have (the raw HTTP path's request state), where an AbortController costs an
 * EventTarget and a listener closure per request: 8% of the main thread at 256 connections.
 */
export interface Cancellation {
  cancelled?: boolean;
  /** Set by submit(); opaque to the caller. */
  queued?: object;
  /** Set by submit(): the batcher holding the request. */
  owner?: { cancel(cancellation: Cancellation): void };
}

/** Cancels what was submitted with `cancellation`, on whichever batcher took it (or, before submit, marks it refused). */
export function cancelSubmitted(cancellation: Cancellation): void {
  if (cancellation.owner !== undefined) cancellation.owner.cancel(cancellation);
  else cancellation.cancelled = true;
}

export interface BatcherStats {
  readonly queued: number;
  readonly inFlight: number;
  readonly batches: number;
  readonly rows: number;
  readonly requests: number;
  /** Requests rejected by adaptive shedding. */
  readonly shed: number;
}

const monotonicNs = (): number => performance.now() * 1e6;

export class Batcher<P, R> {
  readonly name: string;
  private readonly queue: RequestQueue<P, R>;
  private readonly nowNs: () => number;
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAtNs = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  private counters = { batches: 0, rows: 0, requests: 0, shed: 0 };
  private readonly onDrop = (dropped: Dropped<P, R>): void => this.dropped(dropped);
  private readonly drain = new DrainRate();
  private shedding: SheddingState = INITIAL_SHEDDING_STATE;
  private readonly sweeper: DeadlineSweeper;

  constructor(private readonly options: BatcherOptions<P, R>) {
    this.name = options.name;
    this.queue = new RequestQueue(options.queue.priorityLevels, options.queue.maxQueueSize);
    this.nowNs = options.nowNs ?? monotonicNs;
    this.sweeper = new DeadlineSweeper(
      this.nowNs,
      (now) => this.queue.sweep(now, this.onDrop),
      () => this.notifyIdle(),
    );
  }

  get stats(): BatcherStats {
    return { queued: this.queue.length, inFlight: this.inFlight, ...this.counters };
  }

  /** Queue depth per priority level (1-based index 0 = priority 1). */
  depths(): number[] {
    return Array.from({ length: this.queue.priorityLevels }, (_, i) => this.queue.depth(i + 1));
  }

  private priorityOf(options: SubmitOptions): number {
    const q = this.options.queue;
    return Math.min(q.priorityLevels, Math.max(1, Math.trunc(options.priority ?? q.defaultPriority)));
  }

  /**
   * The queue-full rejection submit() would give right now, or undefined. Lets the HTTP layer
   * refuse an overloaded model's request from its headers, before reading and parsing its body
   * (load shedding at the door). Counted and published like any queue-full rejection; passing does
   * not reserve a slot (submit checks again).
   */
  refuseIfFull(options: SubmitOptions = {}): QuiverError | undefined {
    const priority = this.priorityOf(options);
    const q = this.options.queue;
    if (this.closed || this.queue.depth(priority) < q.maxQueueSize) return undefined;
    this.publishReject(priority, 'queue_full');
    return queueFullError(this.name, priority, q.maxQueueSize, this.retryAfterS(priority));
  }

  submit(payload: P, rows: number, options: SubmitOptions = {}): Promise<R> {
    const q = this.options.queue;
    const priority = this.priorityOf(options);
    if (this.closed) {
      this.publishReject(priority, 'closed');
      return Promise.reject(quiverError('QUIVER_ERR_SHUTTING_DOWN', {}, { retryAfterS: 1 }));
    }
    if (options.cancellation?.cancelled === true)
      return Promise.reject(quiverError('QUIVER_ERR_CLIENT_CLOSED_REQUEST'));
    const timeoutMs = Math.min(q.defaultTimeoutMs, options.timeoutMs ?? q.defaultTimeoutMs);
    const now = this.nowNs();
    return new Promise<R>((resolve, reject) => {
      const request: QueuedRequest<P, R> = {
        payload,
        rows,
        priority,
        enqueuedAtNs: now,
        deadlineNs: now + timeoutMs * 1e6,
        cancelled: false,
        resolve,
        reject,
      };
      if (!this.queue.offer(request)) {
        this.publishReject(priority, 'queue_full');
        reject(queueFullError(this.name, priority, q.maxQueueSize, this.retryAfterS(priority)));
        return;
      }
      if (options.cancellation !== undefined) {
        options.cancellation.queued = request;
        options.cancellation.owner = this;
      }
      this.pump();
      // Still queued (no runner took it): a sweep drops it at its deadline if it is still there.
      if (this.queue.length > 0) this.sweeper.watch(request.deadlineNs, now);
    });
  }

  /** Stops admitting; everything already admitted still runs. Resolves when the queue is empty and idle. */
  close(): Promise<void> {
    this.closed = true;
    this.pump();
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops at once: queued requests fail with QUIVER_ERR_SHUTTING_DOWN. In-flight batches finish. */
  destroy(): void {
    this.closed = true;
    this.clearTimer();
    this.sweeper.stop();
    for (const request of this.queue.drain())
      request.reject(quiverError('QUIVER_ERR_SHUTTING_DOWN', {}, { retryAfterS: 1 }));
    this.notifyIdle();
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency) {
      const now = this.nowNs();
      this.queue.dropDeadHeads(now, this.onDrop);
      const decision = decide(this.queue, now, true, this.options.policy);
      if (decision.kind === 'idle') break;
      if (decision.kind === 'wait') {
        if (this.closed) {
          // Draining: nothing more will arrive, so waiting for a fuller batch only adds latency.
          this.dispatch(this.queue.take(this.queue.length, now, this.onDrop), now);
          continue;
        }
        this.armTimer(now, decision.waitUs);
        break;
      }
      this.dispatch(this.queue.take(decision.requests, now, this.onDrop), now);
    }
    this.notifyIdle();
  }

  private dispatch(batch: QueuedRequest<P, R>[], now: number): void {
    if (batch.length === 0) return;
    let rows = 0;
    let oldestNs = now;
    for (const r of batch) {
      rows += r.rows;
      if (r.enqueuedAtNs < oldestNs) oldestNs = r.enqueuedAtNs;
    }
    if (this.options.queue.shedding !== undefined) {
      // Queueing delay = the longest wait among the requests just dequeued AND those still queued.
      this.maybeShed((now - Math.min(oldestNs, this.queue.oldestEnqueuedNs())) / 1000, now);
    }
    this.inFlight++;
    this.counters.batches++;
    this.counters.rows += rows;
    this.counters.requests += batch.length;
    if (channels.batchFlush.hasSubscribers) {
      channels.batchFlush.publish({
        model: this.name,
        requests: batch.length,
        rows,
        queueDelayUs: (now - oldestNs) / 1000,
      } satisfies BatchFlushEvent);
    }
    void this.run(batch, rows, now);
  }

  private async run(batch: QueuedRequest<P, R>[], rows: number, startNs: number): Promise<void> {
    let failed = false;
    try {
      const outcomes = await this.executeIsolated(batch, rows);
      for (let i = 0; i < batch.length; i++) {
        const outcome = outcomes[i];
        if (outcome instanceof Error) {
          failed = true;
          batch[i]!.reject(outcome);
        } else batch[i]!.resolve(outcome as R);
      }
    } catch (err) {
      failed = true;
      for (const request of batch) request.reject(err);
    } finally {
      this.inFlight--;
      const durationUs = (this.nowNs() - startNs) / 1000;
      this.drain.observe(batch.length, durationUs);
      if (channels.batchDone.hasSubscribers) {
        channels.batchDone.publish({ model: this.name, rows, durationUs, failed } satisfies BatchDoneEvent);
      }
      this.pump();
    }
  }

  /**
   * A failing batch of several requests is re-run one request at a time, so one bad request fails
   * alone and never takes the others in its batch down with it.
   */
  private async executeIsolated(batch: QueuedRequest<P, R>[], rows: number): Promise<(R | Error)[]> {
    const payloads = batch.map((r) => r.payload);
    try {
      return await this.options.executor.execute(payloads, rows);
    } catch (err) {
      if (batch.length === 1) throw err;
      const outcomes: (R | Error)[] = [];
      for (const request of batch) {
        try {
          const [outcome] = await this.options.executor.execute([request.payload], request.rows);
          outcomes.push(outcome!);
        } catch (single) {
          outcomes.push(single instanceof Error ? single : new Error(String(single)));
        }
      }
      return outcomes;
    }
  }

  /**
   * One CoDel decision per dequeued batch. Its sojourn is the longest wait among the requests just
   * dequeued and those still queued: with strict priority, high-priority requests are dequeued
   * almost at once, and their short waits must not hide a standing low-priority queue. A "shed"
   * rejects the longest-waiting request of the lowest non-empty level, never a higher level while a
   * lower one holds requests.
   */
  private maybeShed(sojournUs: number, now: number): void {
    const decision = shouldShed(this.shedding, sojournUs, now, this.options.queue.shedding!);
    this.shedding = decision.state;
    if (!decision.shed) return;
    const victim = this.queue.shedLowest(now, this.onDrop);
    if (victim === undefined) return;
    this.counters.shed++;
    this.publishReject(victim.priority, 'shed');
    victim.reject(shedError(this.name, victim.priority, this.retryAfterS(victim.priority)));
  }

  /** Seconds until what is queued at `priority` or higher has drained (Retry-After). */
  private retryAfterS(priority: number): number {
    return retryAfterS(this.queue.depthUpTo(priority), this.drain.perSecond(this.options.concurrency));
  }

  /**
   * Client gone: marks the request and lets a sweep drop it now, freeing its queue slot. A request
   * a runner already took finishes (its answer is dropped); one not yet submitted is refused.
   */
  cancel(cancellation: Cancellation): void {
    cancellation.cancelled = true;
    const request = cancellation.queued as QueuedRequest<P, R> | undefined;
    if (request === undefined || request.cancelled) return;
    request.cancelled = true;
    this.sweeper.soon();
  }

  private dropped(dropped: Dropped<P, R>): void {
    this.publishReject(dropped.request.priority, dropped.reason);
    dropped.request.reject(droppedError(this.name, dropped));
  }

  private publishReject(priority: number, reason: AdmissionRejectEvent['reason']): void {
    if (channels.admissionReject.hasSubscribers) {
      channels.admissionReject.publish({ model: this.name, priority, reason } satisfies AdmissionRejectEvent);
    }
  }

  private armTimer(nowNs: number, waitUs: number): void {
    const dueNs = nowNs + waitUs * 1000;
    if (this.timer !== undefined && this.timerAtNs <= dueNs) return;
    this.clearTimer();
    this.timerAtNs = dueNs;
    // Node timers have 1 ms resolution: a wait below 1 ms fires on the next timer tick.
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.pump();
      },
      Math.ceil(waitUs / 1000),
    );
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private notifyIdle(): void {
    if (this.idleWaiters.length === 0 || this.queue.length > 0 || this.inFlight > 0) return;
    this.clearTimer();
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
