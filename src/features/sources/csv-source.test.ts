import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isQuiverError } from '../../errors.ts';
import { openCsvSource } from './csv-source.ts';
import type { OpenedSource, SourceRecord } from './source.ts';
import type { BadRow } from '../row-codec.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-csv-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let fileCount = 0;
function csvFile(text: string): string {
  const file = path.join(dir, `f${fileCount++}.csv`);
  fs.writeFileSync(file, text);
  return file;
}

async function readAll(
  source: OpenedSource,
): Promise<{ records: SourceRecord[]; bad: BadRow[]; chunks: number }> {
  const records: SourceRecord[] = [];
  const bad: BadRow[] = [];
  let chunks = 0;
  for await (const chunk of source.chunks()) {
    chunks++;
    records.push(...chunk.records);
    bad.push(...chunk.bad);
  }
  return { records, bad, chunks };
}

describe('openCsvSource', () => {
  it('reads the header and gives each record its starting line', async () => {
    const source = await openCsvSource(
      'v',
      csvFile('id,note\n1,plain\n2,"two\nlines"\n\n3,"a, ""quoted"" one"\n4,last'),
    );
    expect(source.columns).toEqual(['id', 'note']);
    const { records } = await readAll(source);
    expect(records).toEqual([
      { line: 2, record: { id: '1', note: 'plain' } },
      { line: 3, record: { id: '2', note: 'two\nlines' } },
      { line: 6, record: { id: '3', note: 'a, "quoted" one' } },
      { line: 7, record: { id: '4', note: 'last' } },
    ]);
  });

  it('counts CRLF line breaks, also inside quoted fields, and strips a BOM', async () => {
    const source = await openCsvSource('v', csvFile('\ufeffid,note\r\n1,x\r\n2,"y\r\nz"\r\n\r\n3,w\r\n'));
    expect(source.columns).toEqual(['id', 'note']);
    const { records } = await readAll(source);
    expect(records.map((r) => [r.line, r.record.id])).toEqual([
      [2, '1'],
      [3, '2'],
      [6, '3'],
    ]);
  });

  it('keeps line numbers right across read-buffer boundaries in a big CRLF file', async () => {
    const lines = ['id,note'];
    for (let i = 0; i < 5000; i++) lines.push(i % 7 === 0 ? `${i},"multi\r\nline ${i}"` : `${i},note ${i}`);
    const source = await openCsvSource('v', csvFile(lines.join('\r\n') + '\r\n'));
    const { records, chunks } = await readAll(source);
    expect(records).toHaveLength(5000);
    expect(chunks).toBe(5);
    let expected = 2;
    for (const r of records) {
      expect(r.line).toBe(expected);
      expected += Number(r.record.id) % 7 === 0 ? 2 : 1;
    }
    expect(source.progress()).toBe(1);
  });

  it('reports a row with the wrong number of fields as bad, with its line', async () => {
    const source = await openCsvSource('v', csvFile('id,a,b\n1,2,3\n2,3\n3,4,5,6\n4,5,6\n'));
    const { records, bad } = await readAll(source);
    expect(records.map((r) => r.line)).toEqual([2, 5]);
    expect(bad).toEqual([
      { line: 3, reason: 'expected 3 fields as in the header, got 2' },
      { line: 4, reason: 'expected 3 fields as in the header, got 4' },
    ]);
  });

  it('refuses an empty file (no header row); a header alone is a file of no records', async () => {
    const empty = await openCsvSource('v', csvFile('')).catch((e: unknown) => e);
    expect(isQuiverError(empty) && empty.code).toBe('QUIVER_ERR_SOURCE');
    expect((empty as Error).message).toMatch(/is empty: a CSV file starts with a header row/);
    const headerOnly = await openCsvSource('v', csvFile('id,a\n'));
    expect(headerOnly.columns).toEqual(['id', 'a']);
    expect((await readAll(headerOnly)).records).toEqual([]);
  });

  it('fails with QUIVER_ERR_SOURCE for a missing file, a duplicate column or broken quoting', async () => {
    const missing = await openCsvSource('user_stats', path.join(dir, 'nope.csv')).catch((e: unknown) => e);
    expect(isQuiverError(missing) && missing.code).toBe('QUIVER_ERR_SOURCE');
    expect((missing as Error).message).toContain('feature view "user_stats"');

    const dup = await openCsvSource('v', csvFile('id,a,a\n1,2,3\n')).catch((e: unknown) => e);
    expect((dup as Error).message).toContain('duplicate column "a"');

    const broken = await openCsvSource('v', csvFile('id,a\n1,"open\n2,b\n'));
    const err = await readAll(broken).catch((e: unknown) => e);
    expect(isQuiverError(err) && err.code).toBe('QUIVER_ERR_SOURCE');
  });

  it('releases the file when the reader stops early', async () => {
    const rows = ['id'];
    for (let i = 0; i < 3000; i++) rows.push(String(i));
    const source = await openCsvSource('v', csvFile(rows.join('\n')));
    for await (const chunk of source.chunks()) {
      expect(chunk.records).toHaveLength(1000);
      break;
    }
    await source.close();
  });
});
