/**
 * Results: one JSON file per scenario in bench/results/<scenario>-<timestamp>.json, and the
 * Markdown tables printed at the end of a run (all scenarios of the run in one table).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fmtInt, ms, sliceSeconds, slicesPerRound, timestamp } from './http-scenario.ts';
import type { Pinning } from './affinity.ts';
import type { HttpRow, ScenarioResult, TargetResult } from './types.ts';
import type { LatencyUs } from './wrk.ts';

/** Writes the result as JSON; returns the file path. */
export async function writeResult(result: ScenarioResult, resultsDir: string): Promise<string> {
  await mkdir(resultsDir, { recursive: true });
  const name = `${result.id.replace(/[^\w.-]+/g, '-')}-${timestamp(new Date(result.startedAt))}.json`;
  const file = path.join(resultsDir, name);
  await writeFile(
    file,
    `${JSON.stringify(result, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2)}\n`,
  );
  return file;
}

const us1 = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '-');
const pct = (n: number): string => (Number.isFinite(n) ? `${(n * 100).toFixed(0)}%` : '-');
const lat = (l: LatencyUs): string =>
  [l.p50, l.p99, l.p999].map((v) => (Number.isFinite(v) ? (v / 1000).toFixed(2) : '-')).join(' / ');

function verdict(t: TargetResult): string {
  const mark = { pass: '✅', 'pass-own': '🟡', inconclusive: '⚪', fail: '❌' }[t.verdict];
  return `${mark} ${t.label} (${t.actual})`;
}

function limitsCell(row: HttpRow): string {
  if (row.limits.length === 0) return '-';
  return row.limits.map((l) => `${us1(l.usPerOp)}${l.note ? ` (${l.note})` : ''}`).join('; ');
}

/**
 * Where the servers and wrk ran. Pinned, as the burst scenario is: with two cores, left to the
 * scheduler, wrk and a server's event loop take turns on one core part of the time, and each
 * migration and shared-core stretch is measured as if it were the server's cost.
 */
function cpusSentence(pinning: Pinning | undefined): string {
  return pinning === undefined
    ? 'CPUs: not pinned (wrk and the servers share the cores as the scheduler places them; `BENCH_PIN=0`, or not Linux with ≥ 2 cores).'
    : `CPUs: each server's event loop alone on CPU ${pinning.eventLoopCpu}; its other threads (V8 and libuv helpers) and wrk on CPU ${pinning.otherCpus} (\`BENCH_PIN=0\` turns this off).`;
}

function rowName(row: HttpRow): string {
  return `${row.ok ? '' : '⚠ '}${row.scenario}`;
}

