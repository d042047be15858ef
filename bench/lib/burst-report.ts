/**
 * The `burst` scenario's figures and Markdown (bench/scenarios/burst.ts measures, this file judges):
 * per-priority outcomes and latencies, answer times of rejections by kind, shed fraction, recovery
 * after the burst, RSS, and the targets of the issue.
 */
import {
  outcomes,
  percentile,
  recoveryAfter,
  scheduledLatency,
  select,
  sentLatency,
  summarise,
  type LatencySummary,
} from './load-stats.ts';
import { CODES, type LoadResult } from './open-loop.ts';
import type { Pinning } from './affinity.ts';
import type { Bucket } from './prom-text.ts';
import type { ScenarioOutput } from './types.ts';

export interface BurstVariant {
  readonly name: string;
  readonly highFraction: number;
}

/** What the run was: printed with the figures. */
export interface BurstSetup {
  readonly model: { readonly trees: number; readonly depth: number; readonly evaluationsPerRow: number };
  readonly queue: unknown;
  readonly batching: unknown;
  readonly capacityConnections: number;
  /** CPU pinning of the run (lib/affinity.ts); undefined when unpinned. */
  readonly pinning: Pinning | undefined;
  readonly burstFactor: number;
  readonly burstSeconds: number;
  readonly targets: {
    readonly highP99Factor: number;
    readonly rejectP99Ms: number;
    readonly recoveryMs: number;
  };
}

interface PriorityFigures {
  readonly latency: LatencySummary;
  readonly outcomes: Record<string, number>;
}

function byPriority(r: LoadResult, indices: readonly number[]): Record<'high' | 'low', PriorityFigures> {
  const of = (high: boolean): PriorityFigures => {
    const mine = indices.filter((i) => (r.priority[i] === 1) === high);
    return {
      latency: summarise(mine.filter((i) => r.status[i] === 200).map((i) => scheduledLatency(r, i))),
      outcomes: outcomes(r, mine),
    };
  };
  return { high: of(true), low: of(false) };
}

const f2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');
const pct = (n: number): string => (Number.isFinite(n) ? `${(100 * n).toFixed(1)}%` : '-');
const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;
const mark = (ok: boolean): string => (ok ? '✅' : '❌');

export interface Measured {
  readonly capacityRps: number;
  readonly unloaded: LoadResult;
  readonly burst: LoadResult;
  readonly rss: number[];
  readonly cpuSeconds: number;
  readonly raw: { batch1Ms: number; perRowAt8Ms: number };
  /**
   * Queue-full rejections timed inside the server over the burst run (request event → answer
   * written, `quiver_http_error_duration_seconds`): what the server itself spends on one.
   */
  readonly serverQueueFull: {
    count: number;
    withinTargetCount: number;
    p99BoundMs: number;
    /** The server's histogram of them (cumulative counts by bound, seconds), kept in the JSON. */
    buckets: readonly Bucket[];
  };
  readonly warnings: string[];
}

