import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { parquetWriteFile } from 'hyparquet-writer';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { POSTGRES, POSTGRES_URL, serviceAvailable, uniquePrefix } from '../../test/support/services.ts';
import { Registry } from '../config/registry.ts';
import type { FeatureViewConfig } from '../config/types.ts';
import { validateConfig } from '../config/validate.ts';
import { isQuiverError } from '../errors.ts';
import { MemoryStore } from '../stores/memory/memory-store.ts';
import { materialize, type ProgressEvent, readWatermark } from './materialize.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-materialize-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const usersCsv = path.join(dir, 'users.csv');
const merchantsParquet = path.join(dir, 'merchants.parquet');
const T = (s: string): number => Date.parse(`2024-05-01T${s}Z`);

function makeRegistry(extraViews: FeatureViewConfig[] = []): Registry {
  return new Registry(
    validateConfig(
      {
        project: 'mat',
        entities: [
          { name: 'user', joinKeys: ['user_id'] },
          { name: 'merchant', joinKeys: ['merchant_id', 'country'] },
        ],
        featureViews: [
          {
            name: 'user_stats',
            entities: ['user'],
            schema: { clicks_7d: 'int64', avg_amount_30d: 'float32', vip: 'bool', segment: 'string' },
            source: { type: 'csv', path: usersCsv, timestampField: 'event_ts' },
          },
          {
            name: 'merchant_stats',
            entities: ['merchant'],
            schema: { txn_count: 'int64', emb: 'float32[]' },
            source: { type: 'parquet', path: merchantsParquet, timestampField: 'event_ts' },
          },
          { name: 'pushed_only', entities: ['user'], schema: { x: 'int64' } },
          ...extraViews,
        ],
      },
      '',
    ),
  );
}

const USERS = [
  'user_id,event_ts,clicks_7d,avg_amount_30d,vip,segment',
  '1001,2024-05-01T10:00:00Z,3,12.5,true,"gold,\nmulti-line"', // lines 2-3
  '1002,2024-05-01T10:00:00Z,7,abc,false,silver', // line 4: bad float
  '1003,2024-05-01T11:00:00Z,,,,', // line 5: all features null
  ',2024-05-01T10:00:00Z,1,1,true,x', // line 6: missing key
  '1004,2024-05-01T10:00:00Z,1,1', // line 7: wrong field count
  '1005,not-a-time,1,1,true,x', // line 8: bad timestamp
  '1001,2024-05-01T09:00:00Z,99,99,false,older', // line 9: stale (older than line 2)
].join('\n');

beforeEach(() => {
  fs.writeFileSync(usersCsv, USERS + '\n');
  parquetWriteFile({
    filename: merchantsParquet,
    columnData: [
      { name: 'merchant_id', data: [77n, 77n, 78n], type: 'INT64' },
      { name: 'country', data: ['DE', 'FR', 'DE'], type: 'STRING' },
      {
        name: 'event_ts',
        data: [new Date(T('10:00:00')), new Date(T('10:00:00')), new Date(T('12:00:00'))],
        type: 'TIMESTAMP',
      },
      { name: 'txn_count', data: [5n, 6n, 7n], type: 'INT64' },
      { name: 'emb', data: [[1, 2], [3], [0.25]] },
    ],
  });
});

