/**
 * `quiver worker` as real processes (`node bin/quiver.js worker`) on the real RabbitMQ and Redis:
 * - a worker SIGKILLed mid-job: RabbitMQ redelivers the job, another worker completes it;
 * - SIGTERM with jobs in flight: they complete, are stored and acked, and the worker exits 0.
 * The model is gbdt behind an on-demand transform that spins for `spin_ms` (request data), so a job
 * is reliably "in the middle" while the test acts; the feature rows live in an LMDB directory the
 * test seeds and every process opens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import type { JobRecord } from '../../src/jobs/job.ts';
import { RedisResultStore } from '../../src/jobs/redis/redis-result-store.ts';
import { startServer, type RunningServer } from '../../src/main.ts';
import { createLogger } from '../../src/metrics/logger.ts';
import { LmdbStore } from '../../src/stores/lmdb/lmdb-store.ts';
import { FEATURE_NAMES, GBDT_PATH, ROWS, TOLERANCE, seedRows } from '../fixtures/inference.ts';
import {
  RABBITMQ,
  RABBITMQ_URL,
  REDIS,
  REDIS_URL,
  serviceAvailable,
  uniquePrefix,
} from '../support/services.ts';
import { deleteKeys, deleteTopology, testQueue, withAdmin } from './rabbit-admin.ts';

const up = (await serviceAvailable(RABBITMQ)) && (await serviceAvailable(REDIS));

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'bin', 'quiver.js');
const ENV: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('QUIVER_'))),
  QUIVER_LOG_LEVEL: 'warn',
};

function configSource(options: { queue: string; keyPrefix: string; project: string }): string {
  const features = FEATURE_NAMES.slice(0, -1).map((f) => `rows:${f}`);
  return `// Written by test/jobs/worker-process.test.ts
export default {
  project: ${JSON.stringify(options.project)},
  onlineStore: { type: 'lmdb', path: './online' },
  entities: [{ name: 'row', joinKeys: ['row_id'] }],
  featureViews: [{
    name: 'rows', entities: ['row'], ttlSeconds: 0,
    schema: ${JSON.stringify(Object.fromEntries(FEATURE_NAMES.map((f) => [f, 'float32'])))},
  }],
  onDemandFeatureViews: [{
    name: 'slow', inputs: { rows: ['f15'] }, request: { spin_ms: 'float64' }, schema: { f15_slow: 'float32' },
    transform: (b) => {
      const until = Date.now() + Math.max(...b.spin_ms);
      while (Date.now() < until) { /* a CPU-heavy feature: the job is mid-run while this spins */ }
      return { f15_slow: b.f15 };
    },
  }],
  featureServices: [{ name: 'slow_features', features: ${JSON.stringify([...features, 'slow:f15_slow'])} }],
  models: [{ name: 'slow', path: ${JSON.stringify(GBDT_PATH)}, featureService: 'slow_features',
    queue: { defaultTimeoutMs: 60000 } }],
  jobs: {
    broker: { type: 'rabbitmq', url: ${JSON.stringify(RABBITMQ_URL)}, queue: ${JSON.stringify(options.queue)} },
    results: { type: 'redis', url: ${JSON.stringify(REDIS_URL)}, keyPrefix: ${JSON.stringify(options.keyPrefix)} },
    resultTtlSeconds: 600,
  },
  server: { drainTimeoutMs: 30000 },
  auth: { enabled: false },
};
`;
}

interface WorkerProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

async function startWorkerProcess(configPath: string, prefetch: number): Promise<WorkerProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--config', configPath, '--prefetch', String(prefetch)],
    {
      cwd: ROOT,
      env: ENV,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (output += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const deadline = performance.now() + 60_000;
  while (!output.includes('quiver worker: consuming')) {
    if (child.exitCode !== null || performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`worker did not start:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, exited, output: () => output };
}