/** The shared tables for every HTTP row of the run, with the methodology as footnotes. */
export function renderMarkdown(results: readonly ScenarioResult[]): string {
  const rows = results.flatMap((r) => r.rows);
  const out: string[] = [];
  if (rows.length > 0) {
    const conns = [...new Set(rows.map((r) => r.connections))].join('/');
    out.push(
      '| scenario | store | req/s Quiver | req/s ceiling | ratio¹ | CPU µs/req Quiver / ceiling² | CPU ratio³ | raw store µs/read⁴ | server time @1c⁵: p99 bound / own · p50 own | CPU µs/req @1c⁶ Quiver / ceiling |',
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of rows) {
      out.push(
        `| ${rowName(r)} | ${r.variant} | ${fmtInt(r.quiver.requestsPerSecond)} | ${fmtInt(r.ceiling.requestsPerSecond)} | ${pct(r.ratio)} | ` +
          `${us1(r.quiver.cpuUsPerRequest)} / ${us1(r.ceiling.cpuUsPerRequest)} | ${pct(r.cpuRatio)} | ${limitsCell(r)} | ` +
          `${ms(r.serverTime.quiverP99Us)} / ${ms(r.serverTime.ownP99Us)} · ${ms(r.serverTime.ownP50Us)} | ` +
          `${us1(r.quiver.idleCpuUsPerRequest)} / ${us1(r.ceiling.idleCpuUsPerRequest)} |`,
      );
    }
    out.push(
      '',
      `| scenario | store | Quiver @${conns}c p50 / p99 / p99.9 ms | ceiling @${conns}c | Quiver @1c | ceiling @1c | Quiver CPU use⁷ | ceiling CPU use | other load⁸ | req/s spread Quiver / ceiling⁹ | response bytes |`,
      '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    );
    for (const r of rows) {
      const spread = (f: HttpRow['quiver']): string =>
        `${fmtInt(f.requestsPerSecondMin)}–${fmtInt(f.requestsPerSecondMax)}`;
      const other = Math.max(...r.quiver.backgroundCores, ...r.ceiling.backgroundCores);
      out.push(
        `| ${rowName(r)} | ${r.variant} | ${lat(r.quiver.loadLatencyUs)} | ${lat(r.ceiling.loadLatencyUs)} | ${lat(r.quiver.idleLatencyUs)} | ` +
          `${lat(r.ceiling.idleLatencyUs)} | ${pct(r.quiver.cpuUtilisation)} | ${pct(r.ceiling.cpuUtilisation)} | ` +
          `${Number.isFinite(other) ? other.toFixed(2) : '-'} cores | ${spread(r.quiver)} / ${spread(r.ceiling)} | ${r.responseBytes} |`,
      );
    }
    const targeted = rows.filter((r) => r.targets.length > 0);
    if (targeted.length > 0) {
      out.push('', 'Targets:', '');
      for (const r of targeted)
        out.push(`- ${r.scenario}:${r.variant}: ${r.targets.map(verdict).join('; ')}`);
    }
    const s = results[0]!.settings;
    out.push(
      '',
      `Method: each round starts Quiver (\`node bin/quiver.js serve\`) and the ceiling, each in its own process, warms each up for ${s.warmupSeconds} s, ` +
        `then runs \`wrk -t1 -c${conns}\` (closed loop, peak throughput) against them in turn, ${slicesPerRound(s.seconds)} slice(s) of ${sliceSeconds(s.seconds)} s each ` +
        '(Q C, C Q, ...: only one server is under load at a time), then `wrk -t1 -c1` against each for ' +
        `${s.latencySeconds} s, and stops both. ${s.repeats} round(s); figures are medians over slices or rounds. ` +
        "Request bodies rotate over many distinct entity ids. Percentiles are exact, from wrk's own histogram (Lua `done()`). " +
        cpusSentence(rows[0]!.pinning),
      '',
      '1. Quiver req/s ÷ ceiling req/s: the median over adjacent (Quiver, ceiling) slices of their ratio, so both sides of each ratio ran in the same state of the host ' +
        "(a server's speed here moves by up to 1.5× between runs seconds apart; see bench/README.md). The ceiling is a plain `node:http` server in its own process that reads each request body and answers with " +
        'a fixed buffer: a real Quiver response of the scenario, byte for byte (same size, same content type). It is the HTTP limit of this machine for this exchange, measured in the same run.',
      '2. Server CPU time per request: utime+stime of the server process from `/proc/<pid>/stat` over exactly the throughput runs, ÷ requests completed. ' +
        'The steadiest figure on a shared machine: it counts work, not how much CPU the scheduler happened to grant.',
      '3. Ceiling CPU µs/req ÷ Quiver CPU µs/req: the throughput ratio a CPU-bound server would reach with the same cores. Cross-checks ratio¹ when req/s is noisy.',
      "4. The store's own `read()` for the scenario's batch (1 or 100 keys), in-process on the same data, nothing else running. " +
        'LMDB: a tight synchronous loop. Redis: one call at a time (round-trip latency), and "in flight" = 32 concurrent calls (throughput limit, µs = wall time ÷ calls).',
      '5. Server time at ONE connection (no queueing). "p99 bound": the client-observed p99, i.e. server time + loopback + wrk, an upper bound of server time. ' +
        '"own": that minus the ceiling\'s p99 at one connection, i.e. the time Quiver adds over the bare HTTP exchange; "p50 own" likewise at the median, far less sensitive to noise. ' +
        "Nothing else is subtracted. The p99 targets are judged on Quiver's own `quiver_http_request_duration_seconds` histogram over the same runs (from its request handler's start to the answer written; " +
        'it has a bucket at each target, so "p99 ≤ 1 ms" holds exactly when ≥ 99% of the requests fall in `le="0.001"`); the client-observed figures stay beside it as the bound that adds loopback, wrk and any wait before the handler ran.',
      '6. Server CPU µs per request during the 1-connection runs: the cost of a request served alone; for a server that never waits (LMDB) a steady estimate of its mean server time.',
      '7. Server CPU seconds ÷ wall seconds during the throughput runs (100% = one full core). Well below 100% means the server was not the bottleneck (wrk, the kernel, or other load was).',
      "8. The most CPU other processes used (in cores, of the machine's total) in the 0.5 s before any measured run, while the server idled. Above ~0.3 cores, req/s and latency figures are disturbed.",
      '9. min–max req/s over the throughput slices: the noise of this machine.',
    );
  }
  for (const r of results) if (r.markdown) out.push('', `### ${r.id}`, '', r.markdown);
  const invalid = rows.filter((r) => !r.ok);
  const warnings = results.flatMap((r) => r.warnings);
  if (invalid.length > 0) {
    out.push(
      '',
      `**⚠ INVALID: ${invalid.length} row(s) had socket errors or non-2xx responses; their figures are not valid measurements.**`,
    );
  }
  if (warnings.length > 0) out.push('', 'Warnings:', '', ...warnings.map((w) => `- ${w}`));
  const loads = results.map(
    (r) => `${r.id}: ${r.machine.loadAvgBefore[0]?.toFixed(2)} → ${r.machine.loadAvgAfter[0]?.toFixed(2)}`,
  );
  if (results.length > 0) {
    const m = results[0]!.machine;
    out.push(
      '',
      `Machine: ${m.cpus} × ${m.cpuModel}, Node ${m.node}, ${m.wrk}. 1-min load average before → after: ${loads.join('; ')}.`,
    );
  }
  return out.join('\n');
}
