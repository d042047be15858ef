/**
 * One server measured at several closed-loop connection levels in a row (e.g. 1, 16, 64, 256): one
 * warm-up at the highest level, then per level the machine's other load while the server idles,
 * `wrk -t1 -c<level>` with the server's CPU from /proc over exactly that run, and optionally a
 * scrape of the server's /metrics right before and right after it, so in-server figures (batch
 * sizes, event-loop delay) cover the same run as the client's.
 */
import { readFileSync } from 'node:fs';
import {
  cpuBetween,
  otherLoadCores,
  parseProcStat,
  readCpuTimes,
  type CpuTimes,
  type CpuUsage,
} from './proc-cpu.ts';
import { scrapeMetrics, type PromSample } from './prom-text.ts';
import type { ServerProcess } from './server-process.ts';
import { runWrk, type WrkResult } from './wrk.ts';

export interface LevelRun<S = undefined> {
  readonly connections: number;
  readonly wrk: WrkResult;
  readonly cpu: CpuUsage;
  /** The main thread's share of `cpu` (the event loop; the rest is runner threads, GC helpers, ...). */
  readonly mainThreadCpu: CpuUsage;
  /** Cores other processes kept busy in the 0.5 s before the run (the server idle). */
  readonly background: number;
  /** What `observe` made of the /metrics scrapes around the run. */
  readonly observed: S | undefined;
}

export interface LevelsSpec<S> {
  readonly server: ServerProcess;
  readonly path: string;
  readonly bodies: readonly string[];
  readonly contentType?: string;
  /** Ascending, e.g. [1, 16, 64, 256]. */
  readonly levels: readonly number[];
  /** Length of the run at a level (e.g. shorter at 1 connection). */
  readonly secondsAt: (connections: number) => number;
  readonly warmupSeconds: number;
  /** Turns the /metrics scrapes before and after a run into figures; no scrape when absent. */
  readonly observe?: (before: readonly PromSample[], after: readonly PromSample[]) => S;
  /** Called after each level with a one-line summary. */
  readonly log?: (run: LevelRun<S>) => void;
}

/** CPU times of a process's main thread (its task id is the pid). */
export function readMainThreadTimes(pid: number): CpuTimes {
  return parseProcStat(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));
}

export async function runLevels<S>(spec: LevelsSpec<S>): Promise<LevelRun<S>[]> {
  const wrk = (connections: number, seconds: number): Promise<WrkResult> =>
    runWrk({
      url: spec.server.url + spec.path,
      bodies: spec.bodies,
      connections,
      seconds,
      contentType: spec.contentType,
    });
  if (spec.warmupSeconds > 0) await wrk(Math.max(...spec.levels), spec.warmupSeconds);
  const runs: LevelRun<S>[] = [];
  for (const connections of spec.levels) {
    const background = await otherLoadCores(500, spec.server.pid);
    const before = spec.observe === undefined ? undefined : await scrapeMetrics(spec.server.url);
    const pid = spec.server.pid;
    const cpuBefore = readCpuTimes(pid);
    const mainBefore = readMainThreadTimes(pid);
    const result = await wrk(connections, spec.secondsAt(connections));
    const cpu = cpuBetween(cpuBefore, readCpuTimes(pid));
    const mainThreadCpu = cpuBetween(mainBefore, readMainThreadTimes(pid));
    const observed =
      spec.observe === undefined ? undefined : spec.observe(before!, await scrapeMetrics(spec.server.url));
    const run: LevelRun<S> = { connections, wrk: result, cpu, mainThreadCpu, background, observed };
    runs.push(run);
    spec.log?.(run);
  }
  return runs;
}

/**
 * Waits until GET `path` answers 200 (`/readyz`: every model loaded and warm; `/healthz`, which
 * the server process helper waits for, answers as soon as the server listens).
 */
export async function waitForPath(server: ServerProcess, path: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(server.url + path, { signal: AbortSignal.timeout(1000) });
      last = `${res.status} ${await res.text()}`;
      if (res.ok) return;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `${server.url}${path} did not answer 200 within ${timeoutMs} ms (last: ${last.slice(0, 300)})`,
  );
}
