/**
 * The benchmark framework's contracts. A scenario file in bench/scenarios/ exports
 * `scenarios: Scenario[]`; the registry (bench/index.ts) discovers it, the CLI runs it, and
 * report.ts writes its result as JSON and renders the shared Markdown tables.
 */
import type { Pinning } from './affinity.ts';
import type { CpuUsage } from './proc-cpu.ts';
import type { Bucket } from './prom-text.ts';
import type { LatencyUs, WrkResult } from './wrk.ts';

export interface BenchSettings {
  /** Length of each measured closed-loop throughput run (BENCH_SECONDS). */
  readonly seconds: number;
  /** Length of each 1-connection latency run (BENCH_LATENCY_SECONDS). */
  readonly latencySeconds: number;
  /** Warm-up before measuring, after every server start (BENCH_WARMUP_SECONDS). */
  readonly warmupSeconds: number;
  /** Rounds of (Quiver, then ceiling); medians are reported (BENCH_REPEATS). */
  readonly repeats: number;
  /** Connections of the throughput runs (BENCH_CONNECTIONS). */
  readonly connections: number;
  /** Adds a separate `node --cpu-prof` run of the server and summarises it (BENCH_PROFILE). */
  readonly profile: boolean;
  /** Where generated data lives (BENCH_DATA_DIR, default node_modules/.cache/quiver-bench). */
  readonly dataDir: string;
  /** Where JSON results go (bench/results). */
  readonly resultsDir: string;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

export interface Scenario {
  /** `name:variant`, e.g. `features-1:lmdb`. `quiver bench features-1` runs every variant. */
  readonly id: string;
  readonly description: string;
  run(settings: BenchSettings): Promise<ScenarioOutput>;
}

/** What a scenario's run() returns; the runner adds timing, settings and machine details. */
export interface ScenarioOutput {
  readonly rows: readonly HttpRow[];
  /** Scenario-specific Markdown (for scenarios whose figures do not fit the shared tables). */
  readonly markdown?: string;
  /** Free-form scenario details (raw-limit details, profile summary, ...): JSON-serialisable. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Shown under the tables (e.g. errors during a run, high noise). */
  readonly warnings: readonly string[];
}

/** One physical limit measured in-process (raw store read, raw model run, ...). */
export interface LimitFigure {
  /** e.g. "lmdb read(1 key)". */
  readonly label: string;
  readonly usPerOp: number;
  /** e.g. "sequential" or "32 in flight". */
  readonly note?: string;
}

export interface TargetResult {
  readonly label: string;
  /**
   * 'pass-own': only Quiver's own time (upper bound − ceiling) meets it; 'inconclusive': the run was
   * too noisy to judge (e.g. the ceiling's own p99 was far above a bare HTTP exchange).
   */
  readonly verdict: 'pass' | 'fail' | 'pass-own' | 'inconclusive';
  readonly actual: string;
}

/** Aggregate of one server (Quiver or the ceiling) over all rounds. */
export interface ServerFigures {
  /** Median req/s of the throughput runs, and the spread. */
  readonly requestsPerSecond: number;
  readonly requestsPerSecondMin: number;
  readonly requestsPerSecondMax: number;
  /** Server CPU µs per request over all throughput runs: Σ CPU seconds / Σ requests. */
  readonly cpuUsPerRequest: number;
  /** Server CPU seconds / wall seconds during throughput runs (1 = one full core). */
  readonly cpuUtilisation: number;
  /** Median of each percentile over the throughput runs (at `connections`). */
  readonly loadLatencyUs: LatencyUs;
  /** Median of each percentile over the 1-connection latency runs. */
  readonly idleLatencyUs: LatencyUs;
  /**
   * Server CPU µs per request during the 1-connection runs: the cost of one request alone, a steady
   * estimate of mean server time when the server does not wait on anything (LMDB).
   */
  readonly idleCpuUsPerRequest: number;
  readonly throughputRuns: readonly WrkResult[];
  readonly latencyRuns: readonly WrkResult[];
  readonly cpu: readonly CpuUsage[];
  readonly latencyCpu: readonly CpuUsage[];
  /** Cores other processes kept busy in the 0.5 s before each throughput run (the server idle). */
  readonly backgroundCores: readonly number[];
}

/** One row of the shared tables: a server-vs-ceiling HTTP measurement. */
export interface HttpRow {
  readonly scenario: string;
  readonly variant: string;
  readonly connections: number;
  readonly requestBodies: number;
  readonly responseBytes: number;
  readonly quiver: ServerFigures;
  readonly ceiling: ServerFigures;
  /** Quiver req/s ÷ ceiling req/s (medians). */
  readonly ratio: number;
  /** Ceiling CPU µs/request ÷ Quiver CPU µs/request: the ratio a CPU-bound server would reach. */
  readonly cpuRatio: number;
  /** 1-connection p99s: the client-observed one bounds server time from above. */
  readonly serverTime: {
    readonly quiverP99Us: number;
    readonly ceilingP99Us: number;
    readonly ownP99Us: number;
    /** Quiver p50 − ceiling p50 at one connection: far less sensitive to machine noise. */
    readonly ownP50Us: number;
    /** Quiver's own `quiver_http_request_duration_seconds` buckets over the 1-connection runs. */
    readonly measured?: readonly Bucket[];
  };
  /** CPU pinning of the servers and wrk (lib/affinity.ts); undefined when unpinned. */
  readonly pinning?: Pinning;
  readonly limits: readonly LimitFigure[];
  readonly targets: readonly TargetResult[];
  /** False when any run had socket errors or non-2xx responses. */
  readonly ok: boolean;
  readonly problems: readonly string[];
}

export interface MachineInfo {
  readonly node: string;
  readonly cpus: number;
  readonly cpuModel: string;
  readonly loadAvgBefore: readonly number[];
  readonly loadAvgAfter: readonly number[];
  readonly wrk: string;
}

export interface ScenarioResult extends ScenarioOutput {
  readonly id: string;
  readonly description: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly settings: Omit<BenchSettings, 'log'>;
  readonly machine: MachineInfo;
}
