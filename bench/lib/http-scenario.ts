/**
 * The shared protocol of a server-vs-ceiling HTTP scenario (design §6):
 *
 *   for each round (BENCH_REPEATS):
 *     start Quiver and the ceiling (each its own process; the ceiling serves Quiver's real response
 *     as a fixed buffer) → warm both up →
 *     closed-loop throughput in short slices, Quiver and ceiling in turn (Q C, C Q, Q C, ...; server
 *     CPU from /proc over exactly each slice) → 1-connection latency runs → stop both
 *   then the raw limits in-process (nothing else running), then optionally a profiled Quiver run.
 *
 * Only one server is under load at a time, so they never compete for the two cores. Where Linux
 * and two cores allow (BENCH_PIN, affinity.ts), each server's event loop runs alone on one core and
 * wrk on the other, as in production, where a server does not share its core with its clients:
 * unpinned, the scheduler sometimes ran wrk and the event loop on one core, and those stretches
 * were measured as the server's cost (features-1 here: the ceiling 46k req/s unpinned, 67k pinned;
 * both servers' CPU per request ~30% lower). The slices
 * interleave because a server's speed on this machine moves by up to 1.5× between runs seconds
 * apart: partly the host (whole stretches where every function slows alike, native code included),
 * partly each server's own client wake-up regime (docs/decisions.md). A ratio of two runs half a
 * minute apart measured those as much as the servers. Each adjacent (Quiver, ceiling) pair shares
 * the host's state, the median over many pairs damps the rest, and the order alternates (ABBA) so
 * neither server always goes first. Other figures are medians over slices or rounds.
 */
import { mkdir, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pinningWanted, pinServer, type Pinning } from './affinity.ts';
import { captureResponse, startCeiling, type CapturedResponse } from './ceiling.ts';
import {
  readProfile,
  renderProfileSummary,
  summariseProfile,
  type ProfileSummary,
  type ProfileWindow,
} from './cpuprofile.ts';
import { cpuMicrosPerRequest, measureCpu, otherLoadCores, type CpuUsage } from './proc-cpu.ts';
import {
  bucketsDelta,
  bucketTotal,
  countWithin,
  quantileBound,
  scrapeMetrics,
  type Bucket,
} from './prom-text.ts';
import { startQuiver, type ServerProcess } from './server-process.ts';
import type { BenchSettings, HttpRow, LimitFigure, ServerFigures, TargetResult } from './types.ts';
import { runWrk, type LatencyUs, type WrkResult } from './wrk.ts';

export interface HttpTargets {
  /** Quiver req/s ÷ ceiling req/s at least this. */
  readonly minRatio?: number;
  /** Server time p99 (1 connection) at most this many µs. */
  readonly maxServerTimeP99Us?: number;
}

export interface HttpScenarioSpec {
  readonly scenario: string;
  readonly variant: string;
  readonly configPath: string;
  /** Request path, e.g. /get-online-features (also the `route` label of Quiver's HTTP histogram). */
  readonly path: string;
  /** Bodies sent in rotation (several, so no single hot key is measured). */
  readonly bodies: readonly string[];
  readonly contentType?: string;
  /** Checks a real response; returns a problem description, or undefined when it is right. */
  readonly validate?: (response: CapturedResponse, body: string) => string | undefined;
  /** Physical limits measured in-process after the HTTP runs (raw store read, ...). */
  readonly limits?: () => Promise<{ figures: LimitFigure[]; details: unknown }>;
  readonly targets?: HttpTargets;
}

/** The spec as the runs use it: with the CPUs wrk runs on when the servers are pinned. */
interface LoadSpec extends HttpScenarioSpec {
  readonly wrkCpus?: string;
}

export interface HttpScenarioOutcome {
  readonly row: HttpRow;
  readonly limitDetails: unknown;
  readonly profile?: {
    readonly files: readonly string[];
    /** Requests completed during the profiled window. */
    readonly requests: number;
    readonly summary: ProfileSummary;
    readonly markdown: string;
  };
  readonly warnings: readonly string[];
}

