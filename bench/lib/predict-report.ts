/**
 * The `predict` scenario's figures: shared-table rows (one per batching mode and connection level,
 * each against the ceiling at the same level), the issue's targets, and the scenario's own tables
 * (batch sizes, event-loop delay, raw onnxruntime limit, hand-off cost).
 */
import type { BatchingConfig } from '../../src/config/types.ts';
import type { LevelRun } from './connection-levels.ts';
import { figuresOf, fmtInt, ms, type PhaseRuns } from './http-scenario.ts';
import {
  combineEventLoops,
  combineObservations,
  type EventLoopDelay,
  type ModelObservation,
  type ModelStats,
} from './model-metrics.ts';
import type { RawOnnxFigure } from './raw-onnx.ts';
import type { ProfileRunResult } from './server-profile.ts';
import type { HttpRow, ServerFigures, TargetResult } from './types.ts';

export interface PredictRunSet {
  readonly on: LevelRun<ModelObservation>[];
  readonly off: LevelRun<ModelObservation>[];
  readonly ceiling: LevelRun<EventLoopDelay>[];
}

export interface LevelFigures {
  readonly connections: number;
  readonly on: ServerFigures;
  readonly off: ServerFigures;
  readonly ceiling: ServerFigures;
  readonly onModel: ModelStats;
  readonly offModel: ModelStats;
  /** The bare HTTP exchange's own event-loop delay at this level. */
  readonly ceilingEventLoop: EventLoopDelay;
  /** Main-thread (event-loop) CPU µs per request, over the same runs as the figures. */
  readonly mainCpuUsPerRequest: { readonly on: number; readonly off: number; readonly ceiling: number };
}

/** The issue's targets, on this machine. */
export const PREDICT_TARGETS = {
  /** At 1 connection, batching on: client-observed p50. */
  idleP50Us: 500,
  /** At 256 connections, batching on: req/s ÷ ceiling req/s. */
  loadedMinRatio: 0.6,
  /** At 256 connections, batching on: client-observed p99. */
  loadedP99Us: 25_000,
  /** At 256 connections: batching on req/s ÷ batching off req/s. */
  loadedMinSpeedup: 3,
  /** Under load (every level above 1 connection), batching on: event-loop delay p99. */
  loadedEventLoopP99Us: 2000,
  idleConnections: 1,
  loadedConnections: 256,
} as const;

/** Other load (cores busy while the server idles) above which a run is flagged as disturbed. */
const BUSY_MACHINE_CORES = 0.3;
/** (max − min) ÷ median req/s over rounds above which a figure is flagged as noisy. */
const NOISY_SPREAD = 0.15;

function phases<S>(list: readonly LevelRun<S>[], connections: number, idleConnections: number): PhaseRuns {
  const at = list.filter((r) => r.connections === connections);
  const idle = list.filter((r) => r.connections === idleConnections);
  return {
    throughput: at.map((r) => r.wrk),
    latency: idle.map((r) => r.wrk),
    cpu: at.map((r) => r.cpu),
    latencyCpu: idle.map((r) => r.cpu),
    background: at.map((r) => r.background),
    serverBuckets: [],
  };
}

const observations = (list: readonly LevelRun<ModelObservation>[], connections: number): ModelObservation[] =>
  list.filter((r) => r.connections === connections && r.observed !== undefined).map((r) => r.observed!);

function mainCpuUs<S>(list: readonly LevelRun<S>[], connections: number): number {
  const at = list.filter((r) => r.connections === connections);
  const requests = at.reduce((n, r) => n + r.wrk.requests, 0);
  return requests > 0
    ? (at.reduce((s, r) => s + r.mainThreadCpu.totalSeconds, 0) * 1e6) / requests
    : Number.NaN;
}

export function levelFiguresOf(runs: PredictRunSet, levels: readonly number[]): LevelFigures[] {
  const idle = levels[0]!;
  return levels.map((c) => ({
    connections: c,
    on: figuresOf(phases(runs.on, c, idle)),
    off: figuresOf(phases(runs.off, c, idle)),
    ceiling: figuresOf(phases(runs.ceiling, c, idle)),
    onModel: combineObservations(observations(runs.on, c)),
    offModel: combineObservations(observations(runs.off, c)),
    ceilingEventLoop: combineEventLoops(
      runs.ceiling.filter((r) => r.connections === c && r.observed !== undefined).map((r) => r.observed!),
    ),
    mainCpuUsPerRequest: {
      on: mainCpuUs(runs.on, c),
      off: mainCpuUs(runs.off, c),
      ceiling: mainCpuUs(runs.ceiling, c),
    },
  }));
}

