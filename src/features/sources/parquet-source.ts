/**
 * Parquet source (hyparquet): reads the footer for the schema and row count, then reads the file in
 * windows of at most WINDOW_ROWS rows that never cross a row group, so a big file is never fully in
 * memory and a window never decodes two row groups. Only the columns the view needs are read.
 *
 * Values arrive typed: INT64 as bigint, timestamps as Date or bigint, lists as arrays; the row codec
 * and parseTimestampMs accept all of these. hyparquet-compressors adds gzip, zstd, brotli and lz4 to
 * hyparquet's built-in SNAPPY, so files from pyarrow, polars (zstd by default) and Spark all load.
 */
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from 'hyparquet';
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { quiverError } from '../../errors.ts';
import {
  CHUNK_ROWS,
  type OpenedSource,
  type OpenSourceOptions,
  type SourceChunk,
  type SourceRecord,
} from './source.ts';

/** Rows decoded at once: bounds memory for files written with huge row groups. */
const WINDOW_ROWS = 10_000;

function sourceError(view: string, reason: string, cause?: unknown): Error {
  return quiverError('QUIVER_ERR_SOURCE', { view, reason }, { cause });
}

/** Opens a Parquet file and reads its footer. `view` names the feature view in error messages. */
export async function openParquetSource(
  view: string,
  path: string,
  options: OpenSourceOptions = {},
): Promise<OpenedSource> {
  let file: AsyncBuffer;
  let metadata: FileMetaData;
  try {
    file = await asyncBufferFromFile(path);
    metadata = await parquetMetadataAsync(file);
  } catch (err) {
    throw sourceError(view, `cannot read Parquet file ${path}: ${(err as Error).message}`, err);
  }
  const columns = parquetSchema(metadata).children.map((child) => child.element.name);
  const wanted =
    options.columns === undefined ? undefined : columns.filter((c) => options.columns!.includes(c));
  const totalRows = Number(metadata.num_rows);
  let rowsRead = 0;

  async function* chunks(): AsyncGenerator<SourceChunk> {
    let groupStart = 0;
    for (const group of metadata.row_groups) {
      const groupEnd = groupStart + Number(group.num_rows);
      for (let rowStart = groupStart; rowStart < groupEnd; rowStart += WINDOW_ROWS) {
        const rowEnd = Math.min(rowStart + WINDOW_ROWS, groupEnd);
        let rows: Record<string, unknown>[];
        try {
          rows = await parquetReadObjects({
            file,
            metadata,
            rowStart,
            rowEnd,
            columns: wanted,
            compressors,
            useOffsetIndex: true,
          });
        } catch (err) {
          throw sourceError(view, `${path} rows ${rowStart + 1}-${rowEnd}: ${(err as Error).message}`, err);
        }
        for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
          const end = Math.min(i + CHUNK_ROWS, rows.length);
          const records = new Array<SourceRecord>(end - i);
          for (let j = i; j < end; j++) records[j - i] = { line: rowStart + j + 1, record: rows[j]! };
          rowsRead += end - i;
          yield { records, bad: [] };
        }
      }
      groupStart = groupEnd;
    }
  }

  return {
    columns,
    totalRows,
    progress: () => (totalRows === 0 ? 1 : rowsRead / totalRows),
    chunks,
    // Nothing to release: asyncBufferFromFile opens a short-lived read stream per slice.
    close: async () => {},
  };
}
