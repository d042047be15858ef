import { describe, expect, it } from 'vitest';
import type { LevelRun } from './connection-levels.ts';
import type { EventLoopDelay, ModelObservation } from './model-metrics.ts';
import { buildPredictRows, renderPredictMarkdown, type PredictRunSet } from './predict-report.ts';
import type { WrkResult } from './wrk.ts';

function wrk(
  connections: number,
  rps: number,
  p50Us: number,
  p99Us: number,
  problems: string[] = [],
): WrkResult {
  return {
    connections,
    requests: rps * 10,
    durationSeconds: 10,
    requestsPerSecond: rps,
    bytes: 0,
    latencyUs: {
      min: 1,
      max: p99Us * 2,
      mean: p50Us,
      stdev: 1,
      p50: p50Us,
      p90: p99Us / 2,
      p99: p99Us,
      p999: p99Us * 2,
    },
    errors: { connect: 0, read: 0, write: 0, timeout: 0, status: 0, non2xx: 0 },
    ok: problems.length === 0,
    problems,
    source: 'lua',
  };
}

const d = (sum: number, count: number) => ({ sum, count, mean: count > 0 ? sum / count : Number.NaN });
const loop = (p99Us: number): EventLoopDelay => ({ p50Us: 100, p99Us, maxUs: p99Us * 3, meanUs: 200 });
const observed = (
  meanRows: number,
  rejected: Record<string, number> = {},
  loopP99Us = 1500,
): ModelObservation => ({
  batchRows: d(meanRows * 100, 100),
  batchRequests: d(meanRows * 100, 100),
  queueDelayUs: d(1000, 100),
  batchDurationUs: d(20_000, 100),
  computeUs: d(10_000, 100),
  handoffUs: d(5000, 100),
  rejected,
  eventLoop: loop(loopP99Us),
});

/** One round: each server at 1 and 256 connections; req/s = rps[level], CPU 1 s per run. */
function level<S>(
  connections: number,
  rps: number,
  p50Us: number,
  p99Us: number,
  obs: S,
  problems?: string[],
): LevelRun<S> {
  return {
    connections,
    wrk: wrk(connections, rps, p50Us, p99Us, problems),
    cpu: { userSeconds: 0.8, systemSeconds: 0.2, totalSeconds: 1 },
    mainThreadCpu: { userSeconds: 0.5, systemSeconds: 0.1, totalSeconds: 0.6 },
    background: 0.05,
    observed: obs,
  };
}

function runSet(on256: number, p99On256: number, p50On1: number, problems?: string[]): PredictRunSet {
  return {
    on: [
      level(1, 2000, p50On1, 900, observed(1)),
      level(256, on256, 20_000, p99On256, observed(60), problems),
    ],
    off: [level(1, 2000, 400, 900, observed(1)), level(256, 3000, 80_000, 120_000, observed(1))],
    ceiling: [level(1, 6000, 100, 300, loop(400)), level(256, 20_000, 10_000, 15_000, loop(800))],
  };
}

const input = (runs: PredictRunSet) => ({
  runners: 1,
  levels: [1, 256],
  bodies: 10,
  responseBytes: 83,
  runs,
});

