/**
 * Model lifecycle over HTTP, with the real onnxruntime: not ready until warm, hot reload while
 * requests stream in (nothing dropped), unload/load, per-request deadlines while queued, and a
 * graceful close that finishes every admitted request.
 *
 * Timing is never used as synchronisation: readiness is held back by a runtime wrapper whose load()
 * waits for a promise the test resolves, and "the runner is busy" is known from the
 * quiver:batch:flush event of the batch that occupies it.
 */
import diagnostics from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchFlushEvent } from '../../src/metrics/events.ts';
import type { LoadedModel, ModelRuntime, ModelSpec } from '../../src/models/model-runtime.ts';
import { OnnxRuntime } from '../../src/models/onnx/onnx-runtime.ts';
import type { Tensor } from '../../src/models/tensor.ts';
import { expectError, type TestResponse } from '../fixtures/config.ts';
import {
  CountingStore,
  ROWS,
  TOLERANCE,
  inferenceConfig,
  oipFeatures,
  startInferenceServer,
  worstError,
  type InferenceServer,
} from '../fixtures/inference.ts';

interface InferResponse {
  model_name: string;
  outputs: { name: string; shape: number[]; data: number[] }[];
}
interface PredictResponse {
  outputs: { probability: number[] };
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * The real OnnxRuntime behind a wrapper that (a) can hold load() back until the test opens a gate,
 * and (b) records every model it loaded, how many batches each ran and whether it was closed.
 */
class ObservedRuntime implements ModelRuntime {
  private readonly real = new OnnxRuntime();
  readonly loaded: { name: string; runs: number; closed: boolean; destroyed: boolean }[] = [];
  gate: Promise<void> = Promise.resolve();
  /** Resolved when load() has been called and is waiting at the gate. */
  waiting = deferred();

