/**
 * Optional scheduling priority for the processes of a run (server, ceiling, wrk): BENCH_PRIORITY=-10
 * (negative values need root) makes them win the CPU against other work on a shared machine. Off
 * by default: it slows everything else down. Nothing is pinned to a core.
 */
import { setPriority } from 'node:os';

export function benchPriority(): number | undefined {
  const raw = process.env.BENCH_PRIORITY;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < -20 || n > 19)
    throw new Error(`BENCH_PRIORITY must be an integer -20..19, got "${raw}"`);
  return n;
}

export function applyBenchPriority(pid: number | undefined): void {
  const priority = benchPriority();
  if (priority === undefined || pid === undefined) return;
  setPriority(pid, priority);
}