const verdict = (pass: boolean): TargetResult['verdict'] => (pass ? 'pass' : 'fail');

/** The targets that apply to the batching-on row at `level` (none at other levels). */
export function predictTargets(level: LevelFigures): TargetResult[] {
  const t = PREDICT_TARGETS;
  const out: TargetResult[] = [];
  if (level.connections === t.idleConnections) {
    const p50 = level.on.loadLatencyUs.p50;
    out.push({
      label: `p50 @1c ≤ ${t.idleP50Us / 1000} ms`,
      verdict: verdict(p50 <= t.idleP50Us),
      actual:
        `${ms(p50)}; batching off ${ms(level.off.loadLatencyUs.p50)}, ceiling ${ms(level.ceiling.loadLatencyUs.p50)}; ` +
        `mean batch ${level.onModel.meanBatchRows.toFixed(2)} rows`,
    });
  }
  if (level.connections > t.idleConnections) {
    // As for p99 below: when the bare HTTP server's own loop is that late at this level, the
    // bound measures the machine and the load shape, not Quiver.
    const p99 = level.onModel.eventLoop.p99Us;
    const ceilingP99 = level.ceilingEventLoop.p99Us;
    const unreachable = ceilingP99 >= t.loadedEventLoopP99Us;
    out.push({
      label: `event-loop delay p99 @${level.connections}c < ${t.loadedEventLoopP99Us / 1000} ms`,
      verdict: p99 < t.loadedEventLoopP99Us ? 'pass' : unreachable ? 'inconclusive' : 'fail',
      actual:
        `${ms(p99)}; the ceiling's own ${ms(ceilingP99)}` +
        (unreachable
          ? '; the bare node:http server is as late: one loop turn serves every ready connection'
          : ''),
    });
  }
  if (level.connections === t.loadedConnections) {
    const ratio = level.on.requestsPerSecond / level.ceiling.requestsPerSecond;
    const cpuRatio = level.ceiling.cpuUsPerRequest / level.on.cpuUsPerRequest;
    out.push({
      label: `req/s @256c ≥ ${t.loadedMinRatio * 100}% of ceiling`,
      verdict: verdict(ratio >= t.loadedMinRatio),
      actual: `${(ratio * 100).toFixed(0)}% (${fmtInt(level.on.requestsPerSecond)} vs ${fmtInt(level.ceiling.requestsPerSecond)}; CPU ratio ${(cpuRatio * 100).toFixed(0)}%)`,
    });
    // In a closed loop every connection always has a request in flight, so mean latency =
    // connections ÷ req/s (Little's law). When even the bare HTTP server's p99 at this level is
    // above the bound, no server doing more work per request can meet it on this machine: no
    // verdict then, unless Quiver meets it anyway.
    const p99 = level.on.loadLatencyUs.p99;
    const ceilingP99 = level.ceiling.loadLatencyUs.p99;
    const unreachable = ceilingP99 > t.loadedP99Us;
    out.push({
      label: `p99 @256c ≤ ${t.loadedP99Us / 1000} ms`,
      verdict: p99 <= t.loadedP99Us ? 'pass' : unreachable ? 'inconclusive' : 'fail',
      actual:
        `${ms(p99)}, ${(p99 / ceilingP99).toFixed(1)}× the ceiling's ${ms(ceilingP99)}` +
        (unreachable
          ? `; unreachable here in a closed loop: even the bare node:http server's p99 is above it (mean latency = ${level.connections} ÷ req/s)`
          : ''),
    });
    const speedup = level.on.requestsPerSecond / level.off.requestsPerSecond;
    out.push({
      label: `req/s @256c ≥ ${t.loadedMinSpeedup}× batching off`,
      verdict: verdict(speedup >= t.loadedMinSpeedup),
      actual: `${speedup.toFixed(2)}× (${fmtInt(level.on.requestsPerSecond)} vs ${fmtInt(level.off.requestsPerSecond)})`,
    });
  }
  return out;
}

export interface PredictRowsInput {
  readonly runners: number;
  readonly levels: readonly number[];
  readonly bodies: number;
  readonly responseBytes: number;
  readonly runs: PredictRunSet;
}

