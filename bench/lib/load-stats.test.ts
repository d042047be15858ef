import { describe, expect, it } from 'vitest';
import {
  outcomes,
  percentile,
  recoveryAfter,
  scheduledLatency,
  select,
  sentLatency,
  summarise,
} from './load-stats.ts';
import { CODES, type LoadResult } from './open-loop.ts';

/** A run from [scheduledMs, latencyMs, status, code] entries (sent 0.5 ms after scheduled). */
function resultOf(
  entries: readonly (readonly [number, number, number, (typeof CODES)[number]?])[],
): LoadResult {
  return {
    phaseNames: ['only'],
    phaseStartMs: [0],
    phase: new Uint8Array(entries.length),
    scheduledMs: Float64Array.from(entries.map((e) => e[0])),
    sentMs: Float64Array.from(entries.map((e) => e[0] + 0.5)),
    doneMs: Float64Array.from(entries.map((e) => e[0] + e[1])),
    status: Uint16Array.from(entries.map((e) => e[2])),
    priority: Uint8Array.from(entries.map((_, i) => (i % 2 === 0 ? 1 : 2))),
    code: Uint8Array.from(entries.map((e) => CODES.indexOf(e[3] ?? ''))),
  };
}

describe('percentile', () => {
  it('is the exact nearest-rank percentile', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile(values, 0)).toBe(1);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it('summarise gives count, p50, p99 and max', () => {
    expect(summarise([3, 1, 2])).toEqual({ count: 3, p50Ms: 2, p99Ms: 3, maxMs: 3 });
    expect(summarise([]).maxMs).toBeNaN();
  });
});

describe('run records', () => {
  const r = resultOf([
    [0, 5, 200],
    [10, 1, 503, 'QUIVER_ERR_QUEUE_FULL'],
    [20, 30, 504, 'QUIVER_ERR_DEADLINE_EXCEEDED'],
    [30, 2, 503, 'QUIVER_ERR_SHED'],
    [40, 9, 0, 'client'],
  ]);

  it('measures latency from the scheduled and from the actual send', () => {
    expect(scheduledLatency(r, 0)).toBe(5);
    expect(sentLatency(r, 0)).toBe(4.5);
  });

  it('selects and counts outcomes by code', () => {
    expect(select(r, (i) => r.priority[i] === 1)).toEqual([0, 2, 4]);
    expect(
      outcomes(
        r,
        select(r, () => true),
      ),
    ).toEqual({
      ok: 1,
      QUIVER_ERR_QUEUE_FULL: 1,
      QUIVER_ERR_DEADLINE_EXCEEDED: 1,
      QUIVER_ERR_SHED: 1,
      client: 1,
    });
  });
});

describe('recoveryAfter', () => {
  it('finds the first 100 ms window without errors and with p99 within the factor', () => {
    const entries: [number, number, number, (typeof CODES)[number]?][] = [];
    for (let t = 1000; t < 1100; t += 10) entries.push([t, 50, 200]); // slow
    for (let t = 1100; t < 1200; t += 10)
      entries.push([t, 5, t === 1150 ? 503 : 200, t === 1150 ? 'QUIVER_ERR_SHED' : '']); // an error
    for (let t = 1200; t < 1300; t += 10) entries.push([t, 14, 200]); // 14 ≤ 1.5 × 10
    for (let t = 1300; t < 1400; t += 10) entries.push([t, 1, 200]);
    const rec = recoveryAfter(resultOf(entries), 1000, 10);
    expect(rec.recoveryMs).toBe(300);
    expect(rec.windows.map((w) => [w.startMs, w.p99Ms, w.errors])).toEqual([
      [0, 50, 0],
      [100, 5, 1],
      [200, 14, 0],
    ]);
  });

  it('skips empty windows and says NaN when latency never comes back', () => {
    const r = resultOf([
      [1000, 99, 200],
      [1350, 99, 200],
    ]);
    const rec = recoveryAfter(r, 1000, 10);
    expect(rec.recoveryMs).toBeNaN();
    expect(rec.windows.map((w) => w.startMs)).toEqual([0, 300]);
  });
});
