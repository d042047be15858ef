/**
 * PostgreSQL source (pg + pg-cursor): runs the view's query through a server-side cursor and reads
 * CHUNK_ROWS rows per round trip, so a big table never sits in memory. With `sinceMs` the query is
 * wrapped as `SELECT * FROM (<query>) AS q WHERE q."<timestampField>" >= $1`, so only new rows cross
 * the network; the timestamp column must then be a timestamp, timestamptz or date.
 *
 * Connection: source.url, else env QUIVER_PG_URL, else the pg defaults (PGHOST, PGUSER, ...).
 */
import pg from 'pg';
import Cursor from 'pg-cursor';
import { quiverError } from '../../errors.ts';
import {
  CHUNK_ROWS,
  type OpenedSource,
  type OpenSourceOptions,
  type SourceChunk,
  type SourceRecord,
} from './source.ts';

export interface PostgresSourceConfig {
  readonly url?: string;
  readonly query: string;
  readonly timestampField: string;
}

type Row = Record<string, unknown>;

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** The SQL actually run, with its parameters. Exported for tests. */
export function buildSourceQuery(
  config: PostgresSourceConfig,
  sinceMs?: number,
): { text: string; values: unknown[] } {
  // A trailing semicolon would end the subquery early; users often paste queries with one.
  const query = config.query.trim().replace(/;+\s*$/, '');
  if (sinceMs === undefined) return { text: query, values: [] };
  return {
    text: `SELECT * FROM (${query}) AS q WHERE q.${quoteIdent(config.timestampField)} >= $1`,
    values: [new Date(sinceMs)],
  };
}

/** Connects and runs the query up to its first rows. `view` names the feature view in errors. */
export async function openPostgresSource(
  view: string,
  config: PostgresSourceConfig,
  options: OpenSourceOptions = {},
): Promise<OpenedSource> {
  const fail = (err: unknown): Error =>
    quiverError(
      'QUIVER_ERR_SOURCE',
      { view, reason: `PostgreSQL: ${(err as Error).message}` },
      { cause: err },
    );
  const client = new pg.Client({ connectionString: config.url ?? process.env.QUIVER_PG_URL });
  // An idle client that loses its connection emits 'error'; without a listener that crashes the process.
  client.on('error', () => {});
  const { text, values } = buildSourceQuery(config, options.sinceMs);
  let cursor: Cursor<Row> | undefined;
  let closed = false;
  // Never throws: a failing close must not hide the error that made the reader stop.
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await cursor?.close().catch(() => {});
    await client.end().catch(() => {});
  };

  // The first read runs the query; its result carries the column names, even for zero rows.
  let first: { rows: Row[]; columns: string[] };
  try {
    await client.connect();
    cursor = client.query(new Cursor<Row>(text, values));
    first = await new Promise((resolve, reject) => {
      cursor!.read(CHUNK_ROWS, (err, rows, result) => {
        if (err) reject(err);
        else resolve({ rows, columns: result.fields.map((f) => f.name) });
      });
    });
  } catch (err) {
    await close();
    throw fail(err);
  }

  let rowNumber = 0;
  const toChunk = (rows: Row[]): SourceChunk => {
    const records = new Array<SourceRecord>(rows.length);
    for (let i = 0; i < rows.length; i++) records[i] = { line: ++rowNumber, record: rows[i]! };
    return { records, bad: [] };
  };

  async function* chunks(): AsyncGenerator<SourceChunk> {
    try {
      let rows = first.rows;
      while (rows.length > 0) {
        yield toChunk(rows);
        if (rows.length < CHUNK_ROWS) break;
        try {
          rows = await cursor!.read(CHUNK_ROWS);
        } catch (err) {
          throw fail(err);
        }
      }
    } finally {
      await close();
    }
  }

  return { columns: first.columns, totalRows: undefined, progress: () => undefined, chunks, close };
}
