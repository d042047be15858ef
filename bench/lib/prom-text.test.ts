import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  bucketsDelta,
  bucketTotal,
  countWithin,
  histogramDelta,
  parsePromText,
  quantileBound,
  sumOf,
  valueOf,
} from './prom-text.ts';

describe('parsePromText', () => {
  it('reads what prom-client writes: labels, histograms, gauges', async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: 'x_rows',
      help: 'h',
      labelNames: ['model'],
      buckets: [1, 10],
      registers: [registry],
    });
    const g = new Gauge({ name: 'x_lag_seconds', help: 'g', registers: [registry] });
    h.observe({ model: 'a' }, 4);
    h.observe({ model: 'a' }, 6);
    h.observe({ model: 'b' }, 100);
    g.set(0.0125);
    const samples = parsePromText(await registry.metrics());
    expect(sumOf(samples, 'x_rows_sum', { model: 'a' })).toBe(10);
    expect(sumOf(samples, 'x_rows_count', { model: 'a' })).toBe(2);
    expect(sumOf(samples, 'x_rows_count')).toBe(3);
    expect(sumOf(samples, 'x_rows_bucket', { model: 'b', le: '+Inf' })).toBe(1);
    expect(valueOf(samples, 'x_lag_seconds')).toBe(0.0125);
    expect(valueOf(samples, 'absent')).toBeNaN();
    expect(sumOf(samples, 'absent')).toBe(0);
  });

  it('unescapes label values and skips comments and blank lines', () => {
    const samples = parsePromText('# HELP a b\n\na{route="/x \\"y\\"",k="v"} 3\nb +Inf\n');
    expect(samples).toEqual([
      { name: 'a', labels: { route: '/x "y"', k: 'v' }, value: 3 },
      { name: 'b', labels: {}, value: Infinity },
    ]);
  });
});

describe('histogramDelta', () => {
  it('is what was observed between two scrapes', async () => {
    const registry = new Registry();
    const h = new Histogram({ name: 'y', help: 'h', labelNames: ['model'], registers: [registry] });
    const c = new Counter({ name: 'z_total', help: 'c', registers: [registry] });
    h.observe({ model: 'm' }, 100);
    const before = parsePromText(await registry.metrics());
    h.observe({ model: 'm' }, 2);
    h.observe({ model: 'm' }, 4);
    h.observe({ model: 'other' }, 1000);
    c.inc();
    const after = parsePromText(await registry.metrics());
    expect(histogramDelta(before, after, 'y', { model: 'm' })).toEqual({ sum: 6, count: 2, mean: 3 });
    expect(histogramDelta(after, after, 'y', { model: 'm' }).mean).toBeNaN();
  });
});

describe('bucketsDelta and quantileBound', () => {
  it('give the cumulative bucket counts of what was observed between two scrapes, and a bound of a quantile', async () => {
    const registry = new Registry();
    const h = new Histogram({
      name: 't_seconds',
      help: 'h',
      labelNames: ['code'],
      buckets: [0.001, 0.01, 0.1],
      registers: [registry],
    });
    h.observe({ code: 'A' }, 0.5); // before: not counted
    const before = parsePromText(await registry.metrics());
    for (let i = 0; i < 98; i++) h.observe({ code: 'A' }, 0.0005);
    h.observe({ code: 'A' }, 0.005);
    h.observe({ code: 'A' }, 0.05);
    h.observe({ code: 'B' }, 0.05);
    const after = parsePromText(await registry.metrics());
    const buckets = bucketsDelta(before, after, 't_seconds', { code: 'A' });
    expect(buckets).toEqual([
      { le: 0.001, count: 98 },
      { le: 0.01, count: 99 },
      { le: 0.1, count: 100 },
      { le: Infinity, count: 100 },
    ]);
    expect(quantileBound(buckets, 0.98)).toBe(0.001);
    expect(quantileBound(buckets, 0.99)).toBe(0.01);
    expect(quantileBound(bucketsDelta(after, after, 't_seconds', { code: 'A' }), 0.99)).toBeNaN();
  });
});

describe('bucketTotal and countWithin', () => {
  const buckets = [
    { le: 0.0005, count: 3 },
    { le: 0.001, count: 9 },
    { le: 0.002, count: 10 },
    { le: Infinity, count: 11 },
  ];
  it('count all observations and those within a bound the histogram has', () => {
    expect(bucketTotal(buckets)).toBe(11);
    expect(bucketTotal([])).toBe(0);
    // 1 ms spelled as the product of a computation still finds the 0.001 bucket.
    expect(countWithin(buckets, 1000 / 1e6)).toBe(9);
    expect(countWithin(buckets, 0.002)).toBe(10);
    expect(countWithin(buckets, 0.0015)).toBeUndefined();
  });
});
