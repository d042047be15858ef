/**
 * Predict and infer take the raw fast path (http/fast-path.ts) when the path is exactly
 * /v1/models/{m}/predict or /v2/models/{m}/infer; anything else (a query string, a version, an
 * encoded name) goes through Fastify. Both must answer byte for byte the same, errors included, and
 * a client that leaves while its request waits in the queue must not have it computed.
 */
import diagnostics from 'node:diagnostics_channel';
import { once } from 'node:events';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdmissionRejectEvent } from '../../src/metrics/events.ts';
import { GatedRuntime } from '../fixtures/gated-runtime.ts';
import {
  FEATURES,
  ROWS,
  inferenceConfig,
  rowFeatures,
  startInferenceServer,
  type InferenceServer,
} from '../fixtures/inference.ts';

const MSGPACK = { accept: 'application/msgpack' };
const predictBody = { entities: { row_id: ['0', '1', 'nobody'] } };
const inferBody = {
  id: 'x1',
  inputs: [
    {
      name: 'features',
      datatype: 'FP32',
      shape: [2, FEATURES],
      data: [...rowFeatures(0), ...rowFeatures(5)],
    },
  ],
};

describe('fast path and Fastify path answer the same', () => {
  let server: InferenceServer;
  beforeAll(async () => {
    server = await startInferenceServer();
  });
  afterAll(() => server.close());

  const cases: [string, string, unknown, Record<string, string>?][] = [
    ['predict', '/v1/models/gbdt/predict', predictBody],
    ['infer', '/v2/models/gbdt/infer', inferBody],
    ['unknown model', '/v1/models/nope/predict', predictBody],
    ['infer on an unknown model', '/v2/models/nope/infer', inferBody],
    ['malformed JSON', '/v1/models/gbdt/predict', '{"entities": '],
    ['empty body', '/v2/models/gbdt/infer', ''],
    ['wrong entity type', '/v1/models/gbdt/predict', { entities: { row_id: [{}] } }],
    [
      'wrong tensor shape',
      '/v2/models/gbdt/infer',
      { inputs: [{ ...inferBody.inputs[0], shape: [3, FEATURES] }] },
    ],
    ['bad x-priority header', '/v1/models/gbdt/predict', predictBody, { 'x-priority': 'high' }],
    ['predict, msgpack accepted', '/v1/models/gbdt/predict', predictBody, MSGPACK],
    ['infer, msgpack accepted', '/v2/models/gbdt/infer', inferBody, MSGPACK],
    ['an error, msgpack accepted', '/v1/models/gbdt/predict', { entities: { row_id: [{}] } }, MSGPACK],
  ];

  it.each(cases)('%s', async (_name, path, body, headers) => {
    const fast = await server.post(path, body, headers);
    const viaFastify = await server.post(`${path}?via=fastify`, body, headers);
    expect(fast.status).toBe(viaFastify.status);
    expect(fast.headers.get('content-type')).toBe(viaFastify.headers.get('content-type'));
    expect(fast.raw.toString('utf8')).toBe(viaFastify.raw.toString('utf8'));
    // Framed by length as Fastify frames it, not chunked (a chunked body costs both ends more work).
    for (const res of [fast, viaFastify]) {
      expect(res.headers.get('content-length')).toBe(String(res.raw.length));
      expect(res.headers.get('transfer-encoding')).toBeNull();
    }
  });

  it.each([
    ['/v1/models/gbdt/predict', predictBody],
    ['/v2/models/gbdt/infer', inferBody],
  ])(
    "Accept: application/msgpack answers %s with the JSON answer's document, in msgpack",
    async (path, body) => {
      const json = await server.post(path, body);
      const packed = await server.post(path, body, MSGPACK);
      expect(packed.status).toBe(200);
      expect(packed.headers.get('content-type')).toBe('application/msgpack');
      expect(unpack(packed.raw)).toEqual(json.body);
    },
  );

  it('errors stay JSON when msgpack is accepted, so a client reads every error one way', async () => {
    const res = await server.post('/v1/models/gbdt/predict', { entities: { row_id: [{}] } }, MSGPACK);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(res.body).toMatchObject({ code: 'QUIVER_ERR_INVALID_VALUE' });
  });

  it('both paths time their errors by route and code in /metrics', async () => {
    const metrics = (await server.get('/metrics')).raw.toString('utf8');
    // The unknown-model case above went once through each path.
    expect(metrics).toContain(
      'quiver_http_error_duration_seconds_count{route="/v1/models/:model/predict",code="QUIVER_ERR_UNKNOWN_MODEL"} 2',
    );
    expect(metrics).toMatch(
      /quiver_http_request_duration_seconds_count\{route="\/v2\/models\/:model\/infer",status="200"\} [1-9]/,
    );
  });

  it('serves correct probabilities on the fast path', async () => {
    const res = await server.post('/v2/models/gbdt/infer', inferBody);
    expect(res.status).toBe(200);
    const data = (res.body as { outputs: { data: number[] }[] }).outputs[0]!.data;
    expect(data[0]).toBeCloseTo(ROWS.gbdt[0]!, 5);
    expect(data[1]).toBeCloseTo(ROWS.gbdt[5]!, 5);
  });
});

