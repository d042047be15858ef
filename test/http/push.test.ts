/**
 * POST /push in Feast's shape `{push_source_name, df: {column: [values]}, to}`: what is pushed is what
 * /get-online-features serves, older events never overwrite newer ones, and the request Feast's own
 * clients send (with its `created` column and naive timestamps) is accepted.
 */
import { Packr, unpack } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EPOCH,
  rfc3339,
  startTestServer,
  type TestResponse,
  type TestServer,
  userStatsDf,
} from '../fixtures/config.ts';

interface Column {
  values: unknown[];
  statuses: string[];
  event_timestamps: string[];
}
interface Document {
  metadata: { feature_names: string[] };
  results: Column[];
}

let server: TestServer;

beforeAll(async () => {
  // Empty store: everything read here was written by a push.
  server = await startTestServer({ seed: false });
});

afterAll(async () => {
  await server.close();
});

const push = (body: unknown, headers?: Record<string, string>): Promise<TestResponse> =>
  server.post('/push', body, headers);

async function read(features: string[], entities: Record<string, unknown[]>): Promise<Document> {
  const res = await server.post('/get-online-features', { features, entities });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body as Document;
}

/** Whole seconds, recent enough to be inside user_stats' one-hour TTL. */
const recent = (secondsAgo: number): number => Math.floor(Date.now() / 1000) * 1000 - secondsAgo * 1000;

