import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { parquetWriteFile } from 'hyparquet-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { isQuiverError } from '../../errors.ts';
import { openParquetSource } from './parquet-source.ts';
import type { SourceRecord } from './source.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-parquet-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const T0 = Date.parse('2024-05-01T00:00:00Z');

function writeUsers(file: string, rows: number, rowGroupSize: number): void {
  const ids: bigint[] = [];
  const ts: Date[] = [];
  const clicks: number[] = [];
  const emb: number[][] = [];
  for (let i = 0; i < rows; i++) {
    ids.push(BigInt(1000 + i));
    ts.push(new Date(T0 + i * 1000));
    clicks.push(i % 50);
    emb.push([i, i / 2]);
  }
  parquetWriteFile({
    filename: file,
    rowGroupSize,
    columnData: [
      { name: 'user_id', data: ids, type: 'INT64' },
      { name: 'event_ts', data: ts, type: 'TIMESTAMP' },
      { name: 'clicks', data: clicks, type: 'INT32' },
      { name: 'emb', data: emb },
      { name: 'unused', data: ids.map(String), type: 'STRING' },
    ],
  });
}

async function readAll(
  file: string,
  columns?: string[],
): Promise<{ records: SourceRecord[]; sizes: number[] }> {
  const source = await openParquetSource('v', file, { columns });
  const records: SourceRecord[] = [];
  const sizes: number[] = [];
  for await (const chunk of source.chunks()) {
    sizes.push(chunk.records.length);
    records.push(...chunk.records);
  }
  expect(source.progress()).toBe(1);
  return { records, sizes };
}

describe('openParquetSource', () => {
  it('reads schema columns and the row count from the footer', async () => {
    const file = path.join(dir, 'small.parquet');
    writeUsers(file, 5, 2);
    const source = await openParquetSource('v', file);
    expect(source.columns).toEqual(['user_id', 'event_ts', 'clicks', 'emb', 'unused']);
    expect(source.totalRows).toBe(5);
    await source.close();
  });

  it('returns typed values with line = row index + 1, only the wanted columns', async () => {
    const file = path.join(dir, 'typed.parquet');
    writeUsers(file, 5, 2);
    const { records } = await readAll(file, ['user_id', 'event_ts', 'clicks', 'emb', 'not_in_file']);
    expect(records.map((r) => r.line)).toEqual([1, 2, 3, 4, 5]);
    expect(records[3]).toEqual({
      line: 4,
      record: { user_id: 1003n, event_ts: new Date(T0 + 3000), clicks: 3, emb: [3, 1.5] },
    });
  });

  it('reads row group by row group in chunks of at most 1000 rows', async () => {
    const file = path.join(dir, 'groups.parquet');
    writeUsers(file, 6000, 2500);
    const { records, sizes } = await readAll(file, ['user_id']);
    expect(sizes).toEqual([1000, 1000, 500, 1000, 1000, 500, 1000]);
    expect(records.every((r, i) => r.line === i + 1 && r.record.user_id === BigInt(1000 + i))).toBe(true);
  });

  it('splits a row group bigger than the read window', async () => {
    const file = path.join(dir, 'big-group.parquet');
    writeUsers(file, 25_000, 25_000);
    const { records } = await readAll(file, ['user_id']);
    expect(records).toHaveLength(25_000);
    expect(records.every((r, i) => r.line === i + 1 && r.record.user_id === BigInt(1000 + i))).toBe(true);
  });

  it('reads GZIP-compressed files, not only SNAPPY (hyparquet-compressors)', async () => {
    const file = path.join(dir, 'gzip.parquet');
    parquetWriteFile({
      filename: file,
      codec: 'GZIP',
      compressors: { GZIP: (input: Uint8Array) => new Uint8Array(zlib.gzipSync(input)) },
      columnData: [
        { name: 'user_id', data: [1n, 2n, 3n], type: 'INT64' },
        { name: 'clicks', data: [7, 8, 9], type: 'INT32' },
      ],
    });
    const { records } = await readAll(file, ['user_id', 'clicks']);
    expect(records.map((r) => r.record)).toEqual([
      { user_id: 1n, clicks: 7 },
      { user_id: 2n, clicks: 8 },
      { user_id: 3n, clicks: 9 },
    ]);
  });

  it('fails with QUIVER_ERR_SOURCE for a missing or non-Parquet file', async () => {
    const missing = await openParquetSource('user_stats', path.join(dir, 'nope.parquet')).catch(
      (e: unknown) => e,
    );
    expect(isQuiverError(missing) && missing.code).toBe('QUIVER_ERR_SOURCE');
    const notParquet = path.join(dir, 'not.parquet');
    fs.writeFileSync(notParquet, 'id,ts\n1,2\n');
    const err = await openParquetSource('user_stats', notParquet).catch((e: unknown) => e);
    expect(isQuiverError(err) && err.code).toBe('QUIVER_ERR_SOURCE');
  });
});
