/**
 * jobs:memory / jobs:rabbitmq — async jobs end to end (docs/jobs.md). Quiver runs as `quiver serve`
 * in its own process, consuming its own jobs (jobs.consumeInServer); the jobs are OIP infer requests
 * of one row on the GBDT test model. Completion is read from GET /v1/jobs/{id} (phases 1-2) or from
 * completion callbacks to a sink in this process (warm-up, phase 3). Phases:
 * 1. peak enqueue: `connections` clients POST jobs (without callbacks) back to back for `seconds`
 *    → accepted jobs/s; then every accepted job must be done (GET /v1/jobs/{id}), which gives the
 *    rate at which they drained;
 * 2. end-to-end latency (the job's created_at → finished_at) at a fixed rate of half the
 *    sustainable one, for `latencySeconds`: p50 / p99;
 * 3. rabbitmq only: a broker restart (`rabbitmqctl stop_app && rabbitmqctl start_app`) in the middle
 *    of a fixed-rate enqueue: rejected requests get 503, and every accepted job must still complete
 *    (zero lost), none twice. NOTE: this restarts the machine's RabbitMQ for a few seconds.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdir, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import amqp from 'amqplib';
import type { QuiverConfig } from '../../src/config/types.ts';
import { FEATURES, GBDT_PATH, readTestRows } from '../../test/fixtures/models/test-rows.ts';
import { clockTicks, cpuBetween, cpuMicrosPerRequest, readCpuTimes } from '../lib/proc-cpu.ts';
import { startQuiver, type ServerProcess } from '../lib/server-process.ts';
import type { BenchSettings, Scenario, ScenarioOutput } from '../lib/types.ts';

type Variant = 'memory' | 'rabbitmq';

const AMQP_URL = process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const COMPLETION_TIMEOUT_MS = 120_000;

function jobsConfig(variant: Variant, queue: string): QuiverConfig {
  return {
    project: 'quiver_bench_jobs',
    onlineStore: { type: 'memory' },
    entities: [{ name: 'row', joinKeys: ['row_id'] }],
    featureViews: [
      {
        name: 'rows',
        entities: ['row'],
        schema: Object.fromEntries(Array.from({ length: FEATURES }, (_, i) => [`f${i}`, 'float32' as const])),
      },
    ],
    models: [
      {
        name: 'gbdt',
        path: GBDT_PATH,
        batching: { maxBatchSize: 64 },
        queue: { maxQueueSize: 4096, defaultTimeoutMs: 30_000 },
      },
    ],
    auth: { enabled: false },
    server: { drainTimeoutMs: 30_000 },
    jobs:
      variant === 'memory'
        ? { broker: { type: 'memory' }, prefetch: 64, resultTtlSeconds: 600 }
        : {
            broker: { type: 'rabbitmq', url: AMQP_URL, queue },
            results: { type: 'redis', url: REDIS_URL, keyPrefix: 'qbench' },
            consumeInServer: true,
            prefetch: 64,
            resultTtlSeconds: 600,
          },
  };
}

/** Receives callbacks: arrival times (performance.now()) per job id. */
interface Sink {
  readonly url: string;
  readonly arrivals: Map<string, number[]>;
  close(): Promise<void>;
}

