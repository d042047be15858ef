/**
 * Golden tests of POST /get-online-features: each pins the whole Feast-compatible response document
 * (names, values, statuses, event timestamps), not fragments of it.
 */
import { Packr, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { responseBuffers } from '../../src/features/response-buffers.ts';
import {
  EPOCH,
  FRESH_TS_MS,
  MERCHANT_TS_MS,
  rfc3339,
  STALE_TS_MS,
  startTestServer,
  type TestServer,
} from '../fixtures/config.ts';
import { openSocket, readAnswers } from '../support/raw-http.ts';

const FRESH = rfc3339(FRESH_TS_MS);
const STALE = rfc3339(STALE_TS_MS);
const MERCHANT = rfc3339(MERCHANT_TS_MS);

interface Column {
  values: unknown[];
  statuses: string[];
  event_timestamps: string[];
}
interface Document {
  metadata: { feature_names: string[] };
  results: Column[];
}

/** A plain msgpack encoder, as any non-JS client would use (no msgpackr records). */
const plainPackr = new Packr({ useRecords: false });

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
});

afterAll(async () => {
  await server.close();
});

async function getFeatures(body: unknown, headers?: Record<string, string>): Promise<Document> {
  const res = await server.post('/get-online-features', body, headers);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return res.body as Document;
}

/**
 * On-demand outputs are stamped with the time they were computed: checks that column's stamps lie
 * in [beforeMs, afterMs] and are all equal, then returns the document with them replaced by "<now>"
 * so the rest can be compared literally.
 */
function withComputedAt(doc: Document, column: number, beforeMs: number, afterMs: number): Document {
  const stamps = doc.results[column]!.event_timestamps;
  for (const s of stamps) {
    expect(s).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/);
    const ms = Date.parse(s);
    expect(ms).toBeGreaterThanOrEqual(Math.floor(beforeMs / 1000) * 1000);
    expect(ms).toBeLessThanOrEqual(afterMs);
  }
  expect(new Set(stamps).size).toBe(1);
  const results = doc.results.map((c, i) =>
    i === column ? { ...c, event_timestamps: c.event_timestamps.map(() => '<now>') } : c,
  );
  return { ...doc, results };
}

