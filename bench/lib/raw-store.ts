/**
 * The raw store read limit, in-process: time the store's own read() (the same call Quiver's
 * feature service makes, one per request) for batches of 1 and 100 random keys on the same data the
 * server serves. Synchronous stores (LMDB) are called in a tight loop without awaiting; async
 * stores (Redis) are measured one call at a time (latency per read) and with `concurrency` reads in
 * flight (the throughput limit, which auto-pipelining makes much cheaper per read).
 */
import { performance } from 'node:perf_hooks';
import type { OnlineStore, ReadResult } from '../../src/stores/online-store.ts';

export interface RawReadResult {
  readonly store: string;
  readonly keysPerRead: number;
  /** 'sequential': one read at a time; 'concurrent': `concurrency` reads in flight. */
  readonly mode: 'sequential' | 'concurrent';
  readonly concurrency: number;
  readonly reads: number;
  readonly seconds: number;
  /** Wall-clock µs per read() call (for 'concurrent': elapsed / reads). */
  readonly usPerRead: number;
  readonly usPerKey: number;
  /** Fraction of requested keys that had a record (should be 1 on bench data). */
  readonly hitRate: number;
}

export interface RawReadOptions {
  readonly seconds?: number;
  readonly warmupSeconds?: number;
  readonly concurrency?: number;
}

function hits(result: ReadResult): number {
  let n = 0;
  for (const row of result) if (row !== undefined) n++;
  return n;
}

/** Times `store.read(view, keys)` over rotating key sets. */
export async function measureRawReads(
  store: OnlineStore,
  view: string,
  keySets: readonly (readonly string[])[],
  options: RawReadOptions = {},
): Promise<RawReadResult[]> {
  const seconds = options.seconds ?? 1;
  const keysPerRead = keySets[0]?.length ?? 0;
  const probe = store.read(view, keySets[0]!);
  const sync = !(probe instanceof Promise);
  const hitRate = hits(await probe) / keysPerRead;

  const results: RawReadResult[] = [];
  if (sync) {
    loopSync(store, view, keySets, options.warmupSeconds ?? 0.3);
    const { reads, elapsed } = loopSync(store, view, keySets, seconds);
    results.push(result(store.kind, keysPerRead, 'sequential', 1, reads, elapsed, hitRate));
  } else {
    await loopAsync(store, view, keySets, options.warmupSeconds ?? 0.3, 1);
    const seq = await loopAsync(store, view, keySets, seconds, 1);
    results.push(result(store.kind, keysPerRead, 'sequential', 1, seq.reads, seq.elapsed, hitRate));
    const concurrency = options.concurrency ?? 32;
    const conc = await loopAsync(store, view, keySets, seconds, concurrency);
    results.push(
      result(store.kind, keysPerRead, 'concurrent', concurrency, conc.reads, conc.elapsed, hitRate),
    );
  }
  return results;
}

function result(
  store: string,
  keysPerRead: number,
  mode: 'sequential' | 'concurrent',
  concurrency: number,
  reads: number,
  elapsedMs: number,
  hitRate: number,
): RawReadResult {
  const usPerRead = (elapsedMs * 1000) / reads;
  return {
    store,
    keysPerRead,
    mode,
    concurrency,
    reads,
    seconds: elapsedMs / 1000,
    usPerRead,
    usPerKey: usPerRead / keysPerRead,
    hitRate,
  };
}

/** Sink so the JIT cannot drop the reads. */
let sink = 0;

function loopSync(
  store: OnlineStore,
  view: string,
  keySets: readonly (readonly string[])[],
  seconds: number,
): { reads: number; elapsed: number } {
  const start = performance.now();
  const end = start + seconds * 1000;
  let reads = 0;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 256; i++) {
      const r = store.read(view, keySets[reads++ % keySets.length]!) as ReadResult;
      sink += r.length;
    }
    now = performance.now();
  }
  return { reads, elapsed: now - start };
}

async function loopAsync(
  store: OnlineStore,
  view: string,
  keySets: readonly (readonly string[])[],
  seconds: number,
  concurrency: number,
): Promise<{ reads: number; elapsed: number }> {
  const start = performance.now();
  const end = start + seconds * 1000;
  let reads = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const r = await store.read(view, keySets[reads++ % keySets.length]!);
      sink += r.length;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { reads, elapsed: performance.now() - start };
}

export function rawReadSink(): number {
  return sink;
}
