import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES, POSTGRES_URL, serviceAvailable, uniquePrefix } from '../../../test/support/services.ts';
import { isQuiverError } from '../../errors.ts';
import { buildSourceQuery, openPostgresSource } from './postgres-source.ts';
import type { OpenedSource, SourceRecord } from './source.ts';

const up = await serviceAvailable(POSTGRES);
const table = uniquePrefix('pgsrc')
  .replace(/[^a-z0-9]/gi, '_')
  .toLowerCase();
const T0 = Date.parse('2024-05-01T00:00:00Z');
const ROWS = 2500;

async function readAll(source: OpenedSource): Promise<{ records: SourceRecord[]; sizes: number[] }> {
  const records: SourceRecord[] = [];
  const sizes: number[] = [];
  for await (const chunk of source.chunks()) {
    sizes.push(chunk.records.length);
    records.push(...chunk.records);
  }
  return { records, sizes };
}

describe('buildSourceQuery', () => {
  it('wraps the query with a quoted timestamp filter only when since is set', () => {
    const config = { query: 'SELECT * FROM t;  ', timestampField: 'ev"ts' };
    expect(buildSourceQuery(config)).toEqual({ text: 'SELECT * FROM t', values: [] });
    expect(buildSourceQuery(config, 0)).toEqual({
      text: 'SELECT * FROM (SELECT * FROM t) AS q WHERE q."ev""ts" >= $1',
      values: [new Date(0)],
    });
  });
});

describe.skipIf(!up)('openPostgresSource (PostgreSQL)', () => {
  const client = new pg.Client({ connectionString: POSTGRES_URL });

  beforeAll(async () => {
    await client.connect();
    await client.query(
      `CREATE TABLE ${table} (user_id bigint, event_ts timestamptz, clicks integer, score double precision, emb real[])`,
    );
    await client.query(
      `INSERT INTO ${table}
       SELECT i, to_timestamp(($1::bigint + i * 1000) / 1000.0), i % 50, i / 4.0, ARRAY[i, 0.5]::real[]
       FROM generate_series(0, $2::int - 1) AS i`,
      [T0, ROWS],
    );
  });

  afterAll(async () => {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
    await client.end();
  });

  const config = { url: POSTGRES_URL, query: '', timestampField: 'event_ts' };

  it('streams the query in chunks of 1000 with row numbers and typed values', async () => {
    const source = await openPostgresSource('v', {
      ...config,
      query: `SELECT * FROM ${table} ORDER BY user_id;`,
    });
    expect(source.columns).toEqual(['user_id', 'event_ts', 'clicks', 'score', 'emb']);
    const { records, sizes } = await readAll(source);
    expect(sizes).toEqual([1000, 1000, 500]);
    expect(records.every((r, i) => r.line === i + 1)).toBe(true);
    expect(records[3]!.record).toEqual({
      user_id: '3', // int8 arrives as text; the codec parses it
      event_ts: new Date(T0 + 3000),
      clicks: 3,
      score: 0.75,
      emb: [3, 0.5],
    });
  });

  it('pushes since down into SQL', async () => {
    const source = await openPostgresSource(
      'v',
      { ...config, query: `SELECT * FROM ${table}` },
      { sinceMs: T0 + 2000_000 },
    );
    const { records } = await readAll(source);
    expect(records).toHaveLength(ROWS - 2000);
    expect(Math.min(...records.map((r) => Number(r.record.user_id)))).toBe(2000);
  });

  it('knows the columns of an empty result', async () => {
    const source = await openPostgresSource('v', {
      ...config,
      query: `SELECT user_id, event_ts FROM ${table} WHERE false`,
    });
    expect(source.columns).toEqual(['user_id', 'event_ts']);
    expect((await readAll(source)).records).toEqual([]);
  });

  it('releases the connection when the reader stops early or close() is called unread', async () => {
    const count = async (): Promise<number> =>
      Number(
        (
          await client.query(
            `SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE '%FROM ${table}%' AND pid <> pg_backend_pid()`,
          )
        ).rows[0].n,
      );
    const early = await openPostgresSource('v', { ...config, query: `SELECT * FROM ${table}` });
    for await (const chunk of early.chunks()) {
      expect(chunk.records).toHaveLength(1000);
      break;
    }
    const unread = await openPostgresSource('v', { ...config, query: `SELECT * FROM ${table}` });
    await unread.close();
    await unread.close();
    // The server ends a backend asynchronously after the client disconnects: wait for it, bounded.
    const deadline = performance.now() + 5000;
    while ((await count()) > 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(await count()).toBe(0);
  });

  it('fails with QUIVER_ERR_SOURCE for a bad query and an unreachable server', async () => {
    const bad = await openPostgresSource('user_stats', {
      ...config,
      query: 'SELECT * FROM no_such_table_q',
    }).catch((e: unknown) => e);
    expect(isQuiverError(bad) && bad.code).toBe('QUIVER_ERR_SOURCE');
    expect((bad as Error).message).toContain('no_such_table_q');
    const down = await openPostgresSource('user_stats', {
      ...config,
      url: 'postgres://postgres@127.0.0.1:1/postgres',
      query: 'SELECT 1',
    }).catch((e: unknown) => e);
    expect(isQuiverError(down) && down.code).toBe('QUIVER_ERR_SOURCE');
  });
});
