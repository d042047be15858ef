/**
 * The batch-source port: where materialize and `quiver push <file>` read records from. Implementations
 * live beside this file (csv-source.ts, parquet-source.ts, postgres-source.ts, jsonl-source.ts);
 * open-source.ts picks one from a SourceConfig. Nothing here imports an implementation.
 *
 * A source is opened (fallible setup: the file exists, the header parses, the database answers) and
 * then read as chunks of about CHUNK_ROWS records, so memory stays bounded however big the source is
 * and the store gets one write per chunk.
 *
 * @example
 *   const source = await openSource('user_stats', view.config.source!, { sinceMs });
 *   try {
 *     for await (const chunk of source.chunks()) for (const { line, record } of chunk.records) ...;
 *   } finally {
 *     await source.close();
 *   }
 */
import type { BadRow } from '../row-codec.ts';

/** Records per chunk: big enough to amortise a store transaction, small enough to bound memory. */
export const CHUNK_ROWS = 1000;

export interface SourceRecord {
  /**
   * Where the record came from, for bad-row reports: the 1-based file line where a CSV record starts
   * (the header is line 1), the row index + 1 for Parquet, the row number for PostgreSQL, the line
   * for JSONL.
   */
  readonly line: number;
  readonly record: Record<string, unknown>;
}

export interface SourceChunk {
  readonly records: SourceRecord[];
  /** Records the source itself could not read (a CSV row with the wrong field count, bad JSON). */
  readonly bad: BadRow[];
}

export type RecordSource = AsyncIterable<SourceChunk>;

/** Collects records and bad rows of a line-by-line source into chunks of about CHUNK_ROWS. */
export class ChunkBuilder {
  private records: SourceRecord[] = [];
  private bad: BadRow[] = [];

  record(line: number, record: Record<string, unknown>): void {
    this.records.push({ line, record });
  }

  badRow(line: number, reason: string): void {
    this.bad.push({ line, reason });
  }

  get full(): boolean {
    return this.records.length + this.bad.length >= CHUNK_ROWS;
  }

  get empty(): boolean {
    return this.records.length + this.bad.length === 0;
  }

  /** The chunk so far; the builder starts a new one. */
  take(): SourceChunk {
    const chunk = { records: this.records, bad: this.bad };
    this.records = [];
    this.bad = [];
    return chunk;
  }
}

export interface OpenedSource {
  /** Column names from the header/schema/result, or undefined when the format has none (JSONL). */
  readonly columns: readonly string[] | undefined;
  /** Total records when known up front (Parquet metadata); undefined otherwise. */
  readonly totalRows: number | undefined;
  /** Fraction of the source consumed so far (CSV: bytes read / file size), when it can tell. */
  progress(): number | undefined;
  /** Reads the source once; breaking out of the loop releases it. */
  chunks(): RecordSource;
  /** Releases files and connections; idempotent, safe whether or not chunks() was consumed. */
  close(): Promise<void>;
}

export interface OpenSourceOptions {
  /**
   * Only records with event time >= sinceMs are wanted. PostgreSQL filters in SQL; file sources
   * return every record and the caller drops old ones after decoding (counted as skippedOld).
   */
  readonly sinceMs?: number;
  /** Columns the caller needs; columnar sources (Parquet) read only these. */
  readonly columns?: readonly string[];
}