describe('POST /get-online-features — golden documents', () => {
  it('one entity, every feature type', async () => {
    const doc = await getFeatures({ features: ['user_stats:*'], entities: { user_id: [1001] } });
    expect(doc).toEqual({
      metadata: {
        feature_names: ['user_id', 'txn_count', 'avg_amount', 'risk_score', 'is_vip', 'country', 'embedding'],
      },
      results: [
        { values: [1001], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: [42], statuses: ['PRESENT'], event_timestamps: [FRESH] },
        { values: [12.5], statuses: ['PRESENT'], event_timestamps: [FRESH] },
        { values: [0.125], statuses: ['PRESENT'], event_timestamps: [FRESH] },
        { values: [true], statuses: ['PRESENT'], event_timestamps: [FRESH] },
        { values: ['NL'], statuses: ['PRESENT'], event_timestamps: [FRESH] },
        { values: [[0.5, -1.25, 2]], statuses: ['PRESENT'], event_timestamps: [FRESH] },
      ],
    });
  });

  it('several entities: unknown → NOT_FOUND, null → NULL_VALUE, stale → OUTSIDE_MAX_AGE with its value', async () => {
    const doc = await getFeatures({
      features: ['user_stats:txn_count', 'user_stats:avg_amount'],
      entities: { user_id: [1001, 9999, 1002, 1003] },
    });
    expect(doc).toEqual({
      metadata: { feature_names: ['user_id', 'txn_count', 'avg_amount'] },
      results: [
        {
          values: [1001, 9999, 1002, 1003],
          statuses: ['PRESENT', 'PRESENT', 'PRESENT', 'PRESENT'],
          event_timestamps: [EPOCH, EPOCH, EPOCH, EPOCH],
        },
        {
          values: [42, null, 7, 3],
          statuses: ['PRESENT', 'NOT_FOUND', 'PRESENT', 'OUTSIDE_MAX_AGE'],
          event_timestamps: [FRESH, EPOCH, FRESH, STALE],
        },
        {
          values: [12.5, null, null, 99.5],
          statuses: ['PRESENT', 'NOT_FOUND', 'NULL_VALUE', 'OUTSIDE_MAX_AGE'],
          event_timestamps: [FRESH, EPOCH, FRESH, STALE],
        },
      ],
    });
  });

  it('full_feature_names: true names features "view__feature" (join keys stay plain)', async () => {
    const doc = await getFeatures({
      features: ['user_stats:txn_count', 'merchant_stats:chargeback_rate'],
      entities: { user_id: ['1002'], merchant_id: ['m1'], country_code: ['DE'] },
      full_feature_names: true,
    });
    expect(doc).toEqual({
      metadata: {
        feature_names: [
          'user_id',
          'merchant_id',
          'country_code',
          'user_stats__txn_count',
          'merchant_stats__chargeback_rate',
        ],
      },
      results: [
        { values: ['1002'], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: ['m1'], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: ['DE'], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: [7], statuses: ['PRESENT'], event_timestamps: [FRESH] },
        { values: [0.25], statuses: ['PRESENT'], event_timestamps: [MERCHANT] },
      ],
    });
  });

  it('full_feature_names: false is the same as leaving it out', async () => {
    const body = { features: ['user_stats:txn_count'], entities: { user_id: [1001] } };
    expect(await getFeatures({ ...body, full_feature_names: false })).toEqual(await getFeatures(body));
  });

  it('a feature service', async () => {
    const doc = await getFeatures({ feature_service: 'user_basics', entities: { user_id: [1002, 1001] } });
    expect(doc).toEqual({
      metadata: { feature_names: ['user_id', 'txn_count', 'avg_amount'] },
      results: [
        { values: [1002, 1001], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: [7, 42], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [FRESH, FRESH] },
        { values: [null, 12.5], statuses: ['NULL_VALUE', 'PRESENT'], event_timestamps: [FRESH, FRESH] },
      ],
    });
  });

  it('a feature service mixing views, a composite entity and an on-demand feature', async () => {
    const before = Date.now();
    const doc = await getFeatures({
      feature_service: 'fraud_v1',
      entities: {
        user_id: [1001, 1002],
        merchant_id: ['m1', 'm1'],
        country_code: ['NL', 'XX'],
        amount: [25, 10],
      },
    });
    const after = Date.now();
    expect(withComputedAt(doc, 6, before, after)).toEqual({
      metadata: {
        feature_names: [
          'user_id',
          'merchant_id',
          'country_code',
          'txn_count',
          'txn_count_1d',
          'chargeback_rate',
          'ratio',
        ],
      },
      results: [
        { values: [1001, 1002], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: ['m1', 'm1'], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: ['NL', 'XX'], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: [42, 7], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [FRESH, FRESH] },
        { values: [120, null], statuses: ['PRESENT', 'NOT_FOUND'], event_timestamps: [MERCHANT, EPOCH] },
        { values: [0.5, null], statuses: ['PRESENT', 'NOT_FOUND'], event_timestamps: [MERCHANT, EPOCH] },
        // 25 / 12.5 = 2; user 1002 has no avg_amount, so its ratio has no value either.
        { values: [2, null], statuses: ['PRESENT', 'NULL_VALUE'], event_timestamps: ['<now>', '<now>'] },
      ],
    });
  });

  it('"view:*" expands to the view\'s features in schema order', async () => {
    const doc = await getFeatures({
      features: ['merchant_stats:*'],
      entities: { merchant_id: ['m1'], country_code: ['NL'] },
    });
    expect(doc).toEqual({
      metadata: { feature_names: ['merchant_id', 'country_code', 'txn_count_1d', 'chargeback_rate'] },
      results: [
        { values: ['m1'], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: ['NL'], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: [120], statuses: ['PRESENT'], event_timestamps: [MERCHANT] },
        { values: [0.5], statuses: ['PRESENT'], event_timestamps: [MERCHANT] },
      ],
    });
  });

  it('composite keys: join keys are echoed in request order and matched by value, not position', async () => {
    const doc = await getFeatures({
      features: ['merchant_stats:txn_count_1d'],
      // country_code first, the reverse of the entity's declared order.
      entities: { country_code: ['DE', 'NL', 'NL'], merchant_id: ['m1', 'm1', 'm2'] },
    });
    expect(doc).toEqual({
      metadata: { feature_names: ['country_code', 'merchant_id', 'txn_count_1d'] },
      results: [
        {
          values: ['DE', 'NL', 'NL'],
          statuses: ['PRESENT', 'PRESENT', 'PRESENT'],
          event_timestamps: [EPOCH, EPOCH, EPOCH],
        },
        {
          values: ['m1', 'm1', 'm2'],
          statuses: ['PRESENT', 'PRESENT', 'PRESENT'],
          event_timestamps: [EPOCH, EPOCH, EPOCH],
        },
        {
          values: [5, 120, null],
          statuses: ['PRESENT', 'PRESENT', 'NOT_FOUND'],
          event_timestamps: [MERCHANT, MERCHANT, EPOCH],
        },
      ],
    });
  });

  it('integer and string ids address the same entity; each is echoed as sent', async () => {
    const doc = await getFeatures({
      features: ['user_stats:txn_count'],
      entities: { user_id: [1001, '1001'] },
    });
    expect(doc).toEqual({
      metadata: { feature_names: ['user_id', 'txn_count'] },
      results: [
        { values: [1001, '1001'], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: [42, 42], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [FRESH, FRESH] },
      ],
    });
  });

  it('duplicated refs (also through "view:*") appear once', async () => {
    const doc = await getFeatures({
      features: ['user_stats:txn_count', 'user_stats:txn_count', 'user_stats:*', 'user_stats:country'],
      entities: { user_id: [1003] },
    });
    expect(doc).toEqual({
      metadata: {
        feature_names: ['user_id', 'txn_count', 'avg_amount', 'risk_score', 'is_vip', 'country', 'embedding'],
      },
      results: [
        { values: [1003], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: [3], statuses: ['OUTSIDE_MAX_AGE'], event_timestamps: [STALE] },
        { values: [99.5], statuses: ['OUTSIDE_MAX_AGE'], event_timestamps: [STALE] },
        { values: [0.5], statuses: ['OUTSIDE_MAX_AGE'], event_timestamps: [STALE] },
        { values: [false], statuses: ['OUTSIDE_MAX_AGE'], event_timestamps: [STALE] },
        { values: ['FR'], statuses: ['OUTSIDE_MAX_AGE'], event_timestamps: [STALE] },
        { values: [[0]], statuses: ['OUTSIDE_MAX_AGE'], event_timestamps: [STALE] },
      ],
    });
  });

  it('an on-demand feature computed from request data and a stored feature', async () => {
    const before = Date.now();
    const doc = await getFeatures({
      features: ['amount_ratio:ratio'],
      entities: { user_id: [1001, 1003, 9999, 1002], amount: [25, 99.5, 1, 1] },
    });
    const after = Date.now();
    expect(withComputedAt(doc, 1, before, after)).toEqual({
      metadata: { feature_names: ['user_id', 'ratio'] },
      results: [
        {
          values: [1001, 1003, 9999, 1002],
          statuses: ['PRESENT', 'PRESENT', 'PRESENT', 'PRESENT'],
          event_timestamps: [EPOCH, EPOCH, EPOCH, EPOCH],
        },
        {
          // A stale input makes the output stale (value still shown); a missing one makes it missing.
          values: [2, 1, null, null],
          statuses: ['PRESENT', 'OUTSIDE_MAX_AGE', 'NOT_FOUND', 'NULL_VALUE'],
          event_timestamps: ['<now>', '<now>', '<now>', '<now>'],
        },
      ],
    });
  });
});

