import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { FastCounter, FastHistogram } from './fast-metrics.ts';

/** The same metrics, once from prom-client and once from fast-metrics, in two registries. */
function twins() {
  const reference = new Registry();
  const fast = new Registry();
  const buckets = [0.1, 0.5, 1, 10];
  const spec = { name: 'q_seconds', help: 'time "quoted" \\ help', labelNames: ['route', 'code'] as const };
  return {
    reference,
    fast,
    h: [
      new Histogram({ ...spec, buckets, registers: [reference] }),
      new FastHistogram({ ...spec, buckets, registers: [fast] }),
    ] as const,
    c: [
      new Counter({ name: 'q_total', help: 'n', labelNames: ['route'] as const, registers: [reference] }),
      new FastCounter({ name: 'q_total', help: 'n', labelNames: ['route'] as const, registers: [fast] }),
    ] as const,
    plain: [
      new Histogram({ name: 'q_plain', help: 'p', buckets: [1, 2], registers: [reference] }),
      new FastHistogram({ name: 'q_plain', help: 'p', buckets: [1, 2], registers: [fast] }),
    ] as const,
  };
}

describe('fast metrics', () => {
  it("expose exactly prom-client's lines for the same observations, bucket edges and odd labels included", async () => {
    const { reference, fast, h, c, plain } = twins();
    const observations: [string, string, number][] = [
      ['/a', '200', 0.1], // on a bound: counted in le="0.1" (bounds are inclusive)
      ['/a', '200', 0.05],
      ['/a', '200', 7],
      ['/a', '200', 11], // above every bound: only +Inf
      ['/b "x"\n', 'E\\1', 0.5],
      ['/a', '500', 1],
    ];
    for (const [route, code, v] of observations) {
      h[0].labels(route, code).observe(v);
      h[1].labels(route, code).observe(v);
      c[0].inc({ route }, 2);
      c[1].inc({ route }, 2);
    }
    h[0].observe({ route: '/c', code: '204' }, 3);
    h[1].observe({ route: '/c', code: '204' }, 3);
    plain[0].observe(1.5);
    plain[1].labels().observe(1.5);
    const expected = await reference.metrics();
    expect(expected).toContain('q_seconds_bucket{le="0.1",route="/a",code="200"} 2');
    expect(await fast.metrics()).toBe(expected);
  });

  it('export an unlabelled metric as zero before its first use, like prom-client', async () => {
    const { reference, fast } = twins();
    expect(await fast.metrics()).toBe(await reference.metrics());
  });

  it('refuse a wrong number of label values', () => {
    const { h } = twins();
    expect(() => h[1].labels('/only-route')).toThrow('q_seconds: expected 2 label values, got 1');
  });

  it('start again from zero on reset', async () => {
    const { reference, fast, h } = twins();
    h[0].labels('/a', '200').observe(1);
    h[1].labels('/a', '200').observe(1);
    reference.resetMetrics();
    fast.resetMetrics();
    expect(await fast.metrics()).toBe(await reference.metrics());
  });
});
