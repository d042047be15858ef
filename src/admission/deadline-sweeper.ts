/**
 * Drops queued requests at their deadline (or as soon as their client went away) wherever they
 * wait, with ONE timer: armed for the earliest deadline in the queue, re-armed after each sweep for
 * the earliest deadline left. Without it, a request deep in a queue would learn it expired only
 * when it reached the head, long after its deadline. The sweep itself is the queue's
 * (RequestQueue.sweep, O(length)); this class only schedules it.
 *
 * @example
 *   const sweeper = new DeadlineSweeper(nowNs, (now) => queue.sweep(now, onDrop));
 *   sweeper.watch(request.deadlineNs, now); // after queueing a request
 *   sweeper.soon();                         // a client disconnected
 */
export class DeadlineSweeper {
  private timer: NodeJS.Timeout | undefined;
  /** When the pending timer fires (Infinity: none pending). */
  private atNs = Number.POSITIVE_INFINITY;
  private immediate: NodeJS.Immediate | undefined;
  private readonly onTimer = (): void => {
    this.timer = undefined;
    this.atNs = Number.POSITIVE_INFINITY;
    this.run();
  };
  private readonly onImmediate = (): void => {
    this.immediate = undefined;
    this.run();
  };

  constructor(
    private readonly nowNs: () => number,
    /** Drops dead requests; returns the earliest deadline left (Infinity when none). */
    private readonly sweep: (nowNs: number) => number,
    /** Called after every sweep (e.g. to resolve close() waiters once the queue emptied). */
    private readonly afterSweep: () => void = () => undefined,
  ) {}

  /** A request with this deadline is queued: make sure a sweep comes by then. */
  watch(deadlineNs: number, nowNs: number): void {
    if (deadlineNs < this.atNs) this.arm(nowNs, deadlineNs);
  }

  /** Sweep on the next turn of the event loop; several calls in one turn make one sweep. */
  soon(): void {
    this.immediate ??= setImmediate(this.onImmediate);
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    if (this.immediate !== undefined) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.atNs = Number.POSITIVE_INFINITY;
  }

  private run(): void {
    const now = this.nowNs();
    const earliest = this.sweep(now);
    if (earliest < this.atNs) this.arm(now, earliest);
    this.afterSweep();
  }

  private arm(nowNs: number, atNs: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.atNs = atNs;
    if (atNs === Number.POSITIVE_INFINITY) return;
    // Rounded up to the timers' 1 ms resolution: a request is never dropped before its deadline (a
    // timer that fires early finds nothing expired and re-arms).
    this.timer = setTimeout(this.onTimer, Math.max(1, Math.ceil((atNs - nowNs) / 1e6)));
    // A queued request keeps its HTTP exchange (and so the process) alive; the sweep need not.
    this.timer.unref();
  }
}
