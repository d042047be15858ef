/**
 * A profiled run of Quiver at one connection level, for scenarios with their own protocol: the
 * server starts under `node --cpu-prof`, waits until ready, is warmed up, then loaded for the
 * measured window, and stopped. `--cpu-prof` writes one profile per thread (main thread id 0, each
 * runner worker thread its own): the main thread's is summarised in full, the others by busy time.
 * Only samples inside the measured window count (start-up and warm-up are cut out).
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { waitForPath } from './connection-levels.ts';
import { readProfile, renderProfileSummary, summariseProfile, type ProfileSummary } from './cpuprofile.ts';
import { startQuiver } from './server-process.ts';
import { runWrk, type WrkResult } from './wrk.ts';

export interface ProfileRunSpec {
  readonly configPath: string;
  readonly path: string;
  readonly bodies: readonly string[];
  readonly connections: number;
  readonly seconds: number;
  readonly warmupSeconds: number;
  /** Where the .cpuprofile files go (created). */
  readonly dir: string;
  /** Waited for after start (default /readyz). */
  readonly readyPath?: string;
}

export interface ThreadBusy {
  readonly file: string;
  /** Thread id from the file name (0 = main). */
  readonly threadId: number;
  readonly busyUs: number;
  readonly wallUs: number;
}

export interface ProfileRunResult {
  readonly files: readonly string[];
  readonly requests: number;
  readonly requestsPerSecond: number;
  readonly main: ProfileSummary;
  readonly threads: readonly ThreadBusy[];
  readonly markdown: string;
}

/** The clock of V8's profile timestamps (CLOCK_MONOTONIC), in µs. */
const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

/** `CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile` → tid. */
export function profileThreadId(file: string): number {
  const m = /\.(\d+)\.(\d+)\.(\d+)\.cpuprofile$/.exec(path.basename(file));
  return m === null ? Number.NaN : Number(m[2]);
}

export async function profileQuiverRun(spec: ProfileRunSpec): Promise<ProfileRunResult | undefined> {
  await mkdir(spec.dir, { recursive: true });
  const server = await startQuiver({
    configPath: spec.configPath,
    // 100 µs sampling: fine enough for request handling measured in tens of µs.
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${spec.dir}`, '--cpu-prof-interval=100'],
  });
  const wrk = (seconds: number): Promise<WrkResult> =>
    runWrk({ url: server.url + spec.path, bodies: spec.bodies, connections: spec.connections, seconds });
  let window: { fromUs: number; toUs: number };
  let measured: WrkResult;
  try {
    await waitForPath(server, spec.readyPath ?? '/readyz');
    await wrk(spec.warmupSeconds);
    const fromUs = nowUs();
    measured = await wrk(spec.seconds);
    window = { fromUs, toUs: nowUs() };
  } finally {
    await server.stop();
  }
  const files = (await readdir(spec.dir))
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => path.join(spec.dir, f))
    .sort((a, b) => profileThreadId(a) - profileThreadId(b));
  const mainFile = files.find((f) => profileThreadId(f) === 0);
  if (mainFile === undefined) return undefined;
  const threads: ThreadBusy[] = [];
  let main: ProfileSummary | undefined;
  for (const file of files) {
    const summary = summariseProfile(await readProfile(file), window);
    if (file === mainFile) main = summary;
    threads.push({ file, threadId: profileThreadId(file), busyUs: summary.busyUs, wallUs: summary.wallUs });
  }
  const requests = measured.requests;
  const perThread = threads
    .map(
      (t) =>
        `thread ${t.threadId}${t.threadId === 0 ? ' (main)' : ''}: ${(t.busyUs / 1e6).toFixed(2)} s busy ` +
        `(${((100 * t.busyUs) / t.wallUs).toFixed(0)}% of the window, ${(t.busyUs / requests).toFixed(1)} µs/req)`,
    )
    .join('; ');
  return {
    files,
    requests,
    requestsPerSecond: measured.requestsPerSecond,
    main: { ...main!, functions: main!.functions.slice(0, 200) },
    threads,
    markdown:
      `Sampled busy time per thread over the measured window: ${perThread}.\n\n` +
      `Main thread:\n\n${renderProfileSummary(main!, { requests })}`,
  };
}