describe('buildPredictRows', () => {
  it('gives one row per batching mode and level, each against the ceiling at the same level', () => {
    const { rows } = buildPredictRows(input(runSet(15_000, 20_000, 450)));
    expect(rows.map((r) => r.variant)).toEqual([
      '1r batching on @1c',
      '1r batching off @1c',
      '1r batching on @256c',
      '1r batching off @256c',
    ]);
    const on256 = rows[2]!;
    expect(on256.ratio).toBeCloseTo(0.75, 10);
    expect(on256.connections).toBe(256);
    // Server time comes from the 1-connection runs.
    expect(on256.serverTime.ownP50Us).toBe(450 - 100);
    // CPU µs/request: 1 s over 150,000 requests.
    expect(on256.quiver.cpuUsPerRequest).toBeCloseTo(1e6 / 150_000, 6);
    expect(rows[1]!.targets).toEqual([]);
  });

  it('judges the issue targets on the batching-on rows', () => {
    const pass = buildPredictRows(input(runSet(15_000, 20_000, 450))).rows;
    expect(pass[0]!.targets.map((t) => t.verdict)).toEqual(['pass']);
    expect(pass[2]!.targets.map((t) => [t.label, t.verdict])).toEqual([
      ['event-loop delay p99 @256c < 2 ms', 'pass'],
      ['req/s @256c ≥ 60% of ceiling', 'pass'],
      ['p99 @256c ≤ 25 ms', 'pass'],
      ['req/s @256c ≥ 3× batching off', 'pass'],
    ]);
    const fail = buildPredictRows(input(runSet(8000, 30_000, 600))).rows;
    expect(fail[0]!.targets[0]!.verdict).toBe('fail');
    expect(fail[2]!.targets.map((t) => t.verdict)).toEqual(['pass', 'fail', 'fail', 'fail']);
    expect(fail[2]!.targets[3]!.actual).toMatch(/^2\.67×/);
  });

  it('gives no p99 verdict when the ceiling itself missed the bound at 256 connections', () => {
    const runs = runSet(15_000, 30_000, 450);
    const noisy: PredictRunSet = {
      ...runs,
      ceiling: [runs.ceiling[0]!, level(256, 20_000, 10_000, 40_000, loop(800))],
    };
    const p99 = buildPredictRows(input(noisy)).rows[2]!.targets[2]!;
    expect(p99.verdict).toBe('inconclusive');
    expect(p99.actual).toMatch(/0\.8× the ceiling's 40\.00 ms; unreachable here in a closed loop/);
  });

  it("judges event-loop delay against the ceiling's own at the same level", () => {
    const runs = runSet(15_000, 20_000, 450);
    const late = (ceilingLoopUs: number): PredictRunSet => ({
      ...runs,
      on: [runs.on[0]!, level(256, 15_000, 20_000, 20_000, observed(60, {}, 5000))],
      ceiling: [runs.ceiling[0]!, level(256, 20_000, 10_000, 15_000, loop(ceilingLoopUs))],
    });
    const failed = buildPredictRows(input(late(800))).rows[2]!.targets[0]!;
    expect(failed).toMatchObject({ verdict: 'fail', actual: "5.00 ms; the ceiling's own 0.80 ms" });
    const bareAsLate = buildPredictRows(input(late(4000))).rows[2]!.targets[0]!;
    expect(bareAsLate.verdict).toBe('inconclusive');
    expect(bareAsLate.actual).toMatch(/the bare node:http server is as late/);
  });

  it('sums up noise in one warning per kind', () => {
    const runs = runSet(15_000, 20_000, 450);
    const second = runSet(10_000, 20_000, 450);
    const busy = (r: LevelRun<ModelObservation>): LevelRun<ModelObservation> => ({ ...r, background: 1.5 });
    const { warnings } = buildPredictRows(
      input({
        on: [...runs.on, ...second.on.map(busy)],
        off: [...runs.off, ...second.off],
        ceiling: [...runs.ceiling, ...second.ceiling],
      }),
    );
    expect(warnings).toEqual([
      'predict:1r: req/s varied between rounds (a noisy machine; prefer the CPU µs/request figures): on@256c 40%',
      expect.stringMatching(/^predict:1r: other processes kept up to 1\.5 cores busy/),
    ]);
  });

  it('marks a row with failed requests as not ok and warns', () => {
    const { rows, warnings } = buildPredictRows(
      input(runSet(15_000, 20_000, 450, ['3 of 9 responses were not 2xx'])),
    );
    expect(rows[2]!.ok).toBe(false);
    expect(rows[0]!.ok).toBe(true);
    expect(warnings.some((w) => w.includes('not 2xx'))).toBe(true);
  });
});

describe('admission rejections', () => {
  it('flag a row, except clients that left while queued (wrk stopping)', () => {
    const runs = runSet(15_000, 20_000, 450);
    const rejecting = (reasons: Record<string, number>): PredictRunSet => ({
      ...runs,
      on: [runs.on[0]!, { ...runs.on[1]!, observed: observed(60, reasons) }],
    });
    expect(buildPredictRows(input(rejecting({ cancelled: 200 }))).rows[2]!.ok).toBe(true);
    const { rows } = buildPredictRows(input(rejecting({ cancelled: 200, queue_full: 3 })));
    expect(rows[2]!.ok).toBe(false);
    expect(rows[2]!.problems).toEqual(['requests rejected by admission: 3 queue_full']);
  });
});

describe('renderPredictMarkdown', () => {
  it('shows every level with batch sizes, event-loop delay and the raw model figures', () => {
    const { levelFigures } = buildPredictRows(input(runSet(15_000, 20_000, 450)));
    const md = renderPredictMarkdown({
      runners: 1,
      levels: [1, 256],
      levelFigures,
      raw: [
        {
          batchSize: 64,
          direct: { usPerBatch: 100, rowsPerSecond: 640_000, cpuUsPerBatch: 100, calls: 1 },
          pool: { usPerBatch: 150, rowsPerSecond: 426_667, cpuUsPerBatch: 160, calls: 1 },
          handoffUs: 50,
          handoffCpuUs: 60,
        },
      ],
      profile: undefined,
      batching: { on: { maxBatchSize: 256 }, off: { maxBatchSize: 1 } },
    });
    expect(md).toContain('| 256 | batching on | 15,000 | 75% | 5.00× |');
    expect(md).toContain('60.00 / 60.00');
    expect(md).toContain('| 256 | ceiling | 20,000 | 100% | | 10.00 / 15.00 / 30.00 | 5.0 / 3.0 |');
    expect(md).toContain('| 64 | 100.0 | 640,000 | 100.0 | 150.0 | 426,667 | 160.0 | 50.0 / 60.0 |');
  });
});