async function startSink(): Promise<Sink> {
  const arrivals = new Map<string, number[]>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = performance.now();
      try {
        const { id, status } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          id: string;
          status: string;
        };
        if (status === 'done') {
          const list = arrivals.get(id);
          if (list === undefined) arrivals.set(id, [at]);
          else list.push(at);
        }
      } catch {
        // Not a job view: ignore.
      }
      res.statusCode = 204;
      res.end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/done`,
    arrivals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface LoadResult {
  /** Accepted job id → when its POST was sent (performance.now()). */
  readonly accepted: Map<string, number>;
  /** "status code" → count. */
  readonly rejected: Map<string, number>;
  readonly seconds: number;
}

function jobBody(row: number, callbackUrl: string | undefined): string {
  const features = readTestRowsOnce().features;
  const data = Array.from(features.subarray(row * FEATURES, (row + 1) * FEATURES));
  return JSON.stringify({
    kind: 'infer',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [1, FEATURES], data }],
    ...(callbackUrl === undefined ? {} : { callback_url: callbackUrl }),
  });
}

/**
 * Waits until every accepted job is done by asking GET /v1/jobs/{id} (for loads sent without
 * callbacks, so that the callbacks' own cost does not cap the enqueue rate being measured).
 * Returns the ids never done and the latest finished_at (epoch ms).
 */
async function pollCompletion(
  serverUrl: string,
  load: LoadResult,
): Promise<{ lost: string[]; lastFinishedMs: number; latenciesMs: number[] }> {
  const pending = [...load.accepted.keys()];
  const deadline = performance.now() + COMPLETION_TIMEOUT_MS;
  let lastFinishedMs = 0;
  const lost: string[] = [];
  const latenciesMs: number[] = [];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let id = pending.pop(); id !== undefined; id = pending.pop()) {
        for (;;) {
          const view = (await (await fetch(`${serverUrl}/v1/jobs/${id}`)).json()) as {
            status?: string;
            created_at?: string;
            finished_at?: string;
          };
          if (view.status === 'done') {
            const finishedMs = Date.parse(view.finished_at!);
            lastFinishedMs = Math.max(lastFinishedMs, finishedMs);
            latenciesMs.push(finishedMs - Date.parse(view.created_at!));
            break;
          }
          if (view.status === 'failed' || performance.now() > deadline) {
            lost.push(id);
            break;
          }
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    }),
  );
  return { lost, lastFinishedMs, latenciesMs };
}

let testRows: ReturnType<typeof readTestRows> | undefined;
const readTestRowsOnce = (): ReturnType<typeof readTestRows> => (testRows ??= readTestRows());

async function sendJob(serverUrl: string, body: string, out: LoadResult): Promise<void> {
  const sentAt = performance.now();
  try {
    const res = await fetch(`${serverUrl}/v1/models/gbdt/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    const text = await res.text();
    if (res.status === 202) out.accepted.set((JSON.parse(text) as { id: string }).id, sentAt);
    else {
      const code = (() => {
        try {
          return (JSON.parse(text) as { code?: string }).code ?? '';
        } catch {
          return '';
        }
      })();
      const key = `${res.status} ${code}`.trim();
      out.rejected.set(key, (out.rejected.get(key) ?? 0) + 1);
    }
  } catch (err) {
    const key = `socket ${(err as Error).message}`;
    out.rejected.set(key, (out.rejected.get(key) ?? 0) + 1);
  }
}

/** `clients` loops POSTing jobs back to back for `seconds`. */
async function closedLoop(
  serverUrl: string,
  bodies: readonly string[],
  clients: number,
  seconds: number,
): Promise<LoadResult> {
  const out: LoadResult = { accepted: new Map(), rejected: new Map(), seconds };
  const end = performance.now() + seconds * 1000;
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) await sendJob(serverUrl, bodies[next++ % bodies.length]!, out);
    }),
  );
  return out;
}

/** Jobs at a fixed rate for `seconds` (open loop: a slow answer does not slow the offered load). */
async function openLoop(
  serverUrl: string,
  bodies: readonly string[],
  ratePerS: number,
  seconds: number,
): Promise<LoadResult> {
  const out: LoadResult = { accepted: new Map(), rejected: new Map(), seconds };
  const start = performance.now();
  const total = Math.round(ratePerS * seconds);
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / ratePerS;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    inFlight.push(sendJob(serverUrl, bodies[i % bodies.length]!, out));
  }
  await Promise.all(inFlight);
  return out;
}

interface Completion {
  readonly completed: number;
  readonly lost: string[];
  readonly duplicated: number;
  /** ms, enqueue sent → callback received, per job that called back. */
  readonly latenciesMs: number[];
  /** performance.now() of the last callback. */
  readonly lastAt: number;
}

/** Waits for every accepted job: its callback, or (if none came) a final GET saying done. */
async function awaitCompletion(serverUrl: string, sink: Sink, load: LoadResult): Promise<Completion> {
  const deadline = performance.now() + COMPLETION_TIMEOUT_MS;
  const ids = [...load.accepted.keys()];
  while (performance.now() < deadline && ids.some((id) => !sink.arrivals.has(id))) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const lost: string[] = [];
  for (const id of ids.filter((i) => !sink.arrivals.has(i))) {
    const res = await fetch(`${serverUrl}/v1/jobs/${id}`);
    const view = (await res.json()) as { status?: string };
    if (view.status !== 'done') lost.push(id);
  }
  let duplicated = 0;
  let lastAt = 0;
  const latenciesMs: number[] = [];
  for (const id of ids) {
    const arrivals = sink.arrivals.get(id);
    if (arrivals === undefined) continue;
    if (arrivals.length > 1) duplicated++;
    latenciesMs.push(arrivals[0]! - load.accepted.get(id)!);
    lastAt = Math.max(lastAt, arrivals[0]!);
  }
  return { completed: ids.length - lost.length, lost, duplicated, latenciesMs, lastAt };
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function rabbitmqctl(args: readonly string[]): Promise<{ ok: boolean; output: string }> {
  return new Promise((resolve) => {
    execFile('rabbitmqctl', args, { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ ok: err === null, output: `${stdout}${stderr}`.trim() }),
    );
  });
}