  async load(spec: ModelSpec): Promise<LoadedModel> {
    this.waiting.resolve();
    await this.gate;
    const model = await this.real.load(spec);
    const record = { name: spec.name, runs: 0, closed: false, destroyed: false };
    this.loaded.push(record);
    return {
      metadata: model.metadata,
      get idleRunners() {
        return model.idleRunners;
      },
      onIdle: (listener) => model.onIdle(listener),
      run: (inputs: Readonly<Record<string, Tensor>>, outputNames?: readonly string[]) => {
        record.runs++;
        return model.run(inputs, outputNames);
      },
      close: async () => {
        await model.close();
        record.closed = true;
      },
      destroy: async () => {
        record.destroyed = true;
        await model.destroy();
      },
    };
  }
}

function recordFlushes(model: string): {
  events: BatchFlushEvent[];
  stop: () => void;
  next: (rows: number) => Promise<void>;
} {
  const events: BatchFlushEvent[] = [];
  const waiters: { rows: number; resolve: () => void }[] = [];
  const listener = (message: unknown): void => {
    const event = message as BatchFlushEvent;
    if (event.model !== model) return;
    events.push(event);
    for (const w of waiters.filter((w) => w.rows === event.rows)) w.resolve();
  };
  diagnostics.subscribe('quiver:batch:flush', listener);
  return {
    events,
    stop: () => diagnostics.unsubscribe('quiver:batch:flush', listener),
    /** Resolves when a batch of exactly `rows` rows is flushed (i.e. handed to a runner). */
    next: (rows) => new Promise<void>((resolve) => waiters.push({ rows, resolve })),
  };
}

/** The value of `quiver_ready` in a /metrics answer. */
function readyGauge(res: TestResponse): number {
  const line = res.raw
    .toString('utf8')
    .split('\n')
    .find((l) => l.startsWith('quiver_ready '));
  return Number(line?.split(' ')[1]);
}

describe('readiness follows model warm-up', () => {
  it('/readyz 503 and /v2/health/ready 400 until the models are loaded, then 200', async () => {
    const runtime = new ObservedRuntime();
    const gate = deferred();
    runtime.gate = gate.promise;
    const server = await startInferenceServer({ runtime, waitReady: false });
    try {
      await runtime.waiting.promise; // the first model is loading, held at the gate
      // /metrics tells readiness by itself (a scrape must not depend on someone probing /readyz).
      expect(readyGauge(await server.get('/metrics'))).toBe(0);
      let settled = false;
      void server.running.modelsReady.then(() => (settled = true));

      const readyz = await server.get('/readyz');
      expect(readyz.status, JSON.stringify(readyz.body)).toBe(503);
      expect(readyz.body).toEqual({
        status: 'not_ready',
        failing: { models: expect.stringContaining('gbdt: loading') },
      });
      const oipReady = await server.get('/v2/health/ready');
      expect(oipReady.status).toBe(400);
      expect(oipReady.body).toEqual({ ready: false });
      const modelReady = await server.get('/v2/models/gbdt/ready');
      expect(modelReady.status).toBe(400);
      expect(modelReady.body).toEqual({ name: 'gbdt', ready: false });
      const res = await server.post('/v2/models/gbdt/infer', { inputs: [oipFeatures(0, 1)] });
      expectError(res, 503, 'QUIVER_ERR_MODEL_NOT_READY');
      expect(res.headers.get('retry-after')).toBe('1');
      expectError(
        await server.post('/v1/models/gbdt/predict', { entities: { row_id: ['1'] } }),
        503,
        'QUIVER_ERR_MODEL_NOT_READY',
      );
      // Liveness does not depend on models.
      expect((await server.get('/healthz')).status).toBe(200);
      expect((await server.get('/v2/health/live')).status).toBe(200);
      expect(settled).toBe(false);

      gate.resolve();
      await server.running.modelsReady;
      expect(runtime.loaded.map((m) => m.name)).toEqual(['gbdt', 'lr']);
      expect(readyGauge(await server.get('/metrics'))).toBe(1);
      expect((await server.get('/readyz')).status).toBe(200);
      const ready = await server.get('/v2/health/ready');
      expect(ready.status).toBe(200);
      expect(ready.body).toEqual({ ready: true });
      const ok = await server.post('/v2/models/gbdt/infer', { inputs: [oipFeatures(3, 1)] });
      expect(ok.status).toBe(200);
      expect(worstError((ok.body as InferResponse).outputs[0]!.data, () => ROWS.gbdt[3]!)).toBeLessThan(
        TOLERANCE,
      );
    } finally {
      gate.resolve();
      await server.close();
    }
  });
});

describe('readiness in /metrics', () => {
  it('a store that does not answer: a scrape still answers, with quiver_ready 0; 1 once it answers', async () => {
    let answering = false;
    class SilentStore extends CountingStore {
      override ready(): Promise<void> {
        return answering ? Promise.resolve() : new Promise<void>(() => undefined);
      }
    }
    const server = await startInferenceServer({ wrapStore: (store) => new SilentStore(store) });
    try {
      const silent = await server.get('/metrics');
      expect(silent.status).toBe(200);
      expect(readyGauge(silent)).toBe(0);
      answering = true;
      expect(readyGauge(await server.get('/metrics'))).toBe(1);
    } finally {
      await server.close();
    }
  });
});

describe('model repository: load (hot swap) and unload', () => {
  let server: InferenceServer;
  const runtime = new ObservedRuntime();

  beforeAll(async () => {
    server = await startInferenceServer({ runtime });
  });

  afterAll(async () => {
    await server.close();
  });

  it('POST /v2/repository/models/gbdt/load while requests stream in: none fails, all outputs correct', async () => {
    const before = runtime.loaded.filter((m) => m.name === 'gbdt');
    expect(before).toHaveLength(1);
    const old = before[0]!;

    let loadState: 'before' | 'loading' | 'done' = 'before';
    const startedDuringLoad = { count: 0 };
    const failures: string[] = [];
    let completed = 0;
    let worst = 0;
    const loadStarted = deferred();
    const STREAMS = 16;
    const AFTER_LOAD = 10; // requests each stream still sends after the swap
    const MAX_PER_STREAM = 400; // bound, in case the load never returns

    const stream = async (s: number): Promise<void> => {
      let afterLoad = 0;
      for (let k = 0; k < MAX_PER_STREAM && afterLoad < AFTER_LOAD; k++) {
        if (loadState === 'done') afterLoad++;
        if (loadState === 'loading') startedDuringLoad.count++;
        const start = (s * 61 + k * 7) % (ROWS.count - 4);
        const res = await server.post('/v2/models/gbdt/infer', { inputs: [oipFeatures(start, 4)] });
        if (res.status !== 200) {
          failures.push(`${res.status} ${JSON.stringify(res.body)}`);
          continue;
        }
        const data = (res.body as InferResponse).outputs[0]!.data;
        worst = Math.max(
          worst,
          data.length === 4 ? worstError(data, (i) => ROWS.gbdt[start + i]!) : Infinity,
        );
        completed++;
        if (completed === 3 * STREAMS) loadStarted.resolve();
      }
    };
    const streams = Promise.all(Array.from({ length: STREAMS }, (_, s) => stream(s)));
    await loadStarted.promise; // the stream is flowing
    loadState = 'loading';
    const load = await server.post('/v2/repository/models/gbdt/load', {});
    loadState = 'done';
    await streams;

    expect(load.status, JSON.stringify(load.body)).toBe(200);
    expect(failures).toEqual([]);
    expect(worst).toBeLessThan(TOLERANCE);
    // The premise: requests were in flight while the new model loaded.
    expect(startedDuringLoad.count).toBeGreaterThan(0);
    // A second gbdt was loaded and served; the first one served, then was closed (after draining).
    const gbdts = runtime.loaded.filter((m) => m.name === 'gbdt');
    expect(gbdts).toHaveLength(2);
    expect(old.runs).toBeGreaterThan(0);
    expect(old.closed).toBe(true);
    expect(gbdts[1]!.runs).toBeGreaterThan(0);
    expect(gbdts[1]!.closed).toBe(false);
    expect((await server.get('/v2/models/gbdt/ready')).status).toBe(200);
  });

  it('unload → not ready, infer 503 with Retry-After; load again → serves correctly', async () => {
    const unload = await server.post('/v2/repository/models/gbdt/unload', {});
    expect(unload.status).toBe(200);
    const current = runtime.loaded.filter((m) => m.name === 'gbdt').at(-1)!;
    expect(current.closed).toBe(true);

    const ready = await server.get('/v2/models/gbdt/ready');
    expect(ready.status).toBe(400);
    expect(ready.body).toEqual({ name: 'gbdt', ready: false });
    expect((await server.get('/v2/health/ready')).status).toBe(400);
    expect((await server.get('/readyz')).status).toBe(503);
    const res = await server.post('/v2/models/gbdt/infer', { inputs: [oipFeatures(0, 1)] });
    const body = expectError(res, 503, 'QUIVER_ERR_MODEL_NOT_READY');
    expect(body.error).toContain('"gbdt"');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expectError(
      await server.post('/v1/models/gbdt/predict', { entities: { row_id: ['1'] } }),
      503,
      'QUIVER_ERR_MODEL_NOT_READY',
    );
    // Metadata of an unloaded model is not served either; the other model is unaffected.
    expectError(await server.get('/v2/models/gbdt'), 503, 'QUIVER_ERR_MODEL_NOT_READY');
    const lr = await server.post('/v1/models/lr/predict', { entities: { row_id: ['8'] } });
    expect(lr.status).toBe(200);
    expect(Math.abs((lr.body as PredictResponse).outputs.probability[0]! - ROWS.lr[8]!)).toBeLessThan(
      TOLERANCE,
    );
    const index = await server.get('/v2/repository/index');
    expect(index.body).toEqual([
      { name: 'gbdt', version: '1', state: 'UNLOADED' },
      { name: 'lr', version: '1', state: 'READY' },
    ]);

    const load = await server.post('/v2/repository/models/gbdt/load', {});
    expect(load.status).toBe(200);
    expect((await server.get('/v2/models/gbdt/ready')).status).toBe(200);
    expect((await server.get('/readyz')).status).toBe(200);
    const again = await server.post('/v2/models/gbdt/infer', { inputs: [oipFeatures(20, 5)] });
    expect(again.status).toBe(200);
    expect(
      worstError((again.body as InferResponse).outputs[0]!.data, (i) => ROWS.gbdt[20 + i]!),
    ).toBeLessThan(TOLERANCE);
  });

  it('load/unload of an unknown model → 404', async () => {
    expectError(await server.post('/v2/repository/models/nope/load', {}), 404, 'QUIVER_ERR_UNKNOWN_MODEL');
    expectError(await server.post('/v2/repository/models/nope/unload', {}), 404, 'QUIVER_ERR_UNKNOWN_MODEL');
  });
});

/**
 * One runner, kept busy by one big predict batch (50,000 entities ≈ 100 ms of gbdt), known to be
 * running from its flush event. Requests sent then are queued behind it.
 */
const BIG = 50_000;
function bigServerConfig(): ReturnType<typeof inferenceConfig> {
  return inferenceConfig({
    gbdt: { runners: 1 },
    server: { maxEntitiesPerRequest: BIG, maxBodyBytes: 4 * 1024 * 1024 },
  });
}
const bigIds = Array.from({ length: BIG }, (_, i) => String(i % ROWS.count));

function expectBigCorrect(res: TestResponse): void {
  expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(200);
  const got = (res.body as PredictResponse).outputs.probability;
  expect(got).toHaveLength(BIG);
  expect(worstError(got, (i) => ROWS.gbdt[i % ROWS.count]!)).toBeLessThan(TOLERANCE);
}

describe('deadlines', () => {
  let server: InferenceServer;

  beforeAll(async () => {
    server = await startInferenceServer({ config: bigServerConfig() });
  });

  afterAll(async () => {
    await server.close();
  });

  it('requests whose x-request-timeout-ms passes while queued → 504 and never run', async () => {
    const flushes = recordFlushes('gbdt');
    try {
      const bigFlushed = flushes.next(BIG);
      const big = server.post('/v1/models/gbdt/predict', { entities: { row_id: bigIds } });
      await bigFlushed; // the only runner now holds the big batch

      const SMALL = 12;
      const queued = await Promise.all(
        Array.from({ length: SMALL }, (_, i) =>
          server.post(
            '/v2/models/gbdt/infer',
            { inputs: [oipFeatures(i, 3)] },
            { 'x-request-timeout-ms': '1' },
          ),
        ),
      );
      for (const res of queued) {
        const body = expectError(res, 504, 'QUIVER_ERR_DEADLINE_EXCEEDED');
        expect(body.error).toContain('1 ms');
      }
      expectBigCorrect(await big);
      // Nothing but the big batch ran: the expired requests never reached the model.
      expect(flushes.events.map((e) => e.rows)).toEqual([BIG]);

      // The same 1 ms deadline on an idle model is met: it bounds queueing, not execution.
      const idle = await server.post(
        '/v2/models/gbdt/infer',
        { inputs: [oipFeatures(0, 3)] },
        { 'x-request-timeout-ms': '1' },
      );
      expect(idle.status, JSON.stringify(idle.body)).toBe(200);
      expect(flushes.events.map((e) => e.rows)).toEqual([BIG, 3]);
    } finally {
      flushes.stop();
    }
  });

  it('a bad x-request-timeout-ms or x-priority → 400', async () => {
    const bad: Record<string, string>[] = [
      { 'x-request-timeout-ms': '0' },
      { 'x-request-timeout-ms': 'soon' },
      { 'x-priority': '-1' },
      { 'x-priority': '1.5' },
    ];
    for (const headers of bad) {
      expectError(
        await server.post('/v2/models/gbdt/infer', { inputs: [oipFeatures(0, 1)] }, headers),
        400,
        'QUIVER_ERR_INVALID_REQUEST',
      );
    }
  });
});

describe('graceful close', () => {
  it('requests admitted before server.close() all complete successfully', async () => {
    const runtime = new ObservedRuntime();
    const server = await startInferenceServer({ config: bigServerConfig(), runtime });
    const flushes = recordFlushes('gbdt');
    try {
      const bigFlushed = flushes.next(BIG);
      const big = server.post('/v1/models/gbdt/predict', { entities: { row_id: bigIds } });
      await bigFlushed;
      // Queue small requests behind the running batch, and wait until all are admitted.
      const batcher = server.running.models.get('gbdt').batcher;
      const SMALL = 20;
      const small = Array.from({ length: SMALL }, (_, i) =>
        server.post('/v1/models/gbdt/predict', { entities: { row_id: [String(i), String(i + 500)] } }),
      );
      while (batcher.stats.queued < SMALL) {
        if (batcher.stats.inFlight === 0)
          throw new Error('the big batch ended before the requests were queued');
        await new Promise((resolve) => setImmediate(resolve));
      }

      const closed = server.close();
      const results = await Promise.all([big, ...small]);
      await closed;
      // Drained, not cut off: every model was closed gracefully, none destroyed by the drain timeout.
      expect(runtime.loaded.map((m) => [m.name, m.closed, m.destroyed])).toEqual([
        ['gbdt', true, false],
        ['lr', true, false],
      ]);

      expectBigCorrect(results[0]!);
      results.slice(1).forEach((res, i) => {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const got = (res.body as PredictResponse).outputs.probability;
        expect(got).toHaveLength(2);
        expect(Math.abs(got[0]! - ROWS.gbdt[i]!)).toBeLessThan(TOLERANCE);
        expect(Math.abs(got[1]! - ROWS.gbdt[i + 500]!)).toBeLessThan(TOLERANCE);
      });
      expect(flushes.events.reduce((n, e) => n + e.requests, 0)).toBe(SMALL + 1);
      // Closed: new connections are refused.
      await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    } finally {
      flushes.stop();
      await server.close();
    }
  });
});