/** The runs of one server over all rounds (exported for scenarios with their own protocol). */
export interface PhaseRuns {
  throughput: WrkResult[];
  latency: WrkResult[];
  cpu: CpuUsage[];
  latencyCpu: CpuUsage[];
  background: number[];
  /** Quiver only: its own request-duration histogram over each 1-connection run. */
  serverBuckets: Bucket[][];
}

/** Above this 1-connection p99 of the bare ceiling, the tail measures the machine, not the server. */
const NOISY_CEILING_P99_US = 1000;

/** Other load (cores busy while the server idles) above which a run is flagged as disturbed. */
const BUSY_MACHINE_CORES = 0.3;

export async function runHttpScenario(
  spec: HttpScenarioSpec,
  settings: BenchSettings,
): Promise<HttpScenarioOutcome> {
  const id = `${spec.scenario}:${spec.variant}`;
  const log = (line: string): void => settings.log(`[${id}] ${line}`);
  const warnings: string[] = [];
  const quiverRuns = emptyRuns();
  const ceilingRuns = emptyRuns();
  let reference: CapturedResponse | undefined;

  const slices = slicesPerRound(settings.seconds);
  const seconds = sliceSeconds(settings.seconds);
  let pinning: Pinning | undefined;
  let load: LoadSpec = spec;
  for (let round = 1; round <= settings.repeats; round++) {
    const tag = `round ${round}/${settings.repeats}`;
    const quiver = await startQuiver({ configPath: spec.configPath });
    let ceiling: ServerProcess | undefined;
    try {
      if (reference === undefined) reference = await checkResponses(spec, quiver, log);
      ceiling = await startCeiling(reference);
      if (pinningWanted()) {
        // Both servers alike: the event loop on a core of its own, wrk on the other (affinity.ts).
        pinning = pinBoth(quiver, ceiling, (problem) => warnings.push(`${id}: ${problem}`));
        load = pinning === undefined ? spec : { ...spec, wrkCpus: pinning.otherCpus };
      }
      const both = [
        { server: quiver, runs: quiverRuns, name: 'quiver', scrape: true },
        { server: ceiling, runs: ceilingRuns, name: 'ceiling', scrape: false },
      ];
      for (const phase of both) await warmUp(load, settings, phase.server, `${tag} ${phase.name}`, log);
      for (let slice = 0; slice < slices; slice++) {
        const order = slice % 2 === 0 ? both : [both[1]!, both[0]!];
        for (const phase of order) {
          const label = `${tag} slice ${slice + 1}/${slices} ${phase.name}`;
          await throughputRun(load, settings, phase.server, phase.runs, seconds, label, log);
        }
      }
      for (const phase of both) {
        await latencyRun(load, settings, phase.server, phase.runs, `${tag} ${phase.name}`, log, phase.scrape);
      }
    } finally {
      await quiver.stop();
      await ceiling?.stop();
    }
  }

  let figures: LimitFigure[] = [];
  let limitDetails: unknown;
  if (spec.limits !== undefined) {
    log('raw limits (in-process)');
    ({ figures, details: limitDetails } = await spec.limits());
  }

  let profile: HttpScenarioOutcome['profile'];
  if (settings.profile) profile = await profileRun(spec, settings, log);

  const q = figuresOf(quiverRuns);
  const c = figuresOf(ceilingRuns);
  const problems = [...problemsOf('quiver', quiverRuns), ...problemsOf('ceiling', ceilingRuns)];
  if (problems.length > 0) warnings.push(...problems.map((p) => `${id}: ${p}`));
  for (const [name, f] of [
    ['quiver', q],
    ['ceiling', c],
  ] as const) {
    const spread = (f.requestsPerSecondMax - f.requestsPerSecondMin) / f.requestsPerSecond;
    if (f.throughputRuns.length > 1 && spread > 0.15) {
      warnings.push(
        `${id}: ${name} req/s varied by ${(100 * spread).toFixed(0)}% between slices (a noisy machine); the paired ratio cancels what both servers saw alike`,
      );
    }
  }
  const busiest = Math.max(...quiverRuns.background, ...ceilingRuns.background);
  if (busiest > BUSY_MACHINE_CORES) {
    warnings.push(
      `${id}: other processes kept up to ${busiest.toFixed(1)} of ${os.cpus().length} cores busy right before a measured run: ` +
        'req/s and latencies are disturbed; CPU µs/request is the figure to trust',
    );
  }
  const serverTime = {
    quiverP99Us: q.idleLatencyUs.p99,
    ceilingP99Us: c.idleLatencyUs.p99,
    ownP99Us: q.idleLatencyUs.p99 - c.idleLatencyUs.p99,
    ownP50Us: q.idleLatencyUs.p50 - c.idleLatencyUs.p50,
    measured: sumBuckets(quiverRuns.serverBuckets),
  };
  if (serverTime.ownP99Us < 0) {
    warnings.push(
      `${id}: the ceiling's 1-connection p99 exceeded Quiver's: noise dominates the server-time figure`,
    );
  }
  const ratio = pairedRatio(quiverRuns.throughput, ceilingRuns.throughput);
  const row: HttpRow = {
    scenario: spec.scenario,
    variant: spec.variant,
    connections: settings.connections,
    requestBodies: spec.bodies.length,
    responseBytes: reference!.body.length,
    quiver: q,
    ceiling: c,
    ratio,
    cpuRatio: c.cpuUsPerRequest / q.cpuUsPerRequest,
    serverTime,
    pinning,
    limits: figures,
    targets: evaluateTargets(spec.targets ?? {}, ratio, serverTime),
    ok: problems.length === 0,
    problems,
  };
  return { row, limitDetails, profile, warnings };
}