describe('POST /get-online-features — encodings', () => {
  const body = {
    features: ['user_stats:*', 'merchant_stats:chargeback_rate'],
    entities: {
      user_id: [1001, 9999, 1002],
      merchant_id: ['m1', 'm1', 'm1'],
      country_code: ['NL', 'NL', 'DE'],
    },
  };
  const expected: Document = {
    metadata: {
      feature_names: [
        'user_id',
        'merchant_id',
        'country_code',
        'txn_count',
        'avg_amount',
        'risk_score',
        'is_vip',
        'country',
        'embedding',
        'chargeback_rate',
      ],
    },
    results: [
      {
        values: [1001, 9999, 1002],
        statuses: ['PRESENT', 'PRESENT', 'PRESENT'],
        event_timestamps: [EPOCH, EPOCH, EPOCH],
      },
      {
        values: ['m1', 'm1', 'm1'],
        statuses: ['PRESENT', 'PRESENT', 'PRESENT'],
        event_timestamps: [EPOCH, EPOCH, EPOCH],
      },
      {
        values: ['NL', 'NL', 'DE'],
        statuses: ['PRESENT', 'PRESENT', 'PRESENT'],
        event_timestamps: [EPOCH, EPOCH, EPOCH],
      },
      {
        values: [42, null, 7],
        statuses: ['PRESENT', 'NOT_FOUND', 'PRESENT'],
        event_timestamps: [FRESH, EPOCH, FRESH],
      },
      {
        values: [12.5, null, null],
        statuses: ['PRESENT', 'NOT_FOUND', 'NULL_VALUE'],
        event_timestamps: [FRESH, EPOCH, FRESH],
      },
      {
        values: [0.125, null, 0.75],
        statuses: ['PRESENT', 'NOT_FOUND', 'PRESENT'],
        event_timestamps: [FRESH, EPOCH, FRESH],
      },
      {
        values: [true, null, false],
        statuses: ['PRESENT', 'NOT_FOUND', 'PRESENT'],
        event_timestamps: [FRESH, EPOCH, FRESH],
      },
      {
        values: ['NL', null, 'DE'],
        statuses: ['PRESENT', 'NOT_FOUND', 'PRESENT'],
        event_timestamps: [FRESH, EPOCH, FRESH],
      },
      {
        values: [[0.5, -1.25, 2], null, [1, 2, 3]],
        statuses: ['PRESENT', 'NOT_FOUND', 'PRESENT'],
        event_timestamps: [FRESH, EPOCH, FRESH],
      },
      {
        values: [0.5, 0.5, 0.25],
        statuses: ['PRESENT', 'PRESENT', 'PRESENT'],
        event_timestamps: [MERCHANT, MERCHANT, MERCHANT],
      },
    ],
  };

  it('JSON in, JSON out', async () => {
    expect(await getFeatures(body)).toEqual(expected);
  });

  it('answers are framed by content-length, in JSON and in msgpack', async () => {
    for (const accept of ['application/json', 'application/msgpack']) {
      const res = await server.post('/get-online-features', body, { accept });
      expect(res.headers.get('content-length')).toBe(String(res.raw.length));
      expect(res.headers.get('transfer-encoding')).toBeNull();
    }
  });

  it('Accept: application/msgpack returns the same document as msgpack', async () => {
    const res = await server.post('/get-online-features', body, { accept: 'application/msgpack' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/msgpack/);
    expect(unpack(res.raw)).toEqual(expected);
  });

  it('a msgpack request body (content-type: application/msgpack)', async () => {
    const res = await server.post('/get-online-features', plainPackr.pack(body), {
      'content-type': 'application/msgpack',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expected);
  });

  it('msgpack both ways', async () => {
    const res = await server.post('/get-online-features', plainPackr.pack(body), {
      'content-type': 'application/msgpack',
      accept: 'application/msgpack',
    });
    expect(res.status).toBe(200);
    expect(unpack(res.raw)).toEqual(expected);
  });

  it('msgpack 64-bit integers (ids ≥ 2^32) are read as numbers, as JSON would read them', async () => {
    // msgpack encoders write integers ≥ 2^32 as 64-bit ints; they must not decode to BigInt (JSON cannot echo one).
    const id = 5_000_000_000;
    await server.store.write('user_stats', [
      { key: String(id), eventTsMs: FRESH_TS_MS, values: [1, 2, 3, false, 'BE', []] },
    ]);
    const res = await server.post(
      '/get-online-features',
      plainPackr.pack({ features: ['user_stats:txn_count'], entities: { user_id: [BigInt(id), 1001] } }),
      { 'content-type': 'application/msgpack' },
    );
    expect(res.status, res.raw.toString()).toBe(200);
    expect(res.body).toEqual({
      metadata: { feature_names: ['user_id', 'txn_count'] },
      results: [
        { values: [id, 1001], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: [1, 42], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [FRESH, FRESH] },
      ],
    });
  });

  it('Feast-style curl -d without a JSON content type (form-encoded header, JSON body)', async () => {
    const res = await server.post('/get-online-features', JSON.stringify(body), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expected);
  });

  it('text/plain with a JSON body also works', async () => {
    const res = await server.post('/get-online-features', JSON.stringify(body), {
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(expected);
  });
});

describe('POST /get-online-features — limits and headers', () => {
  it('large answers, written into recycled buffers, stay intact under concurrency', async () => {
    // Ids outside 0..9,999 (the 10,000-entity test below counts what it finds there).
    const ids = Array.from({ length: 600 }, (_, i) => 20_000 + i);
    await server.store.write(
      'user_stats',
      ids.map((id) => ({
        key: String(id),
        eventTsMs: FRESH_TS_MS,
        values: [id, id / 4, 0.5, id % 2 === 0, 'NL', [id]],
      })),
    );
    // 24 requests at once, each for its own 300 ids (~70 KB answers), twice: the second wave is
    // written into the memory of the first, given back as each answer finished.
    const wave = async (): Promise<void> => {
      await Promise.all(
        Array.from({ length: 24 }, async (_, r) => {
          const asked = ids.slice(r * 12, r * 12 + 300);
          const res = await server.post('/get-online-features', {
            features: ['user_stats:txn_count', 'user_stats:avg_amount', 'user_stats:is_vip'],
            entities: { user_id: asked },
          });
          expect(res.raw.length).toBeGreaterThan(16 * 1024);
          expect(res.headers.get('content-length')).toBe(String(res.raw.length));
          const doc = res.body as Document;
          expect(doc.results[0]!.values).toEqual(asked);
          expect(doc.results[1]!.values).toEqual(asked);
          expect(doc.results[2]!.values).toEqual(asked.map((id) => id / 4));
          expect(doc.results[3]!.values).toEqual(asked.map((id) => id % 2 === 0));
          expect(new Set(doc.results[3]!.statuses)).toEqual(new Set(['PRESENT']));
          expect(new Set(doc.results[3]!.event_timestamps)).toEqual(new Set([FRESH]));
        }),
      );
    };
    await wave();
    const reusedBefore = responseBuffers.reused;
    await wave();
    expect(responseBuffers.reused).toBeGreaterThan(reusedBefore);
  });

  it('10,000 entities in one request (the default limit) work', async () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => i);
    const doc = await getFeatures({ features: ['user_stats:txn_count'], entities: { user_id: ids } });
    expect(doc.metadata).toEqual({ feature_names: ['user_id', 'txn_count'] });
    expect(doc.results[0]!.values).toEqual(ids);
    const txn = doc.results[1]!;
    expect(txn.values).toHaveLength(10_000);
    expect(txn.statuses).toHaveLength(10_000);
    expect(txn.event_timestamps).toHaveLength(10_000);
    expect([txn.values[1001], txn.values[1002], txn.values[1003]]).toEqual([42, 7, 3]);
    expect([txn.statuses[1001], txn.statuses[1002], txn.statuses[1003]]).toEqual([
      'PRESENT',
      'PRESENT',
      'OUTSIDE_MAX_AGE',
    ]);
    const counts: Record<string, number> = {};
    for (const s of txn.statuses) counts[s] = (counts[s] ?? 0) + 1;
    expect(counts).toEqual({ PRESENT: 2, OUTSIDE_MAX_AGE: 1, NOT_FOUND: 9_997 });
  });

  it('10,001 entities get 400 QUIVER_ERR_TOO_MANY_ENTITIES', async () => {
    const ids = Array.from({ length: 10_001 }, (_, i) => i);
    const res = await server.post('/get-online-features', {
      features: ['user_stats:txn_count'],
      entities: { user_id: ids },
    });
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'Too many entities: 10001 in one request, the limit is 10000',
      code: 'QUIVER_ERR_TOO_MANY_ENTITIES',
    });
  });

  it('pipelined requests on one connection, fast path and Fastify mixed, are answered in order', async () => {
    // Fast-path answers are made while node:http's parser still holds the rest of the bytes
    // (request-body.ts) and written at the end of the turn (write-coalescer.ts): neither may
    // reorder or lose the answers of requests that came in one packet.
    const { hostname, port } = new URL(server.url);
    const socket = await openSocket(Number(port), hostname);
    const lookup = (id: number): string => {
      const body = JSON.stringify({ features: ['user_stats:txn_count'], entities: { user_id: [id] } });
      return (
        `POST /get-online-features HTTP/1.1\r\nhost: ${hostname}\r\ncontent-type: application/json\r\n` +
        `content-length: ${body.length}\r\n\r\n${body}`
      );
    };
    socket.write(
      lookup(1001) + lookup(1002) + `GET /healthz HTTP/1.1\r\nhost: ${hostname}\r\n\r\n` + lookup(1003),
    );
    const bodies = await readAnswers(socket, 4);
    socket.destroy();
    const txn = (body: string): unknown => (JSON.parse(body) as Document).results[1]!.values[0];
    expect([txn(bodies[0]!), txn(bodies[1]!), JSON.parse(bodies[2]!), txn(bodies[3]!)]).toEqual([
      42,
      7,
      { status: 'ok' },
      3,
    ]);
  });

  it('echoes x-request-id on success and on error', async () => {
    const ok = await server.post(
      '/get-online-features',
      { features: ['user_stats:txn_count'], entities: { user_id: [1001] } },
      { 'x-request-id': 'req-ok-123' },
    );
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-request-id')).toBe('req-ok-123');

    const bad = await server.post(
      '/get-online-features',
      { features: ['nope:x'], entities: { user_id: [1001] } },
      { 'x-request-id': 'req-bad-456' },
    );
    expect(bad.status).toBe(404);
    expect(bad.headers.get('x-request-id')).toBe('req-bad-456');
  });
});
