/**
 * Starting a runner's worker thread from source or from a build. A `.js` worker (a build) starts
 * directly; a `.ts` worker starts through ts-worker-boot.mjs, which registers tsx inside the thread
 * (see that file for why neither the main thread's hooks nor `--import` in execArgv work on Node 20).
 * Verified under `node bin/quiver.js`, `node --import tsx` and vitest.
 */
import { Worker } from 'node:worker_threads';
import type { WorkerInit } from './protocol.ts';

/** worker.ts beside this file when running from source, worker.js in a build. */
export const DEFAULT_WORKER_URL = new URL(
  import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js',
  import.meta.url,
);

const TS_BOOT_URL = new URL('./ts-worker-boot.mjs', import.meta.url);

export interface SpawnData extends WorkerInit {
  /** The real entry, for ts-worker-boot.mjs. */
  readonly entryUrl: string;
}

export function spawnWorker(workerUrl: URL, init: WorkerInit): Worker {
  const workerData: SpawnData = { ...init, entryUrl: workerUrl.href };
  const entry = workerUrl.pathname.endsWith('.ts') ? TS_BOOT_URL : workerUrl;
  return new Worker(entry, { workerData });
}
