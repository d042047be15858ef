/**
 * CPU pinning for the burst and features scenarios (Linux, `taskset` from util-linux): the server's
 * event loop (its main thread) gets core 0 to itself; its other threads (model runners, V8 and libuv
 * helpers) and the load generator share the other cores. The features scenarios pin the ceiling
 * the same way (lib/http-scenario.ts).
 *
 * Why: on a 2-core machine the load generator has to run somewhere. Left to the scheduler, it and
 * the compute-bound runner thread take turns on the event loop's core, and a refusal that costs
 * ~50 µs of CPU is preempted mid-way: measured, 97.9–99.2% of queue-full refusals within 1 ms and
 * 23–41% within 0.1 ms unpinned, against 99.8–100% and 47–89% pinned (a dozen burst runs of
 * each). Capacity is measured under the same pinning, so 10× stays 10× of what the pinned server
 * can do. `BENCH_PIN=0` turns it off.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';

/** Where the event loop runs, and where everything else (runners, generator) runs. */
export interface Pinning {
  readonly eventLoopCpu: number;
  readonly otherCpus: string;
  /** Threads of the server moved to `otherCpus`. */
  readonly otherThreads: number;
}

/** Whether pinning is wanted and possible: BENCH_PIN is not 0, Linux, ≥ 2 cores. */
export function pinningWanted(): boolean {
  return process.env.BENCH_PIN !== '0' && process.platform === 'linux' && os.cpus().length >= 2;
}

/**
 * Pins the server's main thread to CPU 0 and its other threads to the remaining CPUs. Threads the
 * main thread starts later inherit CPU 0: call it once the server is up (runners started).
 */
export function pinServer(pid: number): Pinning {
  const last = os.cpus().length - 1;
  const otherCpus = last === 1 ? '1' : `1-${last}`;
  const threads = readdirSync(`/proc/${pid}/task`);
  for (const tid of threads) taskset(['-pc', tid === String(pid) ? '0' : otherCpus, tid]);
  return { eventLoopCpu: 0, otherCpus, otherThreads: threads.length - 1 };
}

/** Pins every thread of a process (the load generator) to `cpus` (taskset list syntax). */
export function pinProcess(pid: number, cpus: string): void {
  taskset(['-apc', cpus, String(pid)]);
}

function taskset(args: string[]): void {
  execFileSync('taskset', args, { stdio: 'ignore' });
}