describe('POST /push', () => {
  it('pushed values of every type are served by /get-online-features', async () => {
    const ts = recent(120);
    const res = await push({
      push_source_name: 'user_stats_push',
      df: {
        user_id: [2001, '2002'],
        event_timestamp: [new Date(ts).toISOString(), new Date(ts).toISOString()],
        txn_count: [11, '12'],
        avg_amount: [0.1, 20.5],
        risk_score: [0.1, null],
        is_vip: [true, 'false'],
        country: ['NL', 'DE'],
        embedding: [[0.25, 0.5], '[1, 2]'],
      },
      to: 'online',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ rows: 2, written: 2, skippedStale: 0 });

    const T = rfc3339(ts);
    expect(await read(['user_stats:*'], { user_id: [2001, 2002] })).toEqual({
      metadata: {
        feature_names: ['user_id', 'txn_count', 'avg_amount', 'risk_score', 'is_vip', 'country', 'embedding'],
      },
      results: [
        { values: [2001, 2002], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: [11, 12], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [T, T] },
        // float32 features are stored as float32: 0.1 comes back as the nearest float32.
        { values: [0.1, 20.5], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [T, T] },
        { values: [0.1, null], statuses: ['PRESENT', 'NULL_VALUE'], event_timestamps: [T, T] },
        { values: [true, false], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [T, T] },
        { values: ['NL', 'DE'], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [T, T] },
        {
          values: [
            [0.25, 0.5],
            [1, 2],
          ],
          statuses: ['PRESENT', 'PRESENT'],
          event_timestamps: [T, T],
        },
      ],
    });
  });

  it('an older event does not overwrite a newer one; a newer one does', async () => {
    const newer = recent(60);
    const older = recent(600);
    const newest = recent(30);
    const at = (ms: number): string => new Date(ms).toISOString();

    expect(
      (
        await push({
          push_source_name: 'user_stats_push',
          df: userStatsDf({ user_id: [2101], txn_count: [5], event_timestamp: [at(newer)] }),
        })
      ).body,
    ).toEqual({
      rows: 1,
      written: 1,
      skippedStale: 0,
    });
    expect(
      (
        await push({
          push_source_name: 'user_stats_push',
          df: userStatsDf({ user_id: [2101], txn_count: [1], event_timestamp: [at(older)] }),
        })
      ).body,
    ).toEqual({
      rows: 1,
      written: 0,
      skippedStale: 1,
    });
    expect(await read(['user_stats:txn_count'], { user_id: [2101] })).toEqual({
      metadata: { feature_names: ['user_id', 'txn_count'] },
      results: [
        { values: [2101], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: [5], statuses: ['PRESENT'], event_timestamps: [rfc3339(newer)] },
      ],
    });

    expect(
      (
        await push({
          push_source_name: 'user_stats_push',
          df: userStatsDf({ user_id: [2101], txn_count: [9], event_timestamp: [at(newest)] }),
        })
      ).body,
    ).toEqual({
      rows: 1,
      written: 1,
      skippedStale: 0,
    });
    expect((await read(['user_stats:txn_count'], { user_id: [2101] })).results[1]).toEqual({
      values: [9],
      statuses: ['PRESENT'],
      event_timestamps: [rfc3339(newest)],
    });
  });

  it('within one push, the row with the newest event wins whatever its position', async () => {
    const res = await push({
      push_source_name: 'user_stats_push',
      df: userStatsDf({
        user_id: [2201, 2201],
        txn_count: [8, 4],
        event_timestamp: [recent(10), recent(500)],
      }),
    });
    expect(res.status).toBe(200);
    expect((await read(['user_stats:txn_count'], { user_id: [2201] })).results[1]!.values).toEqual([8]);
  });

  it('a row older than the TTL is stored and served as OUTSIDE_MAX_AGE', async () => {
    await push({
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [2301], txn_count: [3], event_timestamp: ['2024-01-01T00:00:00Z'] }),
    });
    expect((await read(['user_stats:txn_count'], { user_id: [2301] })).results[1]).toEqual({
      values: [3],
      statuses: ['OUTSIDE_MAX_AGE'],
      event_timestamps: ['2024-01-01T00:00:00Z'],
    });
  });

  it('without an event_timestamp column the rows get the time of the push', async () => {
    const before = Date.now();
    const res = await push({
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [2401], txn_count: [1] }),
    });
    const after = Date.now();
    expect(res.status).toBe(200);
    const column = (await read(['user_stats:txn_count', 'user_stats:country'], { user_id: [2401] })).results;
    expect(column[1]!.statuses).toEqual(['PRESENT']);
    const ts = Date.parse(column[1]!.event_timestamps[0]!);
    expect(ts).toBeGreaterThanOrEqual(before);
    expect(ts).toBeLessThanOrEqual(after);
    // Features sent as null are stored as null.
    expect(column[2]).toMatchObject({ values: [null], statuses: ['NULL_VALUE'] });
  });

  it('epoch seconds and milliseconds are both understood as event times', async () => {
    const ts = recent(90);
    await push({
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [2501, 2502], txn_count: [1, 2], event_timestamp: [ts / 1000, ts] }),
    });
    expect(
      (await read(['user_stats:txn_count'], { user_id: [2501, 2502] })).results[1]!.event_timestamps,
    ).toEqual([rfc3339(ts), rfc3339(ts)]);
  });

  it('the view name works as push target too, by push_source_name or feature_view', async () => {
    expect(
      (await push({ push_source_name: 'user_stats', df: userStatsDf({ user_id: [2601], txn_count: [6] }) }))
        .status,
    ).toBe(200);
    expect(
      (await push({ feature_view: 'user_stats', df: userStatsDf({ user_id: [2602], txn_count: [7] }) }))
        .status,
    ).toBe(200);
    expect((await read(['user_stats:txn_count'], { user_id: [2601, 2602] })).results[1]!.values).toEqual([
      6, 7,
    ]);
  });

  it('a composite-key view, columns in any order', async () => {
    const ts = recent(5);
    const res = await push({
      push_source_name: 'merchant_stats',
      df: {
        chargeback_rate: [0.5],
        country_code: ['BE'],
        txn_count_1d: [77],
        event_timestamp: [ts],
        merchant_id: ['m9'],
      },
      to: 'online',
    });
    expect(res.status).toBe(200);
    expect(
      await read(['merchant_stats:*'], { merchant_id: ['m9', 'm9'], country_code: ['BE', 'NL'] }),
    ).toEqual({
      metadata: { feature_names: ['merchant_id', 'country_code', 'txn_count_1d', 'chargeback_rate'] },
      results: [
        { values: ['m9', 'm9'], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: ['BE', 'NL'], statuses: ['PRESENT', 'PRESENT'], event_timestamps: [EPOCH, EPOCH] },
        { values: [77, null], statuses: ['PRESENT', 'NOT_FOUND'], event_timestamps: [rfc3339(ts), EPOCH] },
        { values: [0.5, null], statuses: ['PRESENT', 'NOT_FOUND'], event_timestamps: [rfc3339(ts), EPOCH] },
      ],
    });
  });

  it('a msgpack body with 64-bit integers (epoch ms, ids ≥ 2^32)', async () => {
    const ts = recent(15);
    const body = new Packr({ useRecords: false }).pack({
      push_source_name: 'user_stats_push',
      // BigInts are packed as msgpack 64-bit integers, as other languages' clients pack ints ≥ 2^32.
      df: userStatsDf({
        user_id: [5_000_000_001n],
        txn_count: [5_000_000_000n],
        event_timestamp: [BigInt(ts)],
      }),
    });
    const res = await push(body, { 'content-type': 'application/msgpack' });
    expect(res.status, res.raw.toString()).toBe(200);
    expect((await read(['user_stats:txn_count'], { user_id: [5_000_000_001] })).results).toEqual([
      { values: [5_000_000_001], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
      { values: [5_000_000_000], statuses: ['PRESENT'], event_timestamps: [rfc3339(ts)] },
    ]);
  });

  it('Accept: application/msgpack gets the answer in msgpack; an error stays JSON', async () => {
    const body = {
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [2702], txn_count: [22] }),
    };
    const ok = await push(body, { accept: 'application/msgpack' });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('application/msgpack');
    expect(unpack(ok.raw)).toEqual({ rows: 1, written: 1, skippedStale: 0 });
    const bad = await push({ ...body, df: { user_id: [2702] } }, { accept: 'application/msgpack' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(bad.body).toMatchObject({ code: 'QUIVER_ERR_MISSING_COLUMNS' });
  });

  it('a msgpack body', async () => {
    const body = new Packr({ useRecords: false }).pack({
      push_source_name: 'user_stats_push',
      df: userStatsDf({ user_id: [2701], txn_count: [21] }),
      to: 'online',
    });
    const res = await push(body, { 'content-type': 'application/msgpack' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ rows: 1, written: 1, skippedStale: 0 });
    expect((await read(['user_stats:txn_count'], { user_id: [2701] })).results[1]!.values).toEqual([21]);
  });
});

