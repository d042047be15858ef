/**
 * Open Inference Protocol v2 (KServe "Predict Protocol - Version 2", docs/predict-api/v2/required_api.md)
 * golden tests against the real gbdt.onnx served by Quiver. Shapes mirror the spec's documents:
 * - health: 200 = true, 4xx = false;
 * - server metadata `{name, version, extensions: [string]}`;
 * - model metadata `{name, versions?, platform, inputs: [$metadata_tensor], outputs: [...]}`, with -1
 *   for variable-size dims;
 * - infer request `{id?, parameters?, inputs: [{name, shape, datatype, parameters?, data}], outputs?:
 *   [{name}]}` → `{model_name, model_version?, id, outputs: [{name, shape, datatype, data}]}`, data
 *   flat or nested (row-major);
 * - errors `{"error": $string}` (Quiver adds `code`).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectError, type TestResponse } from '../fixtures/config.ts';
import {
  FEATURES,
  ROWS,
  TOLERANCE,
  oipFeatures,
  rowFeatures,
  startInferenceServer,
  worstError,
  type InferenceServer,
} from '../fixtures/inference.ts';

let server: InferenceServer;

beforeAll(async () => {
  server = await startInferenceServer();
});

afterAll(async () => {
  await server.close();
});

interface OipOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: unknown[];
}
interface InferResponse {
  model_name: string;
  model_version?: string;
  id?: string;
  outputs: OipOutput[];
}

const infer = (body: unknown, path = '/v2/models/gbdt/infer'): Promise<TestResponse> =>
  server.post(path, body);

/** Asserts a probability output of `count` rows starting at test row `start`. */
function expectProbabilities(output: OipOutput | undefined, start: number, count: number): void {
  expect(output).toBeDefined();
  expect(output!.name).toBe('probability');
  expect(output!.datatype).toBe('FP32');
  expect(output!.shape).toEqual([count, 1]);
  expect(output!.data).toHaveLength(count);
  expect(worstError(output!.data, (i) => ROWS.gbdt[start + i]!)).toBeLessThan(TOLERANCE);
}

describe('health', () => {
  it('GET /v2/health/live → 200', async () => {
    const res = await server.get('/v2/health/live');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ live: true });
  });

  it('GET /v2/health/ready → 200 once every model is loaded', async () => {
    const res = await server.get('/v2/health/ready');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ready: true });
  });

  it('GET /v2/models/gbdt/ready and /versions/1/ready → 200; an unknown model → 404 {error}', async () => {
    for (const path of ['/v2/models/gbdt/ready', '/v2/models/gbdt/versions/1/ready']) {
      const res = await server.get(path);
      expect(res.status, path).toBe(200);
      expect(res.body).toEqual({ name: 'gbdt', ready: true });
    }
    expectError(await server.get('/v2/models/nope/ready'), 404, 'QUIVER_ERR_UNKNOWN_MODEL');
    expectError(
      await server.get('/v2/models/gbdt/versions/2/ready'),
      404,
      'QUIVER_ERR_UNKNOWN_MODEL_VERSION',
    );
  });
});

describe('metadata', () => {
  it('GET /v2 → server metadata {name, version, extensions}', async () => {
    const res = await server.get('/v2');
    expect(res.status).toBe(200);
    const body = res.body as { name: string; version: string; extensions: unknown[] };
    expect(Object.keys(body).sort()).toEqual(['extensions', 'name', 'version']);
    expect(body.name).toBe('quiver');
    // The server reports the version it ships as.
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(body.version).toBe(pkg.version);
    expect(Array.isArray(body.extensions)).toBe(true);
    expect(body.extensions.every((e) => typeof e === 'string')).toBe(true);
    // POST /v2/repository/models/{m}/load|unload is served (lifecycle.test.ts), so it is advertised.
    expect(body.extensions).toContain('model_repository');
  });

  const GBDT_METADATA = {
    name: 'gbdt',
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, FEATURES] }],
    outputs: [{ name: 'probability', datatype: 'FP32', shape: [-1, 1] }],
  };

  it('GET /v2/models/gbdt → the exact model metadata document', async () => {
    const res = await server.get('/v2/models/gbdt');
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(GBDT_METADATA);
  });

  it('GET /v2/models/gbdt/versions/1 → the same document', async () => {
    const res = await server.get('/v2/models/gbdt/versions/1');
    expect(res.status).toBe(200);
    expect(res.body).toStrictEqual(GBDT_METADATA);
  });

  it('an unknown version → 404 {error} naming it, with the versions that exist', async () => {
    const body = expectError(
      await server.get('/v2/models/gbdt/versions/7'),
      404,
      'QUIVER_ERR_UNKNOWN_MODEL_VERSION',
    );
    expect(body.error).toContain('"7"');
    expect(body.details).toEqual({ versions: ['1'] });
  });

  it('an unknown model → 404 {error} listing the models that exist', async () => {
    const body = expectError(await server.get('/v2/models/nope'), 404, 'QUIVER_ERR_UNKNOWN_MODEL');
    expect(body.error).toContain('"nope"');
    expect(body.details).toEqual({ available: ['gbdt', 'lr'] });
  });
});

