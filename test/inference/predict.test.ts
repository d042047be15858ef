/**
 * POST /v1/models/{m}/predict — predict by entity, end to end on real stores and real onnxruntime:
 * features read from the store, transformed, batched and run; every probability checked against
 * test_rows.csv. Also the batching evidence the design promises (§5): batches form by themselves under
 * load and not when idle, ONE feature read per batch, and a failing transform fails only its own
 * requests.
 */
import diagnostics from 'node:diagnostics_channel';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchFlushEvent } from '../../src/metrics/events.ts';
import { expectError, type TestResponse } from '../fixtures/config.ts';
import {
  CountingStore,
  DEFAULTS_ROW,
  FEATURE_NAMES,
  GBDT_PATH,
  ROWS,
  TOLERANCE,
  inferenceConfig,
  prng,
  rowFeatures,
  startInferenceServer,
  worstError,
  type InferenceServer,
  type StoreKind,
} from '../fixtures/inference.ts';

interface PredictResponse {
  model: string;
  model_version: string;
  outputs: { probability: number[] };
  feature_statuses?: { index: number; statuses: Record<string, string> }[];
}

/** Records quiver:batch:flush events of one model while subscribed. */
function recordFlushes(model: string): { events: BatchFlushEvent[]; stop: () => void } {
  const events: BatchFlushEvent[] = [];
  const listener = (message: unknown): void => {
    const event = message as BatchFlushEvent;
    if (event.model === model) events.push(event);
  };
  diagnostics.subscribe('quiver:batch:flush', listener);
  return { events, stop: () => diagnostics.unsubscribe('quiver:batch:flush', listener) };
}

/** `n` requests of 1–8 random test rows each (deterministic), as row-id lists. */
function randomRequests(n: number, seed: number): number[][] {
  const random = prng(seed);
  return Array.from({ length: n }, () =>
    Array.from({ length: 1 + Math.floor(random() * 8) }, () => Math.floor(random() * ROWS.count)),
  );
}