describe('POST /push — what Feast clients send', () => {
  it('Feast\'s extra "created" column is accepted (and not stored as a feature)', async () => {
    const ts = recent(45);
    const res = await push({
      push_source_name: 'user_stats_push',
      df: userStatsDf({
        user_id: [2801],
        event_timestamp: [new Date(ts).toISOString()],
        created: [new Date(ts).toISOString()],
        txn_count: [1000],
      }),
      to: 'online_and_offline',
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ rows: 1, written: 1, skippedStale: 0 });
    expect(await read(['user_stats:txn_count'], { user_id: [2801] })).toEqual({
      metadata: { feature_names: ['user_id', 'txn_count'] },
      results: [
        { values: [2801], statuses: ['PRESENT'], event_timestamps: [EPOCH] },
        { values: [1000], statuses: ['PRESENT'], event_timestamps: [rfc3339(ts)] },
      ],
    });
  });

  it('Feast\'s documented curl (form-encoded header, naive "YYYY-MM-DD hh:mm:ss" times read as UTC)', async () => {
    // As in Feast's docs: curl -X POST .../push -d '{...}', so the content type is form-encoded.
    const text =
      '{"push_source_name": "user_stats_push", "df": {"user_id": [2901], "event_timestamp": ["2022-05-13 10:59:42"], ' +
      '"created": ["2022-05-13 10:59:42"], "txn_count": [1000], "avg_amount": [0.5], "risk_score": [0.1], ' +
      '"is_vip": [false], "country": ["NL"], "embedding": [[1, 2]]}, "to": "online_and_offline"}';
    const res = await push(text, { 'content-type': 'application/x-www-form-urlencoded' });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const column = (await read(['user_stats:txn_count'], { user_id: [2901] })).results[1];
    expect(column).toEqual({
      values: [1000],
      statuses: ['OUTSIDE_MAX_AGE'],
      event_timestamps: ['2022-05-13T10:59:42Z'],
    });
  });

  it("naive timestamps do not depend on the server's time zone", async () => {
    const tz = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      const res = await push({
        push_source_name: 'user_stats_push',
        df: userStatsDf({ user_id: [2902], event_timestamp: ['2022-05-13 10:59:42'], txn_count: [1] }),
      });
      expect(res.status).toBe(200);
    } finally {
      if (tz === undefined) delete process.env.TZ;
      else process.env.TZ = tz;
    }
    const column = (await read(['user_stats:txn_count'], { user_id: [2902] })).results[1];
    expect(column!.event_timestamps).toEqual(['2022-05-13T10:59:42Z']);
  });
});
