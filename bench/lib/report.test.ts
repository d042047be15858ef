import { describe, expect, it } from 'vitest';
import { evaluateTargets, pairedRatio, sliceSeconds, slicesPerRound } from './http-scenario.ts';
import { renderMarkdown } from './report.ts';
import type { HttpRow, ScenarioResult, ServerFigures } from './types.ts';
import type { LatencyUs, WrkResult } from './wrk.ts';

const latency = (p50: number, p99: number): LatencyUs => ({
  min: 1,
  max: p99 * 2,
  mean: p50,
  stdev: 1,
  p50,
  p90: p99 / 2,
  p99,
  p999: p99 * 1.5,
});

function figures(rps: number, cpuUs: number, idle: LatencyUs): ServerFigures {
  return {
    requestsPerSecond: rps,
    requestsPerSecondMin: rps * 0.95,
    requestsPerSecondMax: rps * 1.05,
    cpuUsPerRequest: cpuUs,
    cpuUtilisation: 0.97,
    loadLatencyUs: latency(2000, 5000),
    idleLatencyUs: idle,
    idleCpuUsPerRequest: cpuUs * 1.5,
    throughputRuns: [] as WrkResult[],
    latencyRuns: [] as WrkResult[],
    cpu: [],
    latencyCpu: [],
    backgroundCores: [0.05],
  };
}

describe('pairedRatio', () => {
  const run = (requestsPerSecond: number) => ({ requestsPerSecond }) as WrkResult;

  it('is the median of the ratios of adjacent slices, not the ratio of the medians', () => {
    // The host halves both servers' speed in the second pair; the third pair favours the ceiling.
    const quiver = [run(40_000), run(20_000), run(30_000)];
    const ceiling = [run(50_000), run(25_000), run(45_000)];
    expect(pairedRatio(quiver, ceiling)).toBeCloseTo(0.8, 10); // pairs: 0.8, 0.8, 0.67
    // (The ratio of the medians, 30k / 45k = 0.67, would have compared different host states.)
  });

  it('pairs only what both sides measured, and is NaN without pairs', () => {
    expect(pairedRatio([run(10), run(30)], [run(20)])).toBe(0.5);
    expect(pairedRatio([], [])).toBeNaN();
  });

  it('cuts each round into slices of about two seconds', () => {
    expect([1, 2, 5, 6, 10].map(slicesPerRound)).toEqual([1, 1, 3, 3, 5]);
    expect([1, 2, 5, 6, 10].map(sliceSeconds)).toEqual([1, 2, 2, 2, 2]);
  });
});

describe('evaluateTargets', () => {
  const time = (quiverP99Us: number, ceilingP99Us: number) => ({
    quiverP99Us,
    ceilingP99Us,
    ownP99Us: quiverP99Us - ceilingP99Us,
    ownP50Us: 100,
  });
  it('judges the throughput ratio', () => {
    expect(evaluateTargets({ minRatio: 0.8 }, 0.85, time(0, 0))[0]).toMatchObject({
      verdict: 'pass',
      actual: '85%',
    });
    expect(evaluateTargets({ minRatio: 0.8 }, 0.5, time(0, 0))[0]!.verdict).toBe('fail');
  });
  it('judges server time by the upper bound first, then by own time, unless the run was too noisy', () => {
    const t = (q: number, c: number) =>
      evaluateTargets({ maxServerTimeP99Us: 1000 }, 1, time(q, c))[0]!.verdict;
    expect(t(900, 200)).toBe('pass');
    expect(t(1100, 200)).toBe('pass-own');
    expect(t(1500, 200)).toBe('fail');
    expect(t(9000, 5000)).toBe('inconclusive');
  });
  it("judges server time on the server's own histogram when it has a bucket at the limit", () => {
    const buckets = (within1ms: number, total: number) => [
      { le: 0.0005, count: 0 },
      { le: 0.001, count: within1ms },
      { le: 0.002, count: total },
      { le: Infinity, count: total },
    ];
    const judge = (within: number, total: number, limitUs = 1000) =>
      evaluateTargets({ maxServerTimeP99Us: limitUs }, 1, {
        ...time(5000, 200),
        measured: buckets(within, total),
      })[0]!;
    // 99.5% within 1 ms passes although the client saw a 5 ms p99; 98% fails.
    expect(judge(995, 1000)).toMatchObject({ verdict: 'pass' });
    expect(judge(995, 1000).actual).toContain('99.50% of 1000 ≤ 1 ms, p99 ≤ 1 ms');
    expect(judge(995, 1000).actual).toContain('client-observed p99 ≤ 5.00 ms');
    expect(judge(980, 1000)).toMatchObject({ verdict: 'fail' });
    expect(judge(980, 1000).actual).toContain('p99 ≤ 2 ms');
    // No bucket at 1.5 ms: the client-side figures decide.
    expect(judge(995, 1000, 1500).verdict).toBe('fail');
  });
});

describe('renderMarkdown', () => {
  it('renders one line per row, flags invalid rows and prints the footnotes', () => {
    const row: HttpRow = {
      scenario: 'features-1',
      variant: 'lmdb',
      connections: 32,
      requestBodies: 1000,
      responseBytes: 2042,
      quiver: figures(20_000, 45, latency(150, 400)),
      ceiling: figures(25_000, 36, latency(60, 120)),
      ratio: 0.8,
      cpuRatio: 0.8,
      serverTime: { quiverP99Us: 400, ceilingP99Us: 120, ownP99Us: 280, ownP50Us: 90 },
      limits: [{ label: 'lmdb read(1 key)', usPerOp: 1.9 }],
      targets: evaluateTargets({ minRatio: 0.8 }, 0.8, {
        quiverP99Us: 400,
        ceilingP99Us: 120,
        ownP99Us: 280,
        ownP50Us: 90,
      }),
      ok: false,
      problems: ['quiver throughput run 1: 3 socket errors'],
    };
    const result: ScenarioResult = {
      id: 'features-1:lmdb',
      description: 'test',
      startedAt: '2026-01-01T00:00:00.000Z',
      finishedAt: '2026-01-01T00:01:00.000Z',
      settings: {
        seconds: 10,
        latencySeconds: 5,
        warmupSeconds: 2,
        repeats: 2,
        connections: 32,
        profile: false,
        dataDir: '/d',
        resultsDir: '/r',
      },
      machine: { node: 'v20', cpus: 2, cpuModel: 'cpu', loadAvgBefore: [1], loadAvgAfter: [1], wrk: 'wrk 4' },
      rows: [row],
      warnings: ['features-1:lmdb: quiver throughput run 1: 3 socket errors'],
    };
    const md = renderMarkdown([result]);
    expect(md).toContain(
      '| ⚠ features-1 | lmdb | 20,000 | 25,000 | 80% | 45.0 / 36.0 | 80% | 1.9 | 0.40 ms / 0.28 ms · 0.09 ms | 67.5 / 54.0 |',
    );
    expect(md).toContain('✅ req/s ≥ 80% of ceiling (80%)');
    expect(md).toContain('**⚠ INVALID: 1 row(s)');
    expect(md).toContain('2. Server CPU time per request');
    expect(md).toContain('CPUs: not pinned');

    const pinned = renderMarkdown([
      { ...result, rows: [{ ...row, pinning: { eventLoopCpu: 0, otherCpus: '1', otherThreads: 10 } }] },
    ]);
    expect(pinned).toContain(
      "CPUs: each server's event loop alone on CPU 0; its other threads (V8 and libuv helpers) and wrk on CPU 1",
    );
    expect(pinned).not.toContain('not pinned');
  });
});
