/**
 * Retry-After for a rejected request, estimated from how fast the queue drains: the work ahead of a
 * retry divided by the drain rate, in whole seconds (the header's unit), at least 1. The drain rate
 * comes from the observed service time per request (an EWMA over finished batches), so it is the
 * model's capacity, not its recent arrival rate: it stays right after an idle spell.
 *
 * @example
 *   const drain = new DrainRate();
 *   drain.observe(8, 4_000);               // a batch of 8 requests ran in 4 ms
 *   retryAfterS(4_000, drain.perSecond(1)); // 4,000 queued ahead at 2,000 req/s → 2
 */

/** Upper bound of an estimate: past this the figure says "much later", not a schedule. */
export const MAX_RETRY_AFTER_S = 60;

/** EWMA weight of the newest batch. */
const ALPHA = 0.2;

export class DrainRate {
  private usPerRequest = 0;

  /** A batch of `requests` requests ran for `durationUs` on one runner. */
  observe(requests: number, durationUs: number): void {
    if (requests <= 0 || !(durationUs >= 0)) return;
    const sample = durationUs / requests;
    this.usPerRequest =
      this.usPerRequest === 0 ? sample : this.usPerRequest + ALPHA * (sample - this.usPerRequest);
  }

  /** Requests per second the queue drains at with `runners` batches in flight; 0 while unknown. */
  perSecond(runners: number): number {
    return this.usPerRequest > 0 ? (runners * 1e6) / this.usPerRequest : 0;
  }
}

/** Seconds until the `ahead` requests queued before a retry have drained; 1 while the rate is unknown. */
export function retryAfterS(ahead: number, drainPerS: number): number {
  if (!(drainPerS > 0)) return 1;
  return Math.min(MAX_RETRY_AFTER_S, Math.max(1, Math.ceil(ahead / drainPerS)));
}