/** Pins both servers alike (affinity.ts); undefined, after a warning, where taskset fails. */
function pinBoth(
  quiver: ServerProcess,
  ceiling: ServerProcess,
  warn: (problem: string) => void,
): Pinning | undefined {
  try {
    pinServer(ceiling.pid);
    return pinServer(quiver.pid);
  } catch (err) {
    warn(`could not pin CPUs (taskset): ${(err as Error).message}; measured unpinned`);
    return undefined;
  }
}

/** Sends every body once: all must answer 200 and pass `validate`. Returns the reference response. */
async function checkResponses(
  spec: HttpScenarioSpec,
  server: ServerProcess,
  log: (line: string) => void,
): Promise<CapturedResponse> {
  const url = server.url + spec.path;
  const responses: CapturedResponse[] = [];
  for (const body of spec.bodies) {
    const response = await captureResponse(url, body, spec.contentType);
    if (response.status !== 200) {
      throw new Error(
        `${url} answered ${response.status} to a benchmark request: ${response.body.toString('utf8').slice(0, 500)}`,
      );
    }
    const problem = spec.validate?.(response, body);
    if (problem !== undefined) throw new Error(`wrong response from ${url}: ${problem}`);
    responses.push(response);
  }
  // The ceiling serves one of them: the one closest to the mean size.
  const mean = responses.reduce((s, r) => s + r.body.length, 0) / responses.length;
  const reference = responses.reduce((best, r) =>
    Math.abs(r.body.length - mean) < Math.abs(best.body.length - mean) ? r : best,
  );
  log(
    `${responses.length} request bodies checked; response ${reference.body.length} bytes (mean ${mean.toFixed(0)})`,
  );
  return reference;
}

/** Throughput slices per round: about two seconds each, as many as `seconds` holds. */
export function slicesPerRound(seconds: number): number {
  return Math.max(1, Math.round(seconds / 2));
}

/** The length of one slice (wrk takes whole seconds). */
export function sliceSeconds(seconds: number): number {
  return Math.max(1, Math.round(seconds / slicesPerRound(seconds)));
}