export function buildPredictRows(input: PredictRowsInput): {
  rows: HttpRow[];
  levelFigures: LevelFigures[];
  warnings: string[];
} {
  const levelFigures = levelFiguresOf(input.runs, input.levels);
  const rows: HttpRow[] = [];
  const warnings: string[] = [];
  const spreads: string[] = [];
  let busiest = 0;
  for (const level of levelFigures) {
    for (const mode of ['on', 'off'] as const) {
      const q = level[mode];
      const c = level.ceiling;
      const variant = `${input.runners}r batching ${mode} @${level.connections}c`;
      const problems = [
        ...q.throughputRuns.flatMap((r, i) => r.problems.map((p) => `quiver run ${i + 1}: ${p}`)),
        ...c.throughputRuns.flatMap((r, i) => r.problems.map((p) => `ceiling run ${i + 1}: ${p}`)),
      ];
      const model = mode === 'on' ? level.onModel : level.offModel;
      // Cancelled = the client left while queued: wrk closing its connections at the end of a run.
      const rejected = Object.entries(model.rejected).filter(([reason]) => reason !== 'cancelled');
      if (rejected.length > 0)
        problems.push(`requests rejected by admission: ${rejected.map(([r, n]) => `${n} ${r}`).join(', ')}`);
      warnings.push(...problems.map((p) => `predict:${variant}: ${p}`));
      const spreadOf = (f: ServerFigures): number =>
        f.throughputRuns.length > 1
          ? (f.requestsPerSecondMax - f.requestsPerSecondMin) / f.requestsPerSecond
          : 0;
      if (spreadOf(q) > NOISY_SPREAD) spreads.push(`${mode}@${level.connections}c ${pct(spreadOf(q))}`);
      if (mode === 'on' && spreadOf(c) > NOISY_SPREAD)
        spreads.push(`ceiling@${level.connections}c ${pct(spreadOf(c))}`);
      busiest = Math.max(busiest, ...q.backgroundCores, ...c.backgroundCores);
      const ratio = q.requestsPerSecond / c.requestsPerSecond;
      rows.push({
        scenario: 'predict',
        variant,
        connections: level.connections,
        requestBodies: input.bodies,
        responseBytes: input.responseBytes,
        quiver: q,
        ceiling: c,
        ratio,
        cpuRatio: c.cpuUsPerRequest / q.cpuUsPerRequest,
        serverTime: {
          quiverP99Us: q.idleLatencyUs.p99,
          ceilingP99Us: c.idleLatencyUs.p99,
          ownP99Us: q.idleLatencyUs.p99 - c.idleLatencyUs.p99,
          ownP50Us: q.idleLatencyUs.p50 - c.idleLatencyUs.p50,
        },
        limits: [],
        targets: mode === 'on' ? predictTargets(level) : [],
        ok: problems.length === 0,
        problems,
      });
    }
  }
  const id = `predict:${input.runners}r`;
  if (spreads.length > 0)
    warnings.push(
      `${id}: req/s varied between rounds (a noisy machine; prefer the CPU µs/request figures): ${spreads.join(', ')}`,
    );
  if (busiest > BUSY_MACHINE_CORES)
    warnings.push(
      `${id}: other processes kept up to ${busiest.toFixed(1)} cores busy right before measured runs: req/s and latencies are disturbed; CPU µs/request is the figure to trust`,
    );
  return { rows, levelFigures, warnings };
}

const us0 = (n: number): string => (Number.isFinite(n) ? n.toFixed(0) : '-');
const us1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const lat = (f: ServerFigures): string =>
  [f.loadLatencyUs.p50, f.loadLatencyUs.p99, f.loadLatencyUs.p999]
    .map((v) => (Number.isFinite(v) ? (v / 1000).toFixed(2) : '-'))
    .join(' / ');
const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '-');

export interface PredictMarkdownInput {
  readonly runners: number;
  readonly levels: readonly number[];
  readonly levelFigures: readonly LevelFigures[];
  readonly raw: readonly RawOnnxFigure[];
  readonly profile: ProfileRunResult | undefined;
  readonly batching: Readonly<Record<'on' | 'off', BatchingConfig>>;
}