export function analyseBurst(variant: BurstVariant, setup: BurstSetup, m: Measured): ScenarioOutput {
  const { burst: r, unloaded: u } = m;
  const all = (res: LoadResult): number[] => select(res, () => true);
  const base = byPriority(u, all(u));
  const unloadedAllP99 = percentile(
    all(u).map((i) => scheduledLatency(u, i)),
    99,
  );
  const [preStart, burstStart, postStart] = r.phaseStartMs as [number, number, number];
  const inBurst = select(r, (i) => r.phase[i] === 1);
  const afterBurst = select(r, (i) => r.phase[i] === 2);
  const during = byPriority(r, inBurst);
  const after = byPriority(r, afterBurst);
  const rejected = inBurst.filter((i) => r.status[i] !== 200);
  const codeOf = (name: (typeof CODES)[number]) => CODES.indexOf(name);
  const rejectLatency = (code: number): LatencySummary =>
    summarise(rejected.filter((i) => r.code[i] === code).map((i) => sentLatency(r, i)));
  const queueFull = rejectLatency(codeOf('QUIVER_ERR_QUEUE_FULL'));
  const sq = m.serverQueueFull;
  const shed = rejectLatency(codeOf('QUIVER_ERR_SHED'));
  const expired = rejectLatency(codeOf('QUIVER_ERR_DEADLINE_EXCEEDED'));
  const burstEndMs = postStart;
  const recovery = recoveryAfter(r, burstEndMs, unloadedAllP99, { untilMs: burstEndMs + 5000 });
  const sendLag = summarise(inBurst.map((i) => r.sentMs[i]! - r.scheduledMs[i]!));
  const offeredRps = inBurst.length / ((postStart - burstStart) / 1000);
  const [rssBefore, rssAfter] = [m.rss[0]!, m.rss[m.rss.length - 1]!];
  const rssPeak = Math.max(...m.rss);
  const highErrors = [...inBurst, ...afterBurst].filter(
    (i) => r.priority[i] === 1 && r.status[i] !== 200,
  ).length;
  const clientErrors = select(r, (i) => r.status[i] === 0).length;
  void preStart;

  const targets = [
    {
      label: `high-priority p99 ≤ ${setup.targets.highP99Factor}× unloaded`,
      ok: during.high.latency.p99Ms <= setup.targets.highP99Factor * base.high.latency.p99Ms,
      actual: `${f2(during.high.latency.p99Ms)} ms vs ${f2(base.high.latency.p99Ms)} ms unloaded (${f2(during.high.latency.p99Ms / base.high.latency.p99Ms)}×)`,
    },
    {
      label: 'no high-priority errors',
      ok: highErrors === 0,
      actual: `${highErrors} during and after the burst`,
    },
    {
      label: `excess rejected in ≤ ${setup.targets.rejectP99Ms} ms (p99 of 503 queue-full, timed in the server)`,
      ok: sq.p99BoundMs <= setup.targets.rejectP99Ms,
      actual:
        `${pct(sq.withinTargetCount / sq.count)} of ${sq.count} within ${setup.targets.rejectP99Ms} ms, p99 ≤ ${f2(sq.p99BoundMs)} ms (histogram bucket); ` +
        `seen by the load generator (${setup.pinning === undefined ? 'on the same 2 cores' : "on the runner's core"}): p99 ${f2(queueFull.p99Ms)} ms, max ${f2(queueFull.maxMs)} ms`,
    },
    {
      label: `latency back to normal ≤ ${setup.targets.recoveryMs} ms after the burst`,
      ok: recovery.recoveryMs <= setup.targets.recoveryMs,
      actual: `${Number.isFinite(recovery.recoveryMs) ? recovery.recoveryMs.toFixed(0) : 'never (within 5 s)'} ms`,
    },
    {
      label: 'memory bounded',
      ok: rssAfter - rssBefore < 64 * 1048576,
      actual: `RSS ${mb(rssBefore)} → peak ${mb(rssPeak)} → ${mb(rssAfter)}`,
    },
  ];
  for (const t of targets)
    if (!t.ok) m.warnings.push(`burst:${variant.name}: target missed: ${t.label} (${t.actual})`);
  if (clientErrors > 0)
    m.warnings.push(
      `burst:${variant.name}: ${clientErrors} requests failed on the client side (timeouts, sockets)`,
    );
  // Latency counts from the scheduled send, so a little lag is measured, not hidden; a lot means the
  // machine could not generate the burst as scheduled.
  if (offeredRps < 0.9 * setup.burstFactor * m.capacityRps || sendLag.p99Ms > 20) {
    m.warnings.push(
      `burst:${variant.name}: the generator offered ${offeredRps.toFixed(0)} req/s (asked ${(setup.burstFactor * m.capacityRps).toFixed(0)}), send lag p99 ${f2(sendLag.p99Ms)} ms: the machine could not offer the full burst`,
    );
  }

  const row = (name: string, f: PriorityFigures): string => {
    const total = Object.values(f.outcomes).reduce((s, n) => s + n, 0);
    const rejectedShare = 1 - (f.outcomes.ok ?? 0) / total;
    const detail = Object.entries(f.outcomes)
      .filter(([k]) => k !== 'ok')
      .map(([k, n]) => `${k.replace('QUIVER_ERR_', '')} ${n}`)
      .join(', ');
    return `| ${name} | ${total} | ${pct(rejectedShare)} | ${detail || '-'} | ${f2(f.latency.p50Ms)} / ${f2(f.latency.p99Ms)} / ${f2(f.latency.maxMs)} |`;
  };
  const markdown = [
    `Model: tree ensemble of ${setup.model.trees} trees × depth ${setup.model.depth}, evaluated ${setup.model.evaluationsPerRow}× per row (raw onnxruntime, 1 thread: ${f2(m.raw.batch1Ms)} ms at batch 1, ${f2(m.raw.perRowAt8Ms)} ms/row at batch 8). ` +
      `Serving: 1 runner, batching ${JSON.stringify(setup.batching)}, queue ${JSON.stringify(setup.queue)}. ` +
      (setup.pinning === undefined
        ? 'CPUs: not pinned (the load generator and the runner compete with the event loop for its core).'
        : `CPUs: the event loop alone on CPU ${setup.pinning.eventLoopCpu}; the server's ${setup.pinning.otherThreads} other threads (runner, V8/libuv helpers) and the load generator on CPU ${setup.pinning.otherCpus}.`),
    '',
    `Capacity (closed loop, ${setup.capacityConnections} connections): **${m.capacityRps.toFixed(0)} req/s**. Burst: ${offeredRps.toFixed(0)} req/s offered for ${setup.burstSeconds} s ` +
      `(${(offeredRps / m.capacityRps).toFixed(1)}× capacity; generator send lag p99 ${f2(sendLag.p99Ms)} ms), ${(variant.highFraction * 100).toFixed(0)}% with x-priority: 1. ` +
      `Server CPU over the burst run: ${m.cpuSeconds.toFixed(1)} s.`,
    '',
    '| phase · priority | requests | rejected | rejections by code | latency of 200s p50 / p99 / max ms (from scheduled send) |',
    '|---|---:|---:|---|---:|',
    row('unloaded · high', base.high),
    row('unloaded · low', base.low),
    row('burst · high', during.high),
    row('burst · low', during.low),
    row('after burst (5 s) · high', after.high),
    row('after burst (5 s) · low', after.low),
    '',
    '| rejection | count | answer time seen by the load generator p50 / p99 / max ms |',
    '|---|---:|---:|',
    `| 503 QUEUE_FULL (at once) | ${queueFull.count} | ${f2(queueFull.p50Ms)} / ${f2(queueFull.p99Ms)} / ${f2(queueFull.maxMs)} |`,
    `| 503 SHED (CoDel, lowest priority first) | ${shed.count} | ${f2(shed.p50Ms)} / ${f2(shed.p99Ms)} / ${f2(shed.maxMs)} |`,
    `| 504 DEADLINE_EXCEEDED | ${expired.count} | ${f2(expired.p50Ms)} / ${f2(expired.p99Ms)} / ${f2(expired.maxMs)} |`,
    '',
    `Shed fraction during the burst: ${pct(rejected.length / inBurst.length)} of all requests (high ${pct(
      1 -
        (during.high.outcomes.ok ?? 0) /
          Math.max(
            1,
            Object.values(during.high.outcomes).reduce((s, n) => s + n, 0),
          ),
    )}). ` +
      `Recovery: ${Number.isFinite(recovery.recoveryMs) ? `${recovery.recoveryMs.toFixed(0)} ms` : 'not within 5 s'} to the first 100 ms window (by scheduled time) with no error and p99 ≤ 1.5× the unloaded p99 (${f2(unloadedAllP99)} ms). ` +
      `Server RSS: ${mb(rssBefore)} before → ${mb(rssPeak)} peak → ${mb(rssAfter)} after.`,
    '',
    'Targets:',
    '',
    ...targets.map((t) => `- ${mark(t.ok)} ${t.label}: ${t.actual}`),
  ].join('\n');
  return {
    rows: [],
    markdown,
    warnings: m.warnings,
    details: {
      variant,
      model: setup.model,
      queue: setup.queue,
      batching: setup.batching,
      capacityRps: m.capacityRps,
      offeredRps,
      sendLagMs: sendLag,
      raw: m.raw,
      unloaded: base,
      unloadedP99Ms: unloadedAllP99,
      burst: during,
      afterBurst: after,
      rejections: { queueFull, shed, expired },
      recovery,
      rssBytes: { before: rssBefore, peak: rssPeak, after: rssAfter },
      serverCpuSeconds: m.cpuSeconds,
      serverQueueFull: m.serverQueueFull,
      targets,
    },
  };
}