describe.each<StoreKind>(['memory', 'lmdb'])('predict by entity on %s', (storeKind) => {
  let server: InferenceServer;

  beforeAll(async () => {
    server = await startInferenceServer({ store: storeKind });
  });

  afterAll(async () => {
    await server.close();
  });

  const predict = (model: string, ids: readonly (string | number)[]): Promise<TestResponse> =>
    server.post(`/v1/models/${model}/predict`, { entities: { row_id: ids } });

  it.each(['gbdt', 'lr'] as const)(
    '%s: all 1,000 rows in one request match the CSV within 1e-5',
    async (model) => {
      const ids = Array.from({ length: ROWS.count }, (_, i) => String(i));
      const res = await predict(model, ids);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const body = res.body as PredictResponse;
      expect(body.model).toBe(model);
      expect(body.model_version).toBe('1');
      expect(Object.keys(body.outputs)).toEqual(['probability']);
      expect(body.outputs.probability).toHaveLength(ROWS.count);
      expect(worstError(body.outputs.probability, (i) => ROWS[model][i]!)).toBeLessThan(TOLERANCE);
      expect(body.feature_statuses).toBeUndefined();
    },
  );

  it('rows in any order, repeated, and as integer ids (same keys as their strings)', async () => {
    const rows = [999, 0, 17, 17, 512, 3];
    const res = await predict('gbdt', rows);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const got = (res.body as PredictResponse).outputs.probability;
    expect(worstError(got, (i) => ROWS.gbdt[rows[i]!]!)).toBeLessThan(TOLERANCE);
  });

  it.each(['gbdt', 'lr'] as const)(
    '%s: 200 concurrent requests of 1–8 rows each all get their own rows’ probabilities',
    async (model) => {
      const requests = randomRequests(200, model === 'gbdt' ? 1 : 2);
      const responses = await Promise.all(requests.map((rows) => predict(model, rows.map(String))));
      let failures = 0;
      let worst = 0;
      responses.forEach((res, r) => {
        if (res.status !== 200) {
          failures++;
          return;
        }
        const got = (res.body as PredictResponse).outputs.probability;
        if (got.length !== requests[r]!.length) failures++;
        worst = Math.max(
          worst,
          worstError(got, (i) => ROWS[model][requests[r]![i]!]!),
        );
      });
      expect(failures).toBe(0);
      expect(worst).toBeLessThan(TOLERANCE);
    },
  );

  it('missing entities score with the view defaults and are listed as NOT_FOUND', async () => {
    const res = await predict('gbdt', ['5', 'no-such-row', '7', 'nor-this']);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as PredictResponse;
    // The view's defaults are the features of the last test row.
    const expected = [ROWS.gbdt[5]!, ROWS.gbdt[DEFAULTS_ROW]!, ROWS.gbdt[7]!, ROWS.gbdt[DEFAULTS_ROW]!];
    expect(worstError(body.outputs.probability, (i) => expected[i]!)).toBeLessThan(TOLERANCE);
    const allMissing = Object.fromEntries(FEATURE_NAMES.map((f) => [f, 'NOT_FOUND']));
    expect(body.feature_statuses).toEqual([
      { index: 1, statuses: allMissing },
      { index: 3, statuses: allMissing },
    ]);
  });

  it('a null stored value uses its default and is listed as NULL_VALUE', async () => {
    // Row 5 with f3 missing: scored as row 5 with the default f3, as a raw tensor would be.
    const values: unknown[] = rowFeatures(5);
    values[3] = null;
    await server.store.write('rows', [{ key: 'with-null', eventTsMs: Date.now(), values }]);
    const vector = rowFeatures(5);
    vector[3] = rowFeatures(DEFAULTS_ROW)[3]!;
    const raw = await server.post('/v2/models/gbdt/infer', {
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 16], data: vector }],
    });
    expect(raw.status).toBe(200);
    const expected = (raw.body as { outputs: { data: number[] }[] }).outputs[0]!.data[0]!;
    // Not a vacuous check: the default changes the score.
    expect(Math.abs(expected - ROWS.gbdt[5]!)).toBeGreaterThan(0);

    const res = await predict('gbdt', ['with-null']);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as PredictResponse;
    expect(body.outputs.probability[0]).toBeCloseTo(expected, 6);
    expect(body.feature_statuses).toEqual([{ index: 0, statuses: { f3: 'NULL_VALUE' } }]);
  });
});