describe('materialize', () => {
  it('loads every view with a source and reports counts and bad rows by line', async () => {
    const store = new MemoryStore();
    const events: ProgressEvent[] = [];
    const [users, merchants, ...rest] = await materialize({
      registry: makeRegistry(),
      store,
      onProgress: (e) => events.push(e),
    });
    expect(rest).toEqual([]);
    expect(users).toMatchObject({
      view: 'user_stats',
      rowsRead: 7,
      written: 2,
      skippedStale: 1,
      skippedOld: 0,
      bad: 4,
    });
    expect(users!.badRows).toEqual([
      { line: 4, reason: 'column "avg_amount_30d": expected float32 (finite number), got string "abc"' },
      {
        line: 6,
        reason:
          'column "user_id": expected join key (a non-empty string (at most 1024 UTF-8 bytes) or a safe integer), got string ""',
      },
      { line: 7, reason: 'expected 6 fields as in the header, got 4' },
      {
        line: 8,
        reason:
          'column "event_ts": expected timestamp (ISO-8601, epoch number or Date), got string "not-a-time"',
      },
    ]);
    expect(users!.maxEventTsMs).toBe(T('11:00:00'));
    expect(store.read('user_stats', ['1001', '1002', '1003'])).toEqual([
      [T('10:00:00'), 3, 12.5, true, 'gold,\nmulti-line'],
      undefined,
      [T('11:00:00'), null, null, null, null],
    ]);

    expect(merchants).toMatchObject({ view: 'merchant_stats', rowsRead: 3, written: 3, bad: 0 });
    expect(store.read('merchant_stats', ['77\u001fFR'])).toEqual([[T('10:00:00'), 6, [3]]]);

    expect(events.map((e) => `${e.type}:${e.view}`)).toEqual([
      'start:user_stats',
      'progress:user_stats',
      'done:user_stats',
      'start:merchant_stats',
      'progress:merchant_stats',
      'done:merchant_stats',
    ]);
    // Bad rows: no watermark for user_stats yet (see the "auto" tests); merchant_stats was clean.
    expect(await readWatermark(store, 'user_stats')).toBeUndefined();
    expect(await readWatermark(store, 'merchant_stats')).toMatchObject({ maxEventTsMs: T('12:00:00') });
  });

  it('is idempotent: a re-run writes the same rows and leaves the same state', async () => {
    const store = new MemoryStore();
    const registry = makeRegistry();
    const keys = ['1001', '1002', '1003', '1004', '1005'];
    const first = await materialize({ registry, store, views: ['user_stats'] });
    const before = store.read('user_stats', keys);
    const second = await materialize({ registry, store, views: ['user_stats'] });
    expect(second[0]!.written).toBe(first[0]!.written);
    expect(second[0]!.skippedStale).toBe(first[0]!.skippedStale);
    expect(store.read('user_stats', keys)).toEqual(before);
  });

  it('skips rows older than since, and since: "auto" loads only what is new', async () => {
    const store = new MemoryStore();
    const registry = makeRegistry();
    const [explicit] = await materialize({ registry, store, views: ['user_stats'], since: T('10:30:00') });
    expect(explicit).toMatchObject({ written: 1, skippedOld: 2, bad: 4 });

    // Only good rows from here on: a run with bad rows does not move the watermark (next test).
    const good = [
      USERS.split('\n')[0],
      '1001,2024-05-01T10:00:00Z,3,12.5,true,gold',
      '1003,2024-05-01T11:00:00Z,,,,',
    ];
    fs.writeFileSync(usersCsv, good.join('\n') + '\n');
    await materialize({ registry, store, views: ['user_stats'] });
    expect(await readWatermark(store, 'user_stats')).toMatchObject({ maxEventTsMs: T('11:00:00') });
    fs.appendFileSync(usersCsv, '1002,2024-05-01T13:00:00Z,8,2.5,false,silver\n');
    const [auto] = await materialize({ registry, store, views: ['user_stats'], since: 'auto' });
    // Rows at exactly the watermark are read again (an idempotent overwrite), older ones are skipped.
    expect(auto).toMatchObject({ rowsRead: 3, written: 2, skippedOld: 1, bad: 0 });
    expect(store.read('user_stats', ['1002'])).toEqual([[T('13:00:00'), 8, 2.5, false, 'silver']]);
    expect(await readWatermark(store, 'user_stats')).toMatchObject({ maxEventTsMs: T('13:00:00') });
  });

  it('a run with bad rows leaves the "auto" watermark where it was, so the fixed rows load next time', async () => {
    const store = new MemoryStore();
    const registry = makeRegistry();
    const header = USERS.split('\n')[0];
    fs.writeFileSync(usersCsv, `${header}\n1001,2024-05-01T10:00:00Z,3,1,true,a\n`);
    await materialize({ registry, store, views: ['user_stats'], since: 'auto' });
    // Line 2 is bad (clicks_7d "oops"), line 3 newer and good.
    fs.writeFileSync(
      usersCsv,
      `${header}\n1002,2024-05-01T11:00:00Z,oops,1,true,b\n1003,2024-05-01T12:00:00Z,5,1,true,c\n`,
    );
    const [failed] = await materialize({ registry, store, views: ['user_stats'], since: 'auto' });
    expect(failed).toMatchObject({ written: 1, bad: 1 });
    expect(failed!.warnings.join()).toContain('watermark was not moved');
    expect(await readWatermark(store, 'user_stats')).toMatchObject({ maxEventTsMs: T('10:00:00') });

    fs.writeFileSync(
      usersCsv,
      `${header}\n1002,2024-05-01T11:00:00Z,4,1,true,b\n1003,2024-05-01T12:00:00Z,5,1,true,c\n`,
    );
    const [fixed] = await materialize({ registry, store, views: ['user_stats'], since: 'auto' });
    expect(fixed).toMatchObject({ written: 2, bad: 0, skippedOld: 0 });
    expect(store.read('user_stats', ['1002'])).toEqual([[T('11:00:00'), 4, 1, true, 'b']]);
    expect(await readWatermark(store, 'user_stats')).toMatchObject({ maxEventTsMs: T('12:00:00') });
  });

  it('warns once about feature columns missing from the header and stores nulls', async () => {
    fs.writeFileSync(usersCsv, 'user_id,event_ts,clicks_7d\n1001,2024-05-01T10:00:00Z,4\n');
    const store = new MemoryStore();
    const [summary] = await materialize({ registry: makeRegistry(), store, views: ['user_stats'] });
    expect(summary!.warnings).toEqual([
      'columns "avg_amount_30d", "vip", "segment" not in the source: stored as null (served as NULL_VALUE)',
    ]);
    expect(store.read('user_stats', ['1001'])).toEqual([[T('10:00:00'), 4, null, null, null]]);
  });

  it('refuses a source without a join key or timestamp column', async () => {
    fs.writeFileSync(usersCsv, 'id,event_ts,clicks_7d\n1001,2024-05-01T10:00:00Z,4\n');
    const err = await materialize({
      registry: makeRegistry(),
      store: new MemoryStore(),
      views: ['user_stats'],
    }).catch((e: unknown) => e);
    expect(isQuiverError(err) && err.code).toBe('QUIVER_ERR_SOURCE');
    expect((err as Error).message).toContain('required column "user_id" missing');
  });

  it('refuses unknown views and views without a source', async () => {
    const registry = makeRegistry();
    const unknown = await materialize({ registry, store: new MemoryStore(), views: ['user_stat'] }).catch(
      (e: unknown) => e,
    );
    expect(isQuiverError(unknown) && unknown.code).toBe('QUIVER_ERR_UNKNOWN_FEATURE_VIEW');
    const sourceless = await materialize({
      registry,
      store: new MemoryStore(),
      views: ['pushed_only'],
    }).catch((e: unknown) => e);
    expect(isQuiverError(sourceless) && sourceless.code).toBe('QUIVER_ERR_SOURCE');
    expect((sourceless as Error).message).toContain('no source configured');
  });

  it('stops when the signal aborts', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await expect(
      materialize({ registry: makeRegistry(), store: new MemoryStore(), signal: controller.signal }),
    ).rejects.toThrow('stop');
  });
});