describe('fast path: overload and disconnects', () => {
  const runtime = new GatedRuntime();
  let server: InferenceServer;
  beforeAll(async () => {
    server = await startInferenceServer({
      runtime,
      config: inferenceConfig({
        gbdt: { runners: 1, queue: { defaultTimeoutMs: 60_000, maxQueueSize: 1, priorityLevels: 1 } },
      }),
    });
  });
  afterAll(() => server.close());

  it('is dropped from the queue and never run; the requests around it are answered', async () => {
    runtime.runRows.length = 0;
    runtime.hold();
    const first = server.post('/v1/models/gbdt/predict', { entities: { row_id: ['1'] } });
    const batcher = server.running.models.get('gbdt').batcher;
    await until(() => batcher.stats.inFlight === 1);

    // The second waits behind the first (one runner, held); its client then hangs up.
    const cancelled = new Promise<AdmissionRejectEvent>((resolve) => {
      const listener = (message: unknown): void => {
        diagnostics.unsubscribe('quiver:admission:reject', listener);
        resolve(message as AdmissionRejectEvent);
      };
      diagnostics.subscribe('quiver:admission:reject', listener);
    });
    const body = JSON.stringify({ entities: { row_id: ['2', '3'] } });
    const req = httpRequest(`${server.url}/v1/models/gbdt/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.on('error', () => undefined); // the abort below
    req.end(body);
    await until(() => batcher.stats.queued === 1);
    req.destroy();
    expect(await cancelled).toMatchObject({ model: 'gbdt', reason: 'cancelled' });

    runtime.release();
    expect((await first).status).toBe(200);
    const after = await server.post('/v1/models/gbdt/predict', { entities: { row_id: ['4'] } });
    expect(after.status).toBe(200);
    // Runs: the first request and the one after; the two rows of the abandoned one never ran.
    expect(runtime.runRows).toEqual([1, 1]);
  });

  it('a full queue refuses from the headers, before the body arrives', async () => {
    runtime.runRows.length = 0;
    runtime.hold();
    const batcher = server.running.models.get('gbdt').batcher;
    const running = server.post('/v1/models/gbdt/predict', { entities: { row_id: ['1'] } });
    await until(() => batcher.stats.inFlight === 1);
    const queued = server.post('/v1/models/gbdt/predict', { entities: { row_id: ['2'] } });
    await until(() => batcher.stats.queued === 1); // the one slot of the one level

    // The body never comes: only a refusal from the headers can answer.
    const refused = await postWithoutBody(`${server.url}/v2/models/gbdt/infer`);
    expect(refused.status).toBe(503);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'QUIVER_ERR_QUEUE_FULL' });

    runtime.release();
    expect((await running).status).toBe(200);
    expect((await queued).status).toBe(200);
    expect(runtime.runRows).toEqual([1, 1]);
  });
});

describe('a client that leaves in the middle of its body', () => {
  let server: InferenceServer;
  beforeAll(async () => {
    server = await startInferenceServer();
  });
  afterAll(() => server.close());

  it.each(['/get-online-features', '/v1/models/gbdt/predict', '/v2/models/gbdt/infer'])(
    'on %s leaves the server up and answering',
    async (path) => {
      const { hostname, port } = new URL(server.url);
      const socket = connect(Number(port), hostname);
      await once(socket, 'connect');
      socket.write(
        `POST ${path} HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
          'content-length: 100\r\n\r\n{"entities": {"row_',
      );
      socket.destroy();
      await once(socket, 'close');
      const next = await server.post('/v1/models/gbdt/predict', predictBody);
      expect(next.status).toBe(200);
      expect((await server.get('/health')).status).toBe(200);
    },
  );
});

/** POSTs headers announcing a body, sends none, and resolves with the status and body of the answer. */
function postWithoutBody(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '100' },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode!, body });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

/** Resolves once `condition` holds, checked once per event-loop turn (requests arrive in turns). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