describe('batching', () => {
  let server: InferenceServer;
  let counting: CountingStore;

  beforeAll(async () => {
    server = await startInferenceServer({
      wrapStore: (store) => (counting = new CountingStore(store)),
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it('batches form under 200 concurrent requests, with ONE feature read per batch; a lone request runs alone at once', async () => {
    const requests = randomRequests(200, 3);
    const flushes = recordFlushes('gbdt');
    counting.resetCounts();
    let burst: TestResponse[];
    try {
      burst = await Promise.all(
        requests.map((rows) =>
          server.post('/v1/models/gbdt/predict', { entities: { row_id: rows.map(String) } }),
        ),
      );
    } finally {
      flushes.stop();
    }
    // Every answer is still its own rows' (batching did not mix rows up).
    burst.forEach((res, r) => {
      expect(res.status).toBe(200);
      const got = (res.body as PredictResponse).outputs.probability;
      expect(got).toHaveLength(requests[r]!.length);
      expect(worstError(got, (i) => ROWS.gbdt[requests[r]![i]!]!)).toBeLessThan(TOLERANCE);
    });

    const events = flushes.events;
    const totalRows = requests.reduce((n, rows) => n + rows.length, 0);
    expect(events.reduce((n, e) => n + e.requests, 0)).toBe(requests.length);
    expect(events.reduce((n, e) => n + e.rows, 0)).toBe(totalRows);
    // Under load, batches grow by themselves (at least one took several requests)…
    expect(Math.max(...events.map((e) => e.requests))).toBeGreaterThan(1);
    expect(events.length).toBeLessThan(requests.length);
    // …never past maxBatchSize (64 rows; every request here is ≤ 8 rows).
    expect(Math.max(...events.map((e) => e.rows))).toBeLessThanOrEqual(64);
    // ONE store read per batch (the feature service reads one view), with every batch's entities.
    expect(counting.reads.get('rows')).toBe(events.length);
    expect(counting.keysRead.get('rows')).toBe(totalRows);
    expect([...counting.reads.keys()]).toEqual(['rows']);

    // Idle again: a lone request is a batch of 1 and does not wait (maxQueueDelayUs defaults to 0).
    const lone = recordFlushes('gbdt');
    let res: TestResponse;
    try {
      res = await server.post('/v1/models/gbdt/predict', { entities: { row_id: ['11', '12', '13'] } });
    } finally {
      lone.stop();
    }
    expect(res.status).toBe(200);
    expect(lone.events).toHaveLength(1);
    expect(lone.events[0]).toMatchObject({ model: 'gbdt', requests: 1, rows: 3 });
    expect(lone.events[0]!.queueDelayUs).toBeLessThan(1000);
  });
});

describe('on-demand transform failing for some requests of a batch', () => {
  let server: InferenceServer;
  /** Per transform call: how many rows, and whether good and bad amounts were mixed in it. */
  const calls: { rows: number; mixed: boolean }[] = [];

  beforeAll(async () => {
    server = await startInferenceServer({
      config: inferenceConfig({
        models: [
          {
            name: 'gbdt_checked',
            path: GBDT_PATH,
            featureService: 'gbdt_checked',
            // Wait up to 200 ms for 16 rows, so concurrent requests reliably share a batch.
            batching: { maxBatchSize: 16, maxQueueDelayUs: 200_000 },
          },
        ],
        onTransform: (amount) => {
          const bad = amount.some((a) => a < 0);
          const good = amount.some((a) => a >= 0);
          calls.push({ rows: amount.length, mixed: bad && good });
        },
      }),
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it('only the bad requests fail (422 QUIVER_ERR_TRANSFORM_FAILED); the good ones get correct outputs', async () => {
    // 48 one-row requests; every 4th has a negative amount.
    const requests = Array.from({ length: 48 }, (_, i) => ({ row: (i * 37) % ROWS.count, bad: i % 4 === 3 }));
    const flushes = recordFlushes('gbdt_checked');
    let responses: TestResponse[];
    try {
      responses = await Promise.all(
        requests.map(({ row, bad }) =>
          server.post('/v1/models/gbdt_checked/predict', {
            entities: { row_id: [String(row)] },
            request: { amount: [bad ? -5 : 12.5] },
          }),
        ),
      );
    } finally {
      flushes.stop();
    }
    // The premise: good and bad requests really were in one batch (the transform saw both).
    expect(calls.some((c) => c.mixed)).toBe(true);
    expect(flushes.events.some((e) => e.requests > 1)).toBe(true);

    responses.forEach((res, i) => {
      const { row, bad } = requests[i]!;
      if (bad) {
        const body = expectError(res, 422, 'QUIVER_ERR_TRANSFORM_FAILED');
        expect(body.error).toContain('"checked"');
        expect(body.error).toContain('amount must not be negative');
      } else {
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        const got = (res.body as PredictResponse).outputs.probability;
        expect(got).toHaveLength(1);
        expect(Math.abs(got[0]! - ROWS.gbdt[row]!)).toBeLessThan(TOLERANCE);
      }
    });
  });

  it('request data: missing field → 400, wrong type → 422, wrong length → 400', async () => {
    const post = (body: unknown): Promise<TestResponse> =>
      server.post('/v1/models/gbdt_checked/predict', body);
    expectError(await post({ entities: { row_id: ['1'] } }), 400, 'QUIVER_ERR_MISSING_REQUEST_DATA');
    const typed = expectError(
      await post({ entities: { row_id: ['1'] }, request: { amount: ['12'] } }),
      422,
      'QUIVER_ERR_INVALID_VALUE',
    );
    expect(typed.error).toContain('request.amount[0]');
    // Out-of-range numbers say what came, not what JSON.stringify makes of them (null).
    const infinite = expectError(
      await post('{"entities":{"row_id":["1"]},"request":{"amount":[1e400]}}'),
      422,
      'QUIVER_ERR_INVALID_VALUE',
    );
    expect(infinite.error).toMatch(/got number Infinity$/);
    // A column in both places is refused, not silently taken from one of them (here: a join key).
    const twice = expectError(
      await post({ entities: { row_id: ['1'] }, request: { amount: [5], row_id: ['2'] } }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(twice.error).toBe('"row_id" is in both "entities" and "request": send each column once');
    // A field predict does not take is refused, not ignored (features come from the model's service).
    const unknown = expectError(
      await post({ entities: { row_id: ['1'] }, request: { amount: [5] }, features: ['x:y'] }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(unknown.error).toMatch(/^unknown field "features": predict takes "entities" and "request"/);
    expectError(
      await post({ entities: { row_id: ['1', '2'] }, request: { amount: [1] } }),
      400,
      'QUIVER_ERR_ENTITY_LENGTH_MISMATCH',
    );
    expectError(await post({ entities: { row_id: ['1'] }, request: [1] }), 400, 'QUIVER_ERR_INVALID_REQUEST');
  });
});

describe('predict request errors', () => {
  let server: InferenceServer;

  beforeAll(async () => {
    server = await startInferenceServer({
      config: inferenceConfig({ extraModels: [{ name: 'gbdt_raw', path: GBDT_PATH }] }),
    });
  });

  afterAll(async () => {
    await server.close();
  });

  const post = (model: string, body: unknown): Promise<TestResponse> =>
    server.post(`/v1/models/${model}/predict`, body);

  it('a model without featureService → 400 pointing at /v2 infer', async () => {
    const body = expectError(
      await post('gbdt_raw', { entities: { row_id: ['1'] } }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
    expect(body.error).toContain('featureService');
    expect(body.error).toContain('/v2/models/gbdt_raw/infer');
  });

  it('an unknown model → 404', async () => {
    expectError(await post('nope', { entities: { row_id: ['1'] } }), 404, 'QUIVER_ERR_UNKNOWN_MODEL');
  });

  it('a missing join key → 400 naming it', async () => {
    const body = expectError(
      await post('gbdt', { entities: { user_id: ['1'] } }),
      400,
      'QUIVER_ERR_MISSING_JOIN_KEY',
    );
    expect(body.error).toContain('"row_id"');
  });

  it('missing or malformed entities → 400', async () => {
    expectError(await post('gbdt', {}), 400, 'QUIVER_ERR_INVALID_REQUEST');
    expectError(await post('gbdt', { entities: [] }), 400, 'QUIVER_ERR_INVALID_REQUEST');
    expectError(await post('gbdt', { entities: { row_id: '1' } }), 400, 'QUIVER_ERR_INVALID_REQUEST');
    expectError(await post('gbdt', { entities: { row_id: [] } }), 400, 'QUIVER_ERR_INVALID_REQUEST');
    expectError(await post('gbdt', '{"entities":'), 400, 'QUIVER_ERR_MALFORMED_BODY');
  });

  it.each<[string, unknown]>([
    ['null', null],
    ['an empty string', ''],
    ['a fraction', 1.5],
    ['an object', { id: 1 }],
  ])('a join-key value that is %s → 422 naming its position', async (_, value) => {
    const body = expectError(
      await post('gbdt', { entities: { row_id: ['1', value] } }),
      422,
      'QUIVER_ERR_INVALID_VALUE',
    );
    expect(body.error).toContain('entities.row_id[1]');
  });

  it('too many entities → 400', async () => {
    const ids = Array.from(
      { length: server.config.server.maxEntitiesPerRequest + 1 },
      (_, i) => i % ROWS.count,
    );
    expectError(await post('gbdt', { entities: { row_id: ids } }), 400, 'QUIVER_ERR_TOO_MANY_ENTITIES');
  });

  it('the same model still predicts correctly after the errors', async () => {
    const res = await post('gbdt', { entities: { row_id: ['1', '2'] } });
    expect(res.status).toBe(200);
    const got = (res.body as PredictResponse).outputs.probability;
    expect(worstError(got, (i) => ROWS.gbdt[i + 1]!)).toBeLessThan(TOLERANCE);
  });
});