describe('materialize memory bound', () => {
  it('streams 300,000 CSV rows without holding them in memory', async () => {
    const ROWS = 300_000;
    const file = path.join(dir, 'big.csv');
    const out = fs.createWriteStream(file);
    out.write('user_id,event_ts,clicks_7d,avg_amount_30d,vip,segment\n');
    // 1,000 distinct users: the store stays small, so heap growth measures the pipeline alone.
    for (let start = 0; start < ROWS; start += 1000) {
      let block = '';
      for (let i = start; i < start + 1000; i++) {
        block += `${1000 + (i % 1000)},${1714521600 + i},${i % 97},${(i % 1000) / 8},${i % 2 === 0},segment-${i % 5}\n`;
      }
      if (!out.write(block)) await new Promise<void>((r) => out.once('drain', () => r()));
    }
    await new Promise<void>((r) => out.end(() => r()));

    const registry = new Registry(
      validateConfig(
        {
          project: 'big',
          entities: [{ name: 'user', joinKeys: ['user_id'] }],
          featureViews: [
            {
              name: 'user_stats',
              entities: ['user'],
              schema: { clicks_7d: 'int64', avg_amount_30d: 'float32', vip: 'bool', segment: 'string' },
              source: { type: 'csv', path: file, timestampField: 'event_ts' },
            },
          ],
        },
        '',
      ),
    );
    // A full GC before each sample makes the numbers retained memory, not garbage V8 has yet to
    // collect; should the flag not take, samples include garbage and only the looser bound holds.
    v8.setFlagsFromString('--expose-gc');
    const gc = runInNewContext('typeof gc === "function" ? gc : undefined') as (() => void) | undefined;
    gc?.();
    const baseline = process.memoryUsage().heapUsed;
    let peak = baseline;
    let chunks = 0;
    const [summary] = await materialize({
      registry,
      store: new MemoryStore(),
      onProgress: (event) => {
        if (event.type !== 'progress' || chunks++ % 25 !== 0) return;
        gc?.();
        peak = Math.max(peak, process.memoryUsage().heapUsed);
      },
    });
    expect(summary).toMatchObject({ rowsRead: ROWS, written: ROWS, bad: 0 });
    // Holding just the 300,000 WriteRows measures ~60 MB retained; the whole pipeline retains ~2 MB.
    expect(peak - baseline).toBeLessThan((gc ? 30 : 60) * 1024 * 1024);
  }, 15_000);
});