describe('POST /v2/models/gbdt/infer — FP32', () => {
  it('the spec example shape: one row, id echoed, outputs selected', async () => {
    const res = await infer({
      id: '42',
      inputs: [oipFeatures(123, 1)],
      outputs: [{ name: 'probability' }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as InferResponse;
    expect(Object.keys(body).sort()).toEqual(['id', 'model_name', 'model_version', 'outputs']);
    expect(body.model_name).toBe('gbdt');
    expect(body.model_version).toBe('1');
    expect(body.id).toBe('42');
    expect(body.outputs).toHaveLength(1);
    expect(Object.keys(body.outputs[0]!).sort()).toEqual(['data', 'datatype', 'name', 'shape']);
    expectProbabilities(body.outputs[0], 123, 1);
  });

  it('all 1,000 test rows in one request match gbdt_proba within 1e-5', async () => {
    const res = await infer({ inputs: [oipFeatures(0, ROWS.count)] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as InferResponse;
    expect(body.outputs).toHaveLength(1);
    expectProbabilities(body.outputs[0], 0, ROWS.count);
  });

  it('every row alone (first, middle, last) through the versioned path', async () => {
    for (const row of [0, 500, ROWS.count - 1]) {
      const res = await infer({ inputs: [oipFeatures(row, 1)] }, '/v2/models/gbdt/versions/1/infer');
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expectProbabilities((res.body as InferResponse).outputs[0], row, 1);
    }
  });

  it('no id in the request → no id in the response; parameters are accepted', async () => {
    const res = await infer({ parameters: { note: 'x', n: 1, flag: true }, inputs: [oipFeatures(7, 2)] });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const body = res.body as InferResponse;
    expect('id' in body).toBe(false);
    expectProbabilities(body.outputs[0], 7, 2);
  });

  it('an id that is not a string → 400 saying so (it could not be echoed back)', async () => {
    const res = await infer({ id: 7, inputs: [oipFeatures(7, 1)] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'QUIVER_ERR_INVALID_REQUEST',
      error: '"id" must be a string (Open Inference Protocol), got number 7',
    });
  });

  it('without `outputs`, every output the model produces is returned', async () => {
    const res = await infer({ id: 'all', inputs: [oipFeatures(10, 3)] });
    expect(res.status).toBe(200);
    const body = res.body as InferResponse;
    expect(body.outputs.map((o) => o.name)).toEqual(['probability']);
    expectProbabilities(body.outputs[0], 10, 3);
  });

  it('nested data (the natural [N][16] form) gives the same result as flat data', async () => {
    const nested = [rowFeatures(40), rowFeatures(41), rowFeatures(42)];
    const res = await infer({
      inputs: [{ name: 'features', datatype: 'FP32', shape: [3, FEATURES], data: nested }],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expectProbabilities((res.body as InferResponse).outputs[0], 40, 3);
  });

  it('an unknown output in `outputs` → 422 naming it', async () => {
    const body = expectError(
      await infer({ inputs: [oipFeatures(0, 1)], outputs: [{ name: 'label' }] }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
    expect(body.error).toContain('"label"');
    expect(body.error).toContain('unknown output');
  });

  it('malformed `outputs` → 400', async () => {
    expectError(
      await infer({ inputs: [oipFeatures(0, 1)], outputs: ['probability'] }),
      400,
      'QUIVER_ERR_INVALID_REQUEST',
    );
  });
});

describe('POST /v2/models/gbdt/infer — datatypes the model does not take', () => {
  // Well-formed tensors of each datatype (tensor.test.ts covers their conversion); gbdt takes FP32 only.
  const cases: [string, unknown[]][] = [
    ['FP64', rowFeatures(0)],
    ['INT32', Array.from({ length: FEATURES }, (_, i) => i - 8)],
    ['INT64', Array.from({ length: FEATURES }, (_, i) => i * 1000)],
    ['BOOL', Array.from({ length: FEATURES }, (_, i) => i % 2 === 0)],
    ['BYTES', Array.from({ length: FEATURES }, (_, i) => `v${i}`)],
  ];
  it.each(cases)('%s → 422 {error} naming the datatype mismatch', async (datatype, data) => {
    const body = expectError(
      await infer({ inputs: [{ name: 'features', datatype, shape: [1, FEATURES], data }] }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
    expect(body.error).toBe(
      `Invalid tensor "features": datatype ${datatype} does not match the model's FP32`,
    );
  });

  it('an unknown datatype → 422 listing the known ones', async () => {
    const body = expectError(
      await infer({
        inputs: [{ name: 'features', datatype: 'FP8', shape: [1, FEATURES], data: rowFeatures(0) }],
      }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
    expect(body.error).toContain('unknown datatype "FP8"');
    expect(body.error).toContain('FP32');
  });

  it('FP32 data that is not a finite number → 422 naming the element', async () => {
    const data: unknown[] = rowFeatures(0);
    data[5] = 'x';
    const body = expectError(
      await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, FEATURES], data }] }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
    expect(body.error).toContain('data[5]');
  });
});

describe('POST /v2/models/gbdt/infer — shape and request errors', () => {
  it('a wrong inner dim → 422 naming the dim', async () => {
    const data = rowFeatures(0).slice(0, 15);
    const body = expectError(
      await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 15], data }] }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
    expect(body.error).toContain('dim 1 is 15, needs 16');
  });

  it('a wrong rank → 422', async () => {
    const body = expectError(
      await infer({
        inputs: [{ name: 'features', datatype: 'FP32', shape: [FEATURES], data: rowFeatures(0) }],
      }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
    expect(body.error).toContain('rank');
  });

  it('an element count that does not match the shape → 422', async () => {
    const body = expectError(
      await infer({
        inputs: [{ name: 'features', datatype: 'FP32', shape: [2, FEATURES], data: rowFeatures(0) }],
      }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
    expect(body.error).toContain('needs 32 elements, got 16');
  });

  it('an empty batch → 422', async () => {
    expectError(
      await infer({ inputs: [{ name: 'features', datatype: 'FP32', shape: [0, FEATURES], data: [] }] }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
  });

  it('an unknown input name → 422 naming it and what the model takes', async () => {
    const body = expectError(
      await infer({ inputs: [{ ...oipFeatures(0, 1), name: 'input0' }] }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
    expect(body.error).toContain('"input0"');
    expect(body.error).toContain('features (FP32 [-1,16])');
  });

  it('an input given twice → 422', async () => {
    expectError(
      await infer({ inputs: [oipFeatures(0, 1), oipFeatures(1, 1)] }),
      422,
      'QUIVER_ERR_INVALID_TENSOR',
    );
  });

  it('no inputs → 400', async () => {
    expectError(await infer({ inputs: [] }), 400, 'QUIVER_ERR_INVALID_REQUEST');
    expectError(await infer({ id: '1' }), 400, 'QUIVER_ERR_INVALID_REQUEST');
  });

  it('an unknown model → 404; an unknown version → 404', async () => {
    expectError(
      await infer({ inputs: [oipFeatures(0, 1)] }, '/v2/models/nope/infer'),
      404,
      'QUIVER_ERR_UNKNOWN_MODEL',
    );
    expectError(
      await infer({ inputs: [oipFeatures(0, 1)] }, '/v2/models/gbdt/versions/9/infer'),
      404,
      'QUIVER_ERR_UNKNOWN_MODEL_VERSION',
    );
  });

  it('a malformed body → 400; a body that is not an object → 400', async () => {
    expectError(await infer('{"inputs": [', '/v2/models/gbdt/infer'), 400, 'QUIVER_ERR_MALFORMED_BODY');
    expectError(await infer('[1, 2]', '/v2/models/gbdt/infer'), 400, 'QUIVER_ERR_INVALID_REQUEST');
  });

  it('after all of that, the model still answers correctly', async () => {
    const res = await infer({ inputs: [oipFeatures(900, 100)] });
    expect(res.status).toBe(200);
    expectProbabilities((res.body as InferResponse).outputs[0], 900, 100);
  });
});