export function renderPredictMarkdown(input: PredictMarkdownInput): string {
  const out: string[] = [];
  out.push(
    `GBDT (\`test/fixtures/models/gbdt.onnx\`, 16 features read by entity from LMDB), ${input.runners} runner thread(s); ` +
      `batching on = \`${JSON.stringify(input.batching.on)}\`, off = \`${JSON.stringify(input.batching.off)}\`. ` +
      'Closed loop (`wrk -t1 -c<N>`); figures are medians over rounds.',
    '',
    '| conns | server | req/s | % ceiling | on ÷ off | p50 / p99 / p99.9 ms | CPU µs/req: all / main thread¹ | CPU use² | batch rows / requests³ | queue wait µs⁴ | batch µs⁵ | compute / hand-off µs per batch⁶ | event-loop delay p99 / max ms⁷ |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const l of input.levelFigures) {
    for (const mode of ['on', 'off'] as const) {
      const f = l[mode];
      const m = mode === 'on' ? l.onModel : l.offModel;
      out.push(
        `| ${l.connections} | batching ${mode} | ${fmtInt(f.requestsPerSecond)} | ${pct(f.requestsPerSecond / l.ceiling.requestsPerSecond)} | ` +
          `${mode === 'on' ? `${(l.on.requestsPerSecond / l.off.requestsPerSecond).toFixed(2)}×` : ''} | ${lat(f)} | ${us1(f.cpuUsPerRequest)} / ${us1(l.mainCpuUsPerRequest[mode])} | ${pct(f.cpuUtilisation)} | ` +
          `${m.meanBatchRows.toFixed(2)} / ${m.meanBatchRequests.toFixed(2)} | ${us0(m.meanQueueDelayUs)} | ${us0(m.meanBatchDurationUs)} | ` +
          `${us0(m.meanComputeUs)} / ${us0(m.meanHandoffUs)} | ${ms(m.eventLoop.p99Us)} / ${ms(m.eventLoop.maxUs)} |`,
      );
    }
    const c = l.ceiling;
    out.push(
      `| ${l.connections} | ceiling | ${fmtInt(c.requestsPerSecond)} | 100% | | ${lat(c)} | ${us1(c.cpuUsPerRequest)} / ${us1(l.mainCpuUsPerRequest.ceiling)} | ${pct(c.cpuUtilisation)} | | | | | ${ms(l.ceilingEventLoop.p99Us)} / ${ms(l.ceilingEventLoop.maxUs)} |`,
    );
  }
  out.push(
    '',
    'Raw onnxruntime, in-process, one call at a time (nothing else running):',
    '',
    '| batch rows | main thread µs/batch | rows/s | CPU µs/batch | via runner pool µs/batch | rows/s | CPU µs/batch | hand-off µs⁸: wall / CPU |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const r of input.raw) {
    out.push(
      `| ${r.batchSize} | ${us1(r.direct.usPerBatch)} | ${fmtInt(r.direct.rowsPerSecond)} | ${us1(r.direct.cpuUsPerBatch)} | ` +
        `${us1(r.pool.usPerBatch)} | ${fmtInt(r.pool.rowsPerSecond)} | ${us1(r.pool.cpuUsPerBatch)} | ${us1(r.handoffUs)} / ${us1(r.handoffCpuUs)} |`,
    );
  }
  out.push(
    '',
    "1. Server CPU over exactly the run ÷ requests: all threads (event loop, runners, V8's helper threads) from `/proc/<pid>/stat`, and the main thread's alone (the event loop) from `/proc/<pid>/task/<pid>/stat`.",
    '2. Server CPU seconds ÷ wall seconds (100% = one core; the machine has 2).',
    "3. Mean rows and mean requests per executed batch over the run (Σ ÷ count of the server's `quiver_batch_rows` / `quiver_batch_requests` histograms, scraped from /metrics before and after). One entity per request, so the two are equal.",
    '4. Mean wait of the oldest request of each batch (`quiver_batch_queue_delay_us`).',
    '5. Mean time per batch from dispatch to results: one feature read for the batch, the model run on a runner thread, the split (`quiver_batch_duration_us`).',
    '6. Per batch: model compute measured on the runner thread (`quiver_model_compute_us`), and the round trip to the runner minus that compute (`quiver_model_handoff_us`): message passing plus the wait for the event loop to pick the answer up, so it grows when the loop is busy.',
    "7. prom-client's event-loop delay (`quiver_nodejs_eventloop_lag_p99_seconds`, `_max_`): its histogram is reset by every scrape, so the value read after a run covers that run. It samples with a 10 ms timer; the 10 ms resolution is subtracted. The ceiling serves the same gauges from the same sampler.",
    '8. Runner pool − main thread, per batch: posting the batch to the worker thread and getting the answer back, with an otherwise idle event loop. Wall time, and CPU time of the whole process (both threads; `process.cpuUsage()`), the steadier of the two when other load competes. Medians of 7 interleaved slices.',
  );
  if (input.profile !== undefined) {
    out.push(
      '',
      `CPU profile of Quiver, batching on, ${input.runners} runner(s), ${Math.max(...input.levels)} connections (separate run, ` +
        `${fmtInt(input.profile.requestsPerSecond)} req/s while profiling):`,
      '',
      input.profile.markdown,
    );
  }
  return out.join('\n');
}
