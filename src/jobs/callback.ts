/**
 * Optional completion callbacks: once a job is final, its record (the same JSON as GET /v1/jobs/{id})
 * is POSTed to the `callback_url` given at enqueue — once, with a timeout, never retried (a client
 * that must not miss a result polls GET /v1/jobs/{id}). Only http: and https: URLs are accepted.
 */
import { quiverError } from '../errors.ts';
import type { Logger } from '../metrics/logger.ts';
import type { JobView } from './job.ts';

const MAX_URL_LENGTH = 2048;

/** The validated callback URL of an enqueue body, or undefined when none was given. */
export function callbackUrl(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  let url: URL | undefined;
  if (typeof value === 'string' && value.length <= MAX_URL_LENGTH) {
    try {
      url = new URL(value);
    } catch {
      url = undefined;
    }
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: '"callback_url" must be an absolute http:// or https:// URL',
    });
  }
  return url.toString();
}

export class CallbackSender {
  readonly #pending = new Set<Promise<void>>();

  constructor(private readonly options: { readonly timeoutMs: number; readonly logger?: Logger }) {}

  /** POSTs the job's view to `url` in the background (awaited by close()). */
  send(url: string, view: JobView): void {
    const sent = this.#post(url, view);
    this.#pending.add(sent);
    void sent.finally(() => this.#pending.delete(sent));
  }

  /** Waits for callbacks in flight (each bounded by timeoutMs). */
  async close(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  async #post(url: string, view: JobView): Promise<void> {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'quiver-jobs' },
        body: JSON.stringify(view),
        signal: AbortSignal.timeout(this.options.timeoutMs),
        redirect: 'manual',
      });
      await res.arrayBuffer();
      if (!res.ok)
        this.options.logger?.warn({ job: view.id, status: res.status }, 'job callback answered non-2xx');
    } catch (err) {
      this.options.logger?.warn(
        { job: view.id, err: err instanceof Error ? err.message : String(err) },
        'job callback failed (not retried)',
      );
    }
  }
}
