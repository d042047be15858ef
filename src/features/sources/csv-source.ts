/**
 * CSV source: csv-parse streaming from the file, header on the first record, every value as text
 * (the row codec parses it). The parser is iterated with `for await`, so a slow store slows the file
 * read instead of buffering the file in memory.
 *
 * Line numbers are counted from each record's raw text rather than taken from csv-parse's `info.lines`,
 * which over-counts CRLF line breaks inside quoted fields; a record reports the line it starts on.
 */
import fs from 'node:fs';
import { parse } from 'csv-parse';
import { quiverError } from '../../errors.ts';
import { ChunkBuilder, type OpenedSource, type SourceChunk } from './source.ts';

interface RawRecord {
  record: string[];
  raw: string;
}

/** Counts line breaks in `raw` (CRLF, LF or a lone CR each count once) and those before any content. */
function countLineBreaks(raw: string): { leading: number; total: number } {
  let total = 0;
  let leading = -1;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 10 /* \n */ || (c === 13 /* \r */ && raw.charCodeAt(i + 1) !== 10)) total++;
    else if (c !== 13 && leading < 0) leading = total;
  }
  return { leading: leading < 0 ? total : leading, total };
}

function sourceError(view: string, reason: string, cause?: unknown): Error {
  return quiverError('QUIVER_ERR_SOURCE', { view, reason }, { cause });
}

/** Opens a CSV file and reads its header. `view` names the feature view in error messages. */
export async function openCsvSource(view: string, path: string): Promise<OpenedSource> {
  let sizeBytes: number;
  try {
    sizeBytes = (await fs.promises.stat(path)).size;
  } catch (err) {
    throw sourceError(view, `cannot open CSV file ${path}: ${(err as Error).message}`, err);
  }
  const stream = fs.createReadStream(path);
  const parser = parse({ bom: true, raw: true, relax_column_count: true, skip_empty_lines: true });
  stream.once('error', (err) => parser.destroy(err));
  stream.pipe(parser);
  const iterator = parser[Symbol.asyncIterator]() as AsyncIterator<RawRecord>;

  let nextLine = 1;
  const lineOf = (raw: string): number => {
    const breaks = countLineBreaks(raw);
    const line = nextLine + breaks.leading;
    nextLine += breaks.total;
    return line;
  };
  const next = async (): Promise<IteratorResult<RawRecord>> => {
    try {
      return await iterator.next();
    } catch (err) {
      throw sourceError(view, `${path} (near line ${nextLine}): ${(err as Error).message}`, err);
    }
  };

  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    stream.destroy();
    parser.destroy();
  };

  let header: string[] = [];
  try {
    const first = await next();
    if (first.done)
      throw sourceError(view, `${path} is empty: a CSV file starts with a header row naming its columns`);
    lineOf(first.value.raw);
    header = first.value.record.map((name) => name.trim());
    const seen = new Set<string>();
    for (const name of header) {
      if (seen.has(name)) throw sourceError(view, `${path}: duplicate column "${name}" in the header`);
      seen.add(name);
    }
  } catch (err) {
    await close();
    throw err;
  }

  async function* chunks(): AsyncGenerator<SourceChunk> {
    const width = header.length;
    const chunk = new ChunkBuilder();
    try {
      for (let r = await next(); !r.done; r = await next()) {
        const line = lineOf(r.value.raw);
        const fields = r.value.record;
        if (fields.length !== width) {
          chunk.badRow(line, `expected ${width} fields as in the header, got ${fields.length}`);
        } else {
          const record: Record<string, unknown> = {};
          for (let c = 0; c < width; c++) record[header[c]!] = fields[c];
          chunk.record(line, record);
        }
        if (chunk.full) yield chunk.take();
      }
      if (!chunk.empty) yield chunk.take();
    } finally {
      await close();
    }
  }

  return {
    columns: header,
    totalRows: undefined,
    progress: () => (sizeBytes === 0 ? 1 : Math.min(1, stream.bytesRead / sizeBytes)),
    chunks,
    close,
  };
}
