/**
 * JSONL source for `quiver push <file>.jsonl`: one JSON object per line, read line by line with
 * node:readline so the file is never fully in memory. A line that is not a JSON object is a bad row
 * with its line number; blank lines are skipped. JSONL has no header, so `columns` is undefined.
 */
import fs from 'node:fs';
import readline from 'node:readline';
import { quiverError } from '../../errors.ts';
import { ChunkBuilder, type OpenedSource, type SourceChunk } from './source.ts';

function parseLine(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `malformed JSON: ${(err as Error).message}`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}`;
  }
  return value as Record<string, unknown>;
}

/** Opens a JSONL file. `view` names the feature view in error messages. */
export async function openJsonlSource(view: string, path: string): Promise<OpenedSource> {
  let sizeBytes: number;
  try {
    sizeBytes = (await fs.promises.stat(path)).size;
  } catch (err) {
    throw quiverError(
      'QUIVER_ERR_SOURCE',
      { view, reason: `cannot open ${path}: ${(err as Error).message}` },
      { cause: err },
    );
  }
  const stream = fs.createReadStream(path, { encoding: 'utf8' });
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    lines.close();
    stream.destroy();
  };

  async function* chunks(): AsyncGenerator<SourceChunk> {
    const chunk = new ChunkBuilder();
    let line = 0;
    try {
      for await (const text of lines) {
        line++;
        if (text.trim() === '') continue;
        const parsed = parseLine(text);
        if (typeof parsed === 'string') chunk.badRow(line, parsed);
        else chunk.record(line, parsed);
        if (chunk.full) yield chunk.take();
      }
      if (!chunk.empty) yield chunk.take();
    } finally {
      await close();
    }
  }

  return {
    columns: undefined,
    totalRows: undefined,
    progress: () => (sizeBytes === 0 ? 1 : Math.min(1, stream.bytesRead / sizeBytes)),
    chunks,
    close,
  };
}
