/**
 * CPU time of another process from `/proc/<pid>/stat` (utime + stime, in clock ticks, all threads).
 * Sampled right before and right after a load run, it gives the server's CPU time per request: the
 * steadiest figure on a shared 2-core machine, because it does not depend on how much of the CPU
 * the scheduler happened to give the server, only on how much work each request cost.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface CpuTimes {
  /** User-mode CPU time, clock ticks. */
  readonly utimeTicks: number;
  /** Kernel-mode CPU time, clock ticks. */
  readonly stimeTicks: number;
}

let clockTicksPerSecond: number | undefined;

/** `getconf CLK_TCK` (100 on Linux x86-64 almost everywhere), read once. */
export function clockTicks(): number {
  if (clockTicksPerSecond === undefined) {
    const value = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (!Number.isInteger(value) || value <= 0) throw new Error(`getconf CLK_TCK returned "${value}"`);
    clockTicksPerSecond = value;
  }
  return clockTicksPerSecond;
}

/**
 * Parses one `/proc/<pid>/stat` line. The second field is the command name in parentheses and may
 * itself hold spaces and parentheses (e.g. `(my (odd) name)`), so fields are counted from the LAST
 * `)`: after it come field 3 (state) onwards; utime is field 14 and stime field 15 (proc(5)).
 */
export function parseProcStat(line: string): CpuTimes {
  const close = line.lastIndexOf(')');
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: "${line.slice(0, 80)}"`);
  const fields = line
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state), so field n is fields[n - 3].
  const utimeTicks = Number(fields[14 - 3]);
  const stimeTicks = Number(fields[15 - 3]);
  if (!Number.isFinite(utimeTicks) || !Number.isFinite(stimeTicks)) {
    throw new Error(`cannot read utime/stime from /proc stat line: "${line.slice(0, 120)}"`);
  }
  return { utimeTicks, stimeTicks };
}

export function readCpuTimes(pid: number): CpuTimes {
  return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

export interface CpuUsage {
  readonly userSeconds: number;
  readonly systemSeconds: number;
  readonly totalSeconds: number;
}

/** CPU seconds spent between two samples of the same process. */
export function cpuBetween(
  before: CpuTimes,
  after: CpuTimes,
  ticksPerSecond: number = clockTicks(),
): CpuUsage {
  const userSeconds = (after.utimeTicks - before.utimeTicks) / ticksPerSecond;
  const systemSeconds = (after.stimeTicks - before.stimeTicks) / ticksPerSecond;
  return { userSeconds, systemSeconds, totalSeconds: userSeconds + systemSeconds };
}

/** Measures the CPU time `pid` spends while `work` runs. */
export async function measureCpu<T>(
  pid: number,
  work: () => Promise<T>,
): Promise<{ result: T; cpu: CpuUsage }> {
  const ticks = clockTicks();
  const before = readCpuTimes(pid);
  const result = await work();
  const after = readCpuTimes(pid);
  return { result, cpu: cpuBetween(before, after, ticks) };
}

/** CPU µs per request: CPU seconds / requests. */
export function cpuMicrosPerRequest(cpu: CpuUsage, requests: number): number {
  return requests > 0 ? (cpu.totalSeconds * 1e6) / requests : Number.NaN;
}

/** Busy and total jiffies of the whole machine, from the `cpu` line of /proc/stat. */
export function parseSystemStat(text: string): { busy: number; total: number } {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) throw new Error('no "cpu" line in /proc/stat');
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
  const total = v.slice(0, 8).reduce((s, x) => s + x, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

/**
 * How many cores the rest of the machine keeps busy over `ms` (e.g. 0.4 = 40% of one core): all
 * CPU time from /proc/stat minus that of `excludePid` (the server under test, idle at that moment).
 * It shows how much other load would compete with the next run.
 */
export async function otherLoadCores(ms: number, excludePid?: number): Promise<number> {
  const ticks = clockTicks();
  const before = parseSystemStat(readFileSync('/proc/stat', 'utf8'));
  const ownBefore = excludePid === undefined ? undefined : readCpuTimes(excludePid);
  const start = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const after = parseSystemStat(readFileSync('/proc/stat', 'utf8'));
  const ownAfter = excludePid === undefined ? undefined : readCpuTimes(excludePid);
  const seconds = (performance.now() - start) / 1000;
  const own = ownBefore && ownAfter ? cpuBetween(ownBefore, ownAfter, ticks).totalSeconds : 0;
  return Math.max(0, (after.busy - before.busy) / ticks - own) / seconds;
}