describe.skipIf(!up)('quiver worker processes', () => {
  const queue = testQueue('workers');
  const keyPrefix = uniquePrefix('jobs');
  const project = 'quiver_worker_test';
  let dir: string;
  let configPath: string;
  let api: RunningServer;
  let results: RedisResultStore;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'quiver-workers-'));
    const store = await LmdbStore.create({ path: path.join(dir, 'online') });
    await seedRows(store);
    await store.close();
    configPath = path.join(dir, 'quiver.config.ts');
    await writeFile(configPath, configSource({ queue, keyPrefix, project }));
    // The API server enqueues only (consumeInServer defaults to false with RabbitMQ).
    api = await startServer(await loadConfig(configPath), {
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ level: 'silent' }),
    });
    await api.modelsReady;
    results = await RedisResultStore.create({ url: REDIS_URL, keyPrefix, project });
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) w.child.kill('SIGKILL');
    await api?.close();
    await results?.close();
    await deleteTopology(queue);
    await deleteKeys(`${keyPrefix}:*`);
    await rm(dir, { recursive: true, force: true });
  });

  async function enqueue(row: number, spinMs: number): Promise<string> {
    const res = await fetch(`${api.url}/v1/models/slow/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ entities: { row_id: [String(row)] }, request: { spin_ms: [spinMs] } }),
    });
    const body = (await res.json()) as { id: string };
    expect(res.status, JSON.stringify(body)).toBe(202);
    return body.id;
  }

  async function waitForRecords(
    ids: readonly string[],
    accept: (r: JobRecord) => boolean,
    timeoutMs = 30_000,
  ): Promise<JobRecord[]> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const records = await Promise.all(ids.map((id) => results.get(id)));
      if (records.every((r) => r !== undefined && accept(r))) return records as JobRecord[];
      if (performance.now() > deadline)
        throw new Error(`records not as expected: ${JSON.stringify(records)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  const queueDepth = (): Promise<number> =>
    withAdmin(async (ch) => (await ch.checkQueue(queue)).messageCount);

  it('a worker killed mid-job: the job is redelivered and completes in another worker', async () => {
    const first = await startWorkerProcess(configPath, 1);
    workers.push(first);
    const id = await enqueue(42, 1500);
    const [running] = await waitForRecords([id], (r) => r.status === 'running');
    expect(running!.attempts).toBe(1);
    first.child.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');

    const second = await startWorkerProcess(configPath, 1);
    workers.push(second);
    const [done] = await waitForRecords([id], (r) => r.status === 'done');
    expect(done!.attempts).toBe(2); // the killed run counts as an attempt
    const probability = (done!.result as { outputs: { probability: number[] } }).outputs.probability[0]!;
    expect(Math.abs(probability - ROWS.gbdt[42]!)).toBeLessThan(TOLERANCE);
    second.child.kill('SIGTERM');
    expect(await second.exited).toEqual({ code: 0, signal: null });
    expect(await queueDepth()).toBe(0);
  }, 90_000);

  it('SIGTERM with jobs in flight: they complete and are acked, and the worker exits 0', async () => {
    const worker = await startWorkerProcess(configPath, 4);
    workers.push(worker);
    const rows = [1, 2, 3, 4];
    const ids: string[] = [];
    for (const row of rows) ids.push(await enqueue(row, 400));
    // All four delivered to this worker (recorded as started) before the signal.
    await waitForRecords(ids, (r) => r.attempts === 1 && (r.status === 'running' || r.status === 'done'));
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    const records = await waitForRecords(ids, () => true, 1000);
    records.forEach((r, i) => {
      expect(r.status, JSON.stringify(r)).toBe('done');
      expect(r.attempts).toBe(1);
      const probability = (r.result as { outputs: { probability: number[] } }).outputs.probability[0]!;
      expect(Math.abs(probability - ROWS.gbdt[rows[i]!]!)).toBeLessThan(TOLERANCE);
    });
    // Acked: nothing went back to the queue when the worker's connection closed.
    expect(await queueDepth()).toBe(0);
  }, 90_000);
});

describe('quiver worker usage', () => {
  it('with the in-process broker it exits 2 and says why', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'quiver-worker-usage-'));
    try {
      const configPath = path.join(dir, 'quiver.config.ts');
      await writeFile(
        configPath,
        `export default { project: 'p', onlineStore: { type: 'memory' }, entities: [{ name: 'u', joinKeys: ['id'] }],
  featureViews: [{ name: 'v', entities: ['u'], schema: { x: 'float32' } }], auth: { enabled: false } };\n`,
      );
      const child = spawn(process.execPath, [BIN, 'worker', '--config', configPath], { cwd: ROOT, env: ENV });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
      expect(code).toBe(2);
      expect(stderr).toContain('quiver worker consumes jobs from RabbitMQ');
      expect(stderr).toContain('QUIVER_ERR_CONFIG_INVALID');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 30_000);
});
