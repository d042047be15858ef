/**
 * Async jobs on the real RabbitMQ and Redis, with faults:
 * 1. the broker connection is cut while jobs are being enqueued: every 202-accepted job completes
 *    exactly once; every other answer is 503 + Retry-After (QUIVER_ERR_BROKER_UNAVAILABLE);
 * 2. a poison job is retried maxAttempts times, then failed and dead-lettered.
 * Each suite uses its own queue and Redis key prefix, deleted afterwards. The connection is cut by
 * a TCP proxy between Quiver and RabbitMQ (test/jobs/tcp-proxy.ts), not by touching the shared broker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/job.ts';
import type { ErrorBody } from '../fixtures/config.ts';
import { ROWS, TOLERANCE, startInferenceServer, type InferenceServer } from '../fixtures/inference.ts';
import { RABBITMQ, REDIS, REDIS_URL, serviceAvailable, uniquePrefix } from '../support/services.ts';
import { jobsConfig, pollJob, recordSettlements } from './helpers.ts';
import { deleteKeys, deleteTopology, drainDeadLetters, testQueue, withAdmin } from './rabbit-admin.ts';
import { TcpProxy } from './tcp-proxy.ts';

const up = (await serviceAvailable(RABBITMQ)) && (await serviceAvailable(REDIS));

describe.skipIf(!up)('jobs on RabbitMQ: the connection is cut during enqueue', () => {
  const queue = testQueue('enqueue-cut');
  const keyPrefix = uniquePrefix('jobs');
  let proxy: TcpProxy;
  let server: InferenceServer;

  beforeAll(async () => {
    proxy = await TcpProxy.start(RABBITMQ.port);
    server = await startInferenceServer({
      config: jobsConfig({
        broker: { type: 'rabbitmq', url: `amqp://guest:guest@127.0.0.1:${proxy.port}`, queue },
        results: { type: 'redis', url: REDIS_URL, keyPrefix },
        consumeInServer: true,
        prefetch: 8,
      }),
    });
    await server.running.jobsConsuming;
  });
  afterAll(async () => {
    await server?.close();
    await proxy?.close();
    await deleteTopology(queue);
    await deleteKeys(`${keyPrefix}:*`);
  });

  it('every accepted job completes exactly once; the rest got 503 + Retry-After', async () => {
    const settled = recordSettlements();
    const accepted: { id: string; row: number }[] = [];
    const rejected: { status: number; code: string; retryAfter: string | null }[] = [];
    // Bounded: the clients stop once 60 jobs were accepted after the connection healed (the broker
    // reconnects with backoff, so recovery is awaited by that condition, never by a request count).
    const maxSent = 3000;
    const acceptedAfterHealTarget = 60;
    let acceptedAfterHeal = 0;
    let sent = 0;
    let cutAt = -1;
    let healedAt = -1;
    const client = async (): Promise<void> => {
      while (sent < maxSent && acceptedAfterHeal < acceptedAfterHealTarget) {
        const row = sent++;
        if (cutAt === -1 && accepted.length >= 60) {
          cutAt = row;
          proxy.refuse(true);
          proxy.cut(); // mid-way: publishes in flight lose their channel
        }
        if (cutAt !== -1 && healedAt === -1 && rejected.length >= 20) {
          healedAt = row;
          proxy.refuse(false);
        }
        const res = await server.post('/v1/models/gbdt/jobs', {
          entities: { row_id: [String(row % ROWS.count)] },
        });
        if (res.status === 202) {
          accepted.push({ id: (res.body as { id: string }).id, row: row % ROWS.count });
          if (healedAt !== -1) acceptedAfterHeal++;
        } else {
          rejected.push({
            status: res.status,
            code: (res.body as ErrorBody).code,
            retryAfter: res.headers.get('retry-after'),
          });
          // While the broker is away (or reconnecting), pace the loop so the outage spans requests.
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, client));
    try {
      expect(cutAt).toBeGreaterThan(0);
      expect(healedAt).toBeGreaterThan(cutAt);
      expect(rejected.length).toBeGreaterThanOrEqual(20);
      for (const r of rejected) {
        expect(r).toMatchObject({ status: 503, code: 'QUIVER_ERR_BROKER_UNAVAILABLE' });
        expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      }
      // Jobs were accepted again after the connection came back.
      expect(accepted.length).toBe(sent - rejected.length);
      expect(acceptedAfterHeal).toBeGreaterThanOrEqual(acceptedAfterHealTarget);

      for (const { id, row } of accepted) {
        const view: JobView = await pollJob(
          server,
          id,
          (v) => v.status === 'done' || v.status === 'failed',
          30_000,
        );
        expect(view.status, JSON.stringify(view)).toBe('done');
        const probability = (view.result as { outputs: { probability: number[] } }).outputs.probability[0]!;
        expect(Math.abs(probability - ROWS.gbdt[row]!)).toBeLessThan(TOLERANCE);
      }
      // Exactly one completion per accepted job, none for a rejected one.
      const done = new Map<string, number>();
      for (const e of settled.events) if (e.outcome === 'done') done.set(e.id, (done.get(e.id) ?? 0) + 1);
      const acceptedIds = new Set(accepted.map((a) => a.id));
      for (const id of acceptedIds) expect(done.get(id), id).toBe(1);
      expect([...done.keys()].filter((id) => !acceptedIds.has(id))).toEqual([]);
      const counts = await withAdmin(async (ch) => (await ch.checkQueue(queue)).messageCount);
      expect(counts).toBe(0);
      expect(await drainDeadLetters(queue)).toEqual([]);
    } finally {
      settled.stop();
    }
  }, 90_000);
});

describe.skipIf(!up)('jobs on RabbitMQ: poison jobs', () => {
  const queue = testQueue('poison');
  const keyPrefix = uniquePrefix('jobs');
  let server: InferenceServer;

  beforeAll(async () => {
    server = await startInferenceServer({
      config: jobsConfig({
        broker: { type: 'rabbitmq', url: 'amqp://guest:guest@127.0.0.1:5672', queue, maxAttempts: 3 },
        results: { type: 'redis', url: REDIS_URL, keyPrefix },
        consumeInServer: true,
      }),
    });
    await server.running.jobsConsuming;
  });
  afterAll(async () => {
    await server?.close();
    await deleteTopology(queue);
    await deleteKeys(`${keyPrefix}:*`);
  });

  it('a job whose run keeps failing is retried maxAttempts times, then failed and dead-lettered', async () => {
    const settled = recordSettlements();
    try {
      const poison = await server.post('/v1/models/gbdt_checked/jobs', {
        entities: { row_id: ['4'] },
        request: { amount: [-1] },
      });
      const good = await server.post('/v1/models/gbdt_checked/jobs', {
        entities: { row_id: ['4'] },
        request: { amount: [1] },
      });
      expect([poison.status, good.status]).toEqual([202, 202]);
      const poisonId = (poison.body as { id: string }).id;
      const view = await pollJob(server, poisonId);
      expect(view).toMatchObject({ status: 'failed', attempts: 3 });
      expect(view.error?.code).toBe('QUIVER_ERR_TRANSFORM_FAILED');
      expect((await pollJob(server, (good.body as { id: string }).id)).status).toBe('done');
      expect(
        settled.events
          .filter((e) => e.id === poisonId)
          .map((e) => `${e.outcome}:${e.attempts}:${e.deadLettered}`),
      ).toEqual(['retry:1:false', 'retry:2:false', 'failed:3:true']);
      let dead: string[] = [];
      const deadline = performance.now() + 5000;
      while (dead.length === 0 && performance.now() < deadline) {
        dead = (await drainDeadLetters(queue)).map((j) => j.id);
        if (dead.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(dead).toEqual([poisonId]);
      expect(await withAdmin(async (ch) => (await ch.checkQueue(queue)).messageCount)).toBe(0);
    } finally {
      settled.stop();
    }
  });
});
