/**
 * Prometheus metrics. Hot code mostly does not import prom-client: it publishes on diagnostics
 * channels (metrics/events.ts), is observed through Fastify's onResponse hook, or (the raw fast
 * path) uses label children bound once. What is recorded per request or per batch uses
 * fast-metrics.ts (same exposition, a fraction of the cost); prom-client serves the registry, the
 * process metrics and the rest.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { FastCounter, FastHistogram } from './fast-metrics.ts';
import { subscribeMetrics } from './subscriptions.ts';

/**
 * 100 µs to 1 s: the hot routes answer in well under a millisecond, refusals must too. 1 ms and 2 ms
 * are bounds because they are targets (a p99 ≤ 1 ms holds exactly when ≥ 99% fall in `le="0.001"`).
 */
const HTTP_SECONDS_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];

export class Metrics {
  readonly registry = new Registry();
  readonly httpRequests = new FastCounter({
    name: 'quiver_http_requests_total',
    help: 'HTTP requests by route and status code',
    labelNames: ['route', 'status'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new FastHistogram({
    name: 'quiver_http_request_duration_seconds',
    help: 'Server-side time per HTTP request by route and status code (from the request event to the answer written)',
    labelNames: ['route', 'status'] as const,
    buckets: HTTP_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly httpErrorDuration = new FastHistogram({
    name: 'quiver_http_error_duration_seconds',
    help: 'Server-side time to answer a request with an error, by route and error code (how fast overload is refused)',
    labelNames: ['route', 'code'] as const,
    buckets: HTTP_SECONDS_BUCKETS,
    registers: [this.registry],
  });
  readonly storeRows = new Counter({
    name: 'quiver_store_rows_written_total',
    help: 'Rows written to the online store by view and origin (push)',
    labelNames: ['view', 'origin'] as const,
    registers: [this.registry],
  });
  readonly ready = new Gauge({
    name: 'quiver_ready',
    help: '1 when the server is ready to serve',
    registers: [this.registry],
  });

  /** Stops listening to the diagnostics channels (one Metrics per server; tests start many). */
  readonly unsubscribe: () => void;

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'quiver_' });
    this.unsubscribe = subscribeMetrics(this.registry);
  }
}