const pgUp = await serviceAvailable(POSTGRES);

describe.skipIf(!pgUp)('materialize from PostgreSQL', () => {
  const table = uniquePrefix('pgmat')
    .replace(/[^a-z0-9]/gi, '_')
    .toLowerCase();
  const client = new pg.Client({ connectionString: POSTGRES_URL });

  beforeAll(async () => {
    await client.connect();
    await client.query(
      `CREATE TABLE ${table} (user_id bigint, event_ts timestamptz, clicks_7d bigint, emb real[])`,
    );
    await client.query(
      `INSERT INTO ${table} VALUES (1, '2024-05-01T10:00:00Z', 3, '{1,2}'), (2, '2024-05-01T11:00:00Z', 4, NULL)`,
    );
  });
  afterAll(async () => {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  });

  it('loads typed rows and pushes since: "auto" down into SQL', async () => {
    const registry = makeRegistry([
      {
        name: 'pg_stats',
        entities: ['user'],
        schema: { clicks_7d: 'int64', emb: 'float32[]' },
        source: {
          type: 'postgres',
          url: POSTGRES_URL,
          query: `SELECT * FROM ${table}`,
          timestampField: 'event_ts',
        },
      },
    ]);
    const store = new MemoryStore();
    const [first] = await materialize({ registry, store, views: ['pg_stats'], since: 'auto' });
    expect(first).toMatchObject({ rowsRead: 2, written: 2, bad: 0 });
    expect(store.read('pg_stats', ['1', '2'])).toEqual([
      [T('10:00:00'), 3, [1, 2]],
      [T('11:00:00'), 4, null],
    ]);
    const [second] = await materialize({ registry, store, views: ['pg_stats'], since: 'auto' });
    expect(second).toMatchObject({ rowsRead: 1, written: 1, skippedOld: 0 });
  });
});