async function deleteQueue(queue: string): Promise<void> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    const ch = await connection.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteQueue(`${queue}.dead`);
    await ch.deleteExchange(`${queue}.dlx`);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '–');
const rejectedText = (m: Map<string, number>): string =>
  m.size === 0 ? '0' : [...m].map(([k, v]) => `${v} × ${k}`).join(', ');

function jobsScenario(variant: Variant): Scenario {
  return {
    id: `jobs:${variant}`,
    description: `async jobs (infer, 1 row, callback) on the ${variant === 'memory' ? 'in-process broker' : 'RabbitMQ broker + Redis results'}: enqueue rate, end-to-end latency${variant === 'rabbitmq' ? ', zero lost across a broker restart' : ''}`,
    async run(settings: BenchSettings): Promise<ScenarioOutput> {
      const warnings: string[] = [];
      const queue = `quiver.bench.jobs.${Date.now().toString(36)}`;
      const dir = path.join(settings.dataDir, 'jobs');
      await mkdir(dir, { recursive: true });
      const configPath = path.join(dir, `${variant}.config.ts`);
      await writeFile(configPath, `export default ${JSON.stringify(jobsConfig(variant, queue), null, 2)};\n`);
      const sink = await startSink();
      const bodies = Array.from({ length: 200 }, (_, i) => jobBody(i, sink.url));
      const plainBodies = Array.from({ length: 200 }, (_, i) => jobBody(i, undefined));
      let server: ServerProcess | undefined;
      try {
        server = await startQuiver({ configPath });
        const url = server.url;
        // Warm up: models loaded and the consumer running (a job completes), then a short load.
        const readyBy = performance.now() + 60_000;
        while ((await fetch(`${url}/readyz`).then((r) => r.status)) !== 200) {
          if (performance.now() > readyBy)
            throw new Error(`quiver did not become ready:\n${server.output()}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        const warm = await closedLoop(url, bodies, 4, settings.warmupSeconds);
        await awaitCompletion(url, sink, warm);
        settings.log(`[jobs:${variant}] warm-up: ${warm.accepted.size} jobs`);

        // 1. Peak enqueue rate (closed loop).
        const clients = settings.connections;
        const peakStartMs = Date.now();
        const ticks = clockTicks();
        const cpuBefore = readCpuTimes(server.pid);
        const peak = await closedLoop(url, plainBodies, clients, settings.seconds);
        // Jobs run in FIFO order within a priority: once the last accepted one is done, all are.
        const lastId = [...peak.accepted.keys()].at(-1);
        if (lastId !== undefined) await pollCompletion(url, { ...peak, accepted: new Map([[lastId, 0]]) });
        const cpu = cpuBetween(cpuBefore, readCpuTimes(server.pid), ticks);
        const cpuUsPerJob = cpuMicrosPerRequest(cpu, peak.accepted.size);
        const peakDone = await pollCompletion(url, peak);
        const acceptedPerS = peak.accepted.size / peak.seconds;
        const drainedPerS = peak.accepted.size / ((peakDone.lastFinishedMs - peakStartMs) / 1000);
        settings.log(
          `[jobs:${variant}] peak: ${fmt(acceptedPerS, 0)} accepted/s, drained at ${fmt(drainedPerS, 0)} jobs/s, server CPU ${fmt(cpuUsPerJob, 0)} µs/job, lost ${peakDone.lost.length}`,
        );

        // 2. End-to-end latency at half the sustainable rate (open loop).
        const rate = Math.max(10, Math.round(0.5 * Math.min(acceptedPerS, drainedPerS)));
        const steady = await openLoop(url, plainBodies, rate, settings.latencySeconds);
        const steadyDone = await pollCompletion(url, steady);
        const lat = steadyDone.latenciesMs;
        settings.log(
          `[jobs:${variant}] ${rate} jobs/s: e2e p50 ${fmt(percentile(lat, 50))} ms, p99 ${fmt(percentile(lat, 99))} ms`,
        );

        const rows = [
          `| variant | clients | accepted jobs/s | drained jobs/s | server CPU µs/job | rejected (peak) | e2e p50 ms | e2e p99 ms | at rate | lost |`,
          `|---|---|---|---|---|---|---|---|---|---|`,
          `| ${variant} | ${clients} | ${fmt(acceptedPerS, 0)} | ${fmt(drainedPerS, 0)} | ${fmt(cpuUsPerJob, 0)} | ${rejectedText(peak.rejected)} | ${fmt(percentile(lat, 50))} | ${fmt(percentile(lat, 99))} | ${rate}/s | ${peakDone.lost.length + steadyDone.lost.length} |`,
        ];
        const details: Record<string, unknown> = {
          peak: {
            clients,
            seconds: peak.seconds,
            accepted: peak.accepted.size,
            acceptedPerS,
            drainedPerS,
            cpuUsPerJob,
            cpuSeconds: cpu.totalSeconds,
            rejected: Object.fromEntries(peak.rejected),
            lost: peakDone.lost.length,
          },
          steady: {
            ratePerS: rate,
            seconds: steady.seconds,
            accepted: steady.accepted.size,
            rejected: Object.fromEntries(steady.rejected),
            e2eP50Ms: percentile(lat, 50),
            e2eP90Ms: percentile(lat, 90),
            e2eP99Ms: percentile(lat, 99),
            e2eMaxMs: percentile(lat, 100),
            lost: steadyDone.lost.length,
          },
        };
        if (peakDone.lost.length + steadyDone.lost.length > 0)
          warnings.push('LOST accepted jobs (see details)');

        // 3. Broker restart during enqueue (rabbitmq).
        let restartMarkdown = '';
        if (variant === 'rabbitmq') {
          const status = await rabbitmqctl(['status']);
          if (!status.ok) {
            warnings.push(
              `broker-restart phase skipped: rabbitmqctl does not work here (${status.output.slice(0, 200)})`,
            );
          } else {
            const restartRate = Math.max(10, Math.round(rate / 2));
            const seconds = Math.max(20, settings.seconds * 2);
            const loading = openLoop(url, bodies, restartRate, seconds);
            await new Promise((resolve) => setTimeout(resolve, 2000));
            const t0 = performance.now();
            const stop = await rabbitmqctl(['stop_app']);
            const start = await rabbitmqctl(['start_app']);
            const restartMs = performance.now() - t0;
            if (!stop.ok || !start.ok)
              warnings.push(`rabbitmqctl failed: ${stop.output} ${start.output}`.slice(0, 400));
            const load = await loading;
            const done = await awaitCompletion(url, sink, load);
            settings.log(
              `[jobs:rabbitmq] restart (${fmt(restartMs / 1000)} s): ${load.accepted.size} accepted, rejected ${rejectedText(load.rejected)}, lost ${done.lost.length}, twice ${done.duplicated}`,
            );
            if (done.lost.length > 0)
              warnings.push(`LOST ${done.lost.length} accepted jobs across the broker restart`);
            details.brokerRestart = {
              ratePerS: restartRate,
              seconds,
              restartMs,
              accepted: load.accepted.size,
              rejected: Object.fromEntries(load.rejected),
              completed: done.completed,
              lost: done.lost,
              duplicated: done.duplicated,
              e2eP50Ms: percentile(done.latenciesMs, 50),
              e2eP99Ms: percentile(done.latenciesMs, 99),
              e2eMaxMs: percentile(done.latenciesMs, 100),
            };
            restartMarkdown = [
              '',
              `Broker restart (\`rabbitmqctl stop_app && start_app\`, ${fmt(restartMs / 1000)} s) during ${seconds} s of enqueue at ${restartRate} jobs/s:`,
              '',
              `| accepted (202) | rejected | completed | lost | completed twice | e2e max ms |`,
              `|---|---|---|---|---|---|`,
              `| ${load.accepted.size} | ${rejectedText(load.rejected)} | ${done.completed} | **${done.lost.length}** | ${done.duplicated} | ${fmt(percentile(done.latenciesMs, 100), 0)} |`,
            ].join('\n');
          }
        }
        const markdown = [
          ...rows,
          '',
          'accepted jobs/s: 202s per second from closed-loop clients sending jobs without callbacks (each 202 only after the broker confirmed the job); drained: accepted ÷ time until the last of them finished (finished_at); server CPU: the CPU time of the Quiver process (/proc, HTTP + broker + result store + model) from the first enqueue until the last of them was done, per job — the steadiest figure on a shared machine; e2e: created_at → finished_at of each job (server clock, ms), at a fixed rate of half the sustainable one (open loop); lost: accepted but never done. The broker-restart phase sends callback_url with every job and counts completion callbacks ("completed twice": more than one for a job).',
          restartMarkdown,
        ].join('\n');
        return { rows: [], markdown, details, warnings };
      } finally {
        await server?.stop();
        await sink.close();
        if (variant === 'rabbitmq') await deleteQueue(queue).catch(() => undefined);
      }
    },
  };
}

export const scenarios: readonly Scenario[] = [jobsScenario('memory'), jobsScenario('rabbitmq')];