/**
 * The median over adjacent (Quiver, ceiling) slice pairs of Quiver's req/s ÷ the ceiling's: each
 * pair was measured seconds apart, in the same state of the host.
 */
export function pairedRatio(quiver: readonly WrkResult[], ceiling: readonly WrkResult[]): number {
  const pairs = Math.min(quiver.length, ceiling.length);
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) ratios.push(quiver[i]!.requestsPerSecond / ceiling[i]!.requestsPerSecond);
  return ratios.length > 0 ? median(ratios) : Number.NaN;
}

function wrkFor(
  spec: LoadSpec,
  server: ServerProcess,
): (connections: number, seconds: number) => Promise<WrkResult> {
  return (connections, seconds) =>
    runWrk({
      url: server.url + spec.path,
      bodies: spec.bodies,
      connections,
      seconds,
      contentType: spec.contentType,
      cpus: spec.wrkCpus,
    });
}

async function warmUp(
  spec: LoadSpec,
  settings: BenchSettings,
  server: ServerProcess,
  tag: string,
  log: (line: string) => void,
): Promise<void> {
  if (settings.warmupSeconds <= 0) return;
  const warm = await wrkFor(spec, server)(settings.connections, settings.warmupSeconds);
  if (!warm.ok) log(`⚠ ${tag} warm-up: ${warm.problems.join('; ')}`);
}

async function throughputRun(
  spec: LoadSpec,
  settings: BenchSettings,
  server: ServerProcess,
  runs: PhaseRuns,
  seconds: number,
  tag: string,
  log: (line: string) => void,
): Promise<void> {
  const background = await otherLoadCores(500, server.pid);
  runs.background.push(background);
  const { result, cpu } = await measureCpu(server.pid, () =>
    wrkFor(spec, server)(settings.connections, seconds),
  );
  runs.throughput.push(result);
  runs.cpu.push(cpu);
  log(
    `${tag}: ${fmtInt(result.requestsPerSecond)} req/s @${settings.connections}c, ` +
      `CPU ${cpuMicrosPerRequest(cpu, result.requests).toFixed(1)} µs/req ` +
      `(${((100 * cpu.totalSeconds) / result.durationSeconds).toFixed(0)}% of a core), ` +
      `p99 ${ms(result.latencyUs.p99)}; other load before: ${background.toFixed(2)} cores` +
      (result.ok ? '' : `  ⚠ ${result.problems.join('; ')}`),
  );
}

async function latencyRun(
  spec: LoadSpec,
  settings: BenchSettings,
  server: ServerProcess,
  runs: PhaseRuns,
  tag: string,
  log: (line: string) => void,
  scrapeServerTime: boolean,
): Promise<void> {
  const before = scrapeServerTime ? await scrapeMetrics(server.url) : undefined;
  const { result: latency, cpu: latencyCpu } = await measureCpu(server.pid, () =>
    wrkFor(spec, server)(1, settings.latencySeconds),
  );
  if (before !== undefined) {
    const after = await scrapeMetrics(server.url);
    runs.serverBuckets.push(
      bucketsDelta(before, after, SERVER_DURATION, { route: spec.path, status: '200' }),
    );
  }
  runs.latency.push(latency);
  runs.latencyCpu.push(latencyCpu);
  log(
    `${tag}: p99 ${ms(latency.latencyUs.p99)} @1c, CPU ${cpuMicrosPerRequest(latencyCpu, latency.requests).toFixed(1)} µs/req` +
      (latency.ok ? '' : `  ⚠ ${latency.problems.join('; ')}`),
  );
}

/** Quiver's own per-request time, from its request handler's start to the answer written. */
const SERVER_DURATION = 'quiver_http_request_duration_seconds';

function emptyRuns(): PhaseRuns {
  return { throughput: [], latency: [], cpu: [], latencyCpu: [], background: [], serverBuckets: [] };
}

