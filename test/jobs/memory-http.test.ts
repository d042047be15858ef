/**
 * Async jobs end to end over HTTP with the in-process broker (the default): enqueue → 202 → the
 * in-server consumer runs the job through the model's batcher → GET /v1/jobs/{id} gives the same
 * body the sync endpoint would; the same validation as the sync endpoints; callbacks; poison jobs;
 * and the shutdown order (jobs in flight finish and are acked before the batchers close).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/jobs/job.ts';
import type { MemoryBroker } from '../../src/jobs/memory/memory-broker.ts';
import type { ErrorBody, TestResponse } from '../fixtures/config.ts';
import {
  ROWS,
  TOLERANCE,
  oipFeatures,
  startInferenceServer,
  worstError,
  type InferenceServer,
} from '../fixtures/inference.ts';
import { GatedRuntime } from '../fixtures/gated-runtime.ts';
import { jobsConfig, pollJob, recordSettlements } from './helpers.ts';

interface Accepted {
  id: string;
  status: string;
  status_url: string;
}

function accepted(res: TestResponse): Accepted {
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const body = res.body as Accepted;
  expect(body.status).toBe('queued');
  expect(body.status_url).toBe(`/v1/jobs/${body.id}`);
  expect(res.headers.get('location')).toBe(body.status_url);
  return body;
}

describe('jobs over HTTP with the in-process broker', () => {
  let server: InferenceServer;

  beforeAll(async () => {
    server = await startInferenceServer({ config: jobsConfig({ resultTtlSeconds: 600 }) });
    await server.running.jobsConsuming;
  });
  afterAll(async () => {
    await server.close();
  });

  it('a predict job completes with exactly the sync endpoint’s response', async () => {
    const body = { entities: { row_id: ['0', '17', '999', 'missing'] } };
    const { id } = accepted(await server.post('/v1/models/gbdt/jobs', body));
    const view = await pollJob(server, id);
    expect(view).toMatchObject({ id, status: 'done', model: 'gbdt', kind: 'predict', attempts: 1 });
    expect(Date.parse(view.created_at)).toBeLessThanOrEqual(Date.parse(view.finished_at!));
    const sync = await server.post('/v1/models/gbdt/predict', body);
    expect(sync.status).toBe(200);
    expect(view.result).toEqual(sync.body);
    const got = (view.result as { outputs: { probability: number[] } }).outputs.probability;
    expect(worstError(got.slice(0, 3), (i) => ROWS.gbdt[[0, 17, 999][i]!]!)).toBeLessThan(TOLERANCE);
  });

  it('an infer job (kind "infer") completes with the OIP response', async () => {
    const body = { id: 'req-7', inputs: [oipFeatures(10, 5)] };
    const { id } = accepted(await server.post('/v1/models/lr/jobs', { kind: 'infer', ...body }));
    const view = await pollJob(server, id);
    expect(view.status).toBe('done');
    const sync = await server.post('/v2/models/lr/infer', body);
    expect(view.result).toEqual(sync.body);
    const data = (view.result as { outputs: { data: number[] }[] }).outputs[0]!.data;
    expect(worstError(data, (i) => ROWS.lr[10 + i]!)).toBeLessThan(TOLERANCE);
  });

  it('rejects exactly what the sync endpoints reject, with the same status and code', async () => {
    const cases: [path: string, syncPath: string, body: unknown][] = [
      ['/v1/models/gbdt/jobs', '/v1/models/gbdt/predict', { entities: { user_id: ['1'] } }],
      ['/v1/models/gbdt/jobs', '/v1/models/gbdt/predict', { entities: { row_id: [null] } }],
      ['/v1/models/gbdt/jobs', '/v1/models/gbdt/predict', { entities: 'nope' }],
      ['/v1/models/gbdt_checked/jobs', '/v1/models/gbdt_checked/predict', { entities: { row_id: ['1'] } }],
      ['/v1/models/nope/jobs', '/v1/models/nope/predict', { entities: { row_id: ['1'] } }],
    ];
    for (const [path, syncPath, body] of cases) {
      const sync = await server.post(syncPath, body);
      const job = await server.post(path, body);
      expect(sync.status).toBeGreaterThanOrEqual(400);
      expect({ status: job.status, code: (job.body as ErrorBody).code }).toEqual({
        status: sync.status,
        code: (sync.body as ErrorBody).code,
      });
    }
    const badTensor = { inputs: [{ ...oipFeatures(0, 1), shape: [1, 15] }] };
    const sync = await server.post('/v2/models/lr/infer', badTensor);
    const job = await server.post('/v1/models/lr/jobs', { kind: 'infer', ...badTensor });
    expect(sync.status).toBe(422);
    expect([job.status, (job.body as ErrorBody).code]).toEqual([422, (sync.body as ErrorBody).code]);
  });

  it('rejects an unknown kind, a bad callback_url and a bad x-priority with 400', async () => {
    const entities = { row_id: ['1'] };
    for (const [body, headers] of [
      [{ kind: 'train', entities }, {}],
      [{ entities, callback_url: 'ftp://example.invalid/x' }, {}],
      [{ entities, callback_url: 'not a url' }, {}],
      [{ entities }, { 'x-priority': '0' }],
    ] as const) {
      const res = await server.post('/v1/models/gbdt/jobs', body, headers);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect((res.body as ErrorBody).code).toBe('QUIVER_ERR_INVALID_REQUEST');
    }
  });

  it('an unknown job id is 404 QUIVER_ERR_UNKNOWN_JOB', async () => {
    for (const id of ['3f0c6a52-1d1e-4f39-9a3e-1b2c3d4e5f60', 'not-a-uuid']) {
      const res = await server.get(`/v1/jobs/${id}`);
      expect(res.status).toBe(404);
      expect((res.body as ErrorBody).code).toBe('QUIVER_ERR_UNKNOWN_JOB');
    }
  });

  it('POSTs the finished job to callback_url', async () => {
    const received: { body: JobView; contentType: string | undefined }[] = [];
    const hook = createServer((req: IncomingMessage, res) => {
      let data = '';
      req.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
      req.on('end', () => {
        received.push({ body: JSON.parse(data) as JobView, contentType: req.headers['content-type'] });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/done`;
      const { id } = accepted(
        await server.post('/v1/models/gbdt/jobs', { entities: { row_id: ['5'] }, callback_url: url }),
      );
      const view = await pollJob(server, id);
      const deadline = performance.now() + 5000;
      while (received.length === 0 && performance.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(received).toHaveLength(1);
      expect(received[0]!.contentType).toBe('application/json');
      expect(received[0]!.body).toEqual(view);
    } finally {
      hook.close();
    }
  });

  it('a poison job (its transform throws) is retried maxAttempts times, then failed and dead-lettered', async () => {
    const settled = recordSettlements();
    try {
      const poison = accepted(
        await server.post('/v1/models/gbdt_checked/jobs', {
          entities: { row_id: ['1'] },
          request: { amount: [-5] },
        }),
      );
      const good = accepted(
        await server.post('/v1/models/gbdt_checked/jobs', {
          entities: { row_id: ['2'] },
          request: { amount: [5] },
        }),
      );
      const view = await pollJob(server, poison.id);
      expect(view.status).toBe('failed');
      expect(view.attempts).toBe(3);
      expect(view.error?.code).toBe('QUIVER_ERR_TRANSFORM_FAILED');
      expect(view.error?.message).toContain('amount must not be negative');
      expect((await pollJob(server, good.id)).status).toBe('done');
      const mine = settled.events
        .filter((e) => e.id === poison.id)
        .map((e) => [e.outcome, e.attempts, e.deadLettered]);
      expect(mine).toEqual([
        ['retry', 1, false],
        ['retry', 2, false],
        ['failed', 3, true],
      ]);
      const dead = (server.running.jobs.broker as MemoryBroker).deadLetters();
      expect(dead.map((d) => d.job.id)).toContain(poison.id);
    } finally {
      settled.stop();
    }
  });
});

describe('shutdown order with jobs in flight', () => {
  it('close() lets a delivered job run, be stored and acked before the batchers and models close', async () => {
    const runtime = new GatedRuntime();
    const server = await startInferenceServer({ config: jobsConfig({}, []), runtime });
    await server.running.jobsConsuming;
    // Hold the job between delivery and its batcher submission: its "running" record write waits at a
    // gate. Closing the batchers first would make the submission fail (QUIVER_ERR_SHUTTING_DOWN).
    const results = server.running.jobs.results;
    const put = results.put.bind(results);
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    let held!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    results.put = async (record, ttl) => {
      if (record.status === 'running') {
        held();
        await gate;
      }
      return put(record, ttl);
    };
    const settled = recordSettlements((e) => runtime.log.push(`job:${e.outcome}`));
    try {
      const { id } = accepted(await server.post('/v1/models/gbdt/jobs', { entities: { row_id: ['3'] } }));
      expect(id).toBeTruthy();
      await isHeld;
      let closed = false;
      const closing = server.close().then(() => (closed = true));
      for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(closed).toBe(false);
      expect(runtime.log.filter((e) => e.startsWith('close:'))).toEqual([]);
      openGate();
      await closing;
      // The job settled (done, not failed or retried) before the first model closed.
      expect(runtime.log.filter((e) => e.startsWith('job:'))).toEqual(['job:done']);
      expect(runtime.log.indexOf('job:done')).toBeLessThan(
        runtime.log.findIndex((e) => e.startsWith('close:')),
      );
      expect((server.running.jobs.broker as MemoryBroker).depth).toBe(0);
    } finally {
      settled.stop();
      openGate();
    }
  });
});