/** The rounds' histograms added bucket by bucket (every round has the same bounds). */
function sumBuckets(rounds: readonly Bucket[][]): Bucket[] | undefined {
  if (rounds.length === 0) return undefined;
  return rounds[0]!.map((b, i) => ({ le: b.le, count: rounds.reduce((s, r) => s + (r[i]?.count ?? 0), 0) }));
}

/** A separate profiled run, so the profiler's overhead never touches the reported figures. */
async function profileRun(
  spec: HttpScenarioSpec,
  settings: BenchSettings,
  log: (line: string) => void,
): Promise<HttpScenarioOutcome['profile']> {
  const dir = path.join(settings.resultsDir, 'profiles', `${spec.scenario}-${spec.variant}-${timestamp()}`);
  await mkdir(dir, { recursive: true });
  const server = await startQuiver({
    configPath: spec.configPath,
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${PROFILE_INTERVAL_US}`],
  });
  let load: LoadSpec = spec;
  if (pinningWanted()) {
    try {
      load = { ...spec, wrkCpus: pinServer(server.pid).otherCpus };
    } catch (err) {
      log(`⚠ could not pin CPUs (taskset): ${(err as Error).message}; profiled unpinned`);
    }
  }
  const wrk = (seconds: number): Promise<WrkResult> => wrkFor(load, server)(settings.connections, seconds);
  let window: ProfileWindow;
  let measured: WrkResult;
  try {
    await wrk(settings.warmupSeconds);
    const fromUs = nowUs();
    measured = await wrk(settings.seconds);
    window = { fromUs, toUs: nowUs() };
  } finally {
    await server.stop();
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(dir, f));
  if (files.length === 0) {
    log('⚠ the profiled server wrote no .cpuprofile');
    return undefined;
  }
  // Only the measured run's samples: start-up and warm-up are cut out.
  const summary = summariseProfile(await readProfile(files[0]!), window);
  log(`profile: ${files[0]} (${fmtInt(measured.requestsPerSecond)} req/s while profiling)`);
  return {
    files,
    requests: measured.requests,
    summary: { ...summary, functions: summary.functions.slice(0, 200) },
    markdown: renderProfileSummary(summary, { requests: measured.requests }),
  };
}

/** Sampling interval of profiled runs: fine enough for µs-scale request handling. */
const PROFILE_INTERVAL_US = 100;

/** The clock of V8's profile timestamps (CLOCK_MONOTONIC), in µs. */
function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function medianLatency(runs: readonly WrkResult[]): LatencyUs {
  const pick = (k: keyof LatencyUs): number => median(runs.map((r) => r.latencyUs[k]));
  return {
    min: pick('min'),
    max: pick('max'),
    mean: pick('mean'),
    stdev: pick('stdev'),
    p50: pick('p50'),
    p90: pick('p90'),
    p99: pick('p99'),
    p999: pick('p999'),
  };
}

export function figuresOf(runs: PhaseRuns): ServerFigures {
  const rps = runs.throughput.map((r) => r.requestsPerSecond);
  const cpuSeconds = runs.cpu.reduce((s, c) => s + c.totalSeconds, 0);
  const requests = runs.throughput.reduce((s, r) => s + r.requests, 0);
  const wall = runs.throughput.reduce((s, r) => s + r.durationSeconds, 0);
  return {
    requestsPerSecond: median(rps),
    requestsPerSecondMin: Math.min(...rps),
    requestsPerSecondMax: Math.max(...rps),
    cpuUsPerRequest: requests > 0 ? (cpuSeconds * 1e6) / requests : Number.NaN,
    cpuUtilisation: wall > 0 ? cpuSeconds / wall : Number.NaN,
    loadLatencyUs: medianLatency(runs.throughput),
    idleLatencyUs: medianLatency(runs.latency),
    idleCpuUsPerRequest: cpuPerRequest(runs.latencyCpu, runs.latency),
    throughputRuns: runs.throughput,
    latencyRuns: runs.latency,
    latencyCpu: runs.latencyCpu,
    cpu: runs.cpu,
    backgroundCores: runs.background,
  };
}

function cpuPerRequest(cpu: readonly CpuUsage[], runs: readonly WrkResult[]): number {
  const seconds = cpu.reduce((s, c) => s + c.totalSeconds, 0);
  const requests = runs.reduce((s, r) => s + r.requests, 0);
  return requests > 0 ? (seconds * 1e6) / requests : Number.NaN;
}

function problemsOf(name: string, runs: PhaseRuns): string[] {
  const out: string[] = [];
  runs.throughput.forEach((r, i) =>
    r.problems.forEach((p) => out.push(`${name} throughput run ${i + 1}: ${p}`)),
  );
  runs.latency.forEach((r, i) => r.problems.forEach((p) => out.push(`${name} latency run ${i + 1}: ${p}`)));
  return out;
}

export function evaluateTargets(
  targets: HttpTargets,
  ratio: number,
  serverTime: HttpRow['serverTime'],
): TargetResult[] {
  const out: TargetResult[] = [];
  if (targets.minRatio !== undefined) {
    out.push({
      label: `req/s ≥ ${Math.round(targets.minRatio * 100)}% of ceiling`,
      verdict: ratio >= targets.minRatio ? 'pass' : 'fail',
      actual: `${(ratio * 100).toFixed(0)}%`,
    });
  }
  if (targets.maxServerTimeP99Us !== undefined) {
    out.push(serverTimeTarget(targets.maxServerTimeP99Us, serverTime));
  }
  return out;
}

/**
 * Server time is judged on Quiver's own histogram when it has a bucket at exactly the limit (then
 * "p99 ≤ limit" ⇔ ≥ 99% of requests in that bucket, no interpolation). The client-observed p99 is
 * reported beside it: an upper bound that adds loopback, wrk, and any wait for the event loop before
 * the request handler ran. Without a histogram, the bound and the own time decide as before.
 */
function serverTimeTarget(limitUs: number, serverTime: HttpRow['serverTime']): TargetResult {
  const label = `server time p99 ≤ ${limitUs / 1000} ms`;
  const client =
    `client-observed p99 ≤ ${ms(serverTime.quiverP99Us)}, own ≈ ${ms(serverTime.ownP99Us)}, ` +
    `own p50 ≈ ${ms(serverTime.ownP50Us)}`;
  const buckets = serverTime.measured;
  const atLimit = buckets === undefined ? undefined : countWithin(buckets, limitUs / 1e6);
  const total = buckets === undefined ? 0 : bucketTotal(buckets);
  if (atLimit !== undefined && total > 0) {
    const within = atLimit / total;
    const p99 = quantileBound(buckets!, 0.99);
    return {
      label,
      verdict: within >= 0.99 ? 'pass' : 'fail',
      actual:
        `server histogram: ${(within * 100).toFixed(2)}% of ${total} ≤ ${limitUs / 1000} ms, p99 ≤ ${p99 * 1000} ms; ` +
        client,
    };
  }
  // A bare HTTP exchange on loopback takes ~0.1 ms; a ceiling p99 far above that means scheduling
  // stalls from other load dominate the tail, and no p99 verdict can be drawn from this run.
  const noisy = serverTime.ceilingP99Us > NOISY_CEILING_P99_US;
  return {
    label,
    verdict:
      serverTime.quiverP99Us <= limitUs
        ? 'pass'
        : noisy
          ? 'inconclusive'
          : serverTime.ownP99Us <= limitUs
            ? 'pass-own'
            : 'fail',
    actual:
      client + (noisy ? `; the ceiling's own p99 was ${ms(serverTime.ceilingP99Us)}: machine noise` : ''),
  };
}

export function fmtInt(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-';
}

export function ms(us: number): string {
  return Number.isFinite(us) ? `${(us / 1000).toFixed(2)} ms` : '-';
}

export function timestamp(date = new Date()): string {
  return date.toISOString().replace(/\..*$/, '').replace(/:/g, '-');
}
