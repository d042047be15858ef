/**
 * Push: writes rows sent by a client (HTTP `POST /push`, `quiver push`) into one feature view.
 *
 * `pushColumns` takes a Feast-style column-oriented df and is all-or-nothing: the whole df is
 * validated before anything is written, so a client can fix and resend it. `pushFile` streams a .csv
 * or .jsonl file through the row codec in chunks like materialize: good rows are written, bad rows
 * are counted and reported with their line numbers.
 *
 * Columns must be join keys, features or the timestamp (`event_timestamp`, Feast's name, or the
 * view source's timestampField); anything else is refused so a typo never silently drops data.
 * Every join key and feature must be there (a row is stored whole; nulls are sent as nulls).
 * Without a timestamp column the rows get the time of the push.
 *
 * @example
 *   await pushColumns(registry, store, 'user_stats_push', {
 *     user_id: [1001, 1002], clicks_7d: [3, 9], event_timestamp: ['2024-05-01T00:00:00Z', '2024-05-01T00:00:00Z'],
 *   });
 */
import path from 'node:path';
import { suggestion } from '../config/did-you-mean.ts';
import type { FeatureViewInfo, Registry } from '../config/registry.ts';
import { quiverError } from '../errors.ts';
import type { OnlineStore, WriteRow } from '../stores/online-store.ts';
import { type BadRow, createRowCodec, isBadRow, type RowCodec } from './row-codec.ts';
import {
  type LoadOptions,
  listColumns,
  loadSource,
  type MaterializeSummary,
  MAX_REPORTED_BAD_ROWS,
} from './materialize.ts';
import { openCsvSource } from './sources/csv-source.ts';
import { openJsonlSource } from './sources/jsonl-source.ts';
import type { OpenedSource } from './sources/source.ts';
import { describe } from './values.ts';

/** Feast's push timestamp column; always accepted besides the source's own timestampField. */
export const PUSH_TIMESTAMP_FIELD = 'event_timestamp';

export interface PushResult {
  readonly rows: number;
  readonly written: number;
  readonly skippedStale: number;
}

function timestampFields(view: FeatureViewInfo): string[] {
  const own = view.config.source?.timestampField;
  return own === undefined || own === PUSH_TIMESTAMP_FIELD
    ? [PUSH_TIMESTAMP_FIELD]
    : [PUSH_TIMESTAMP_FIELD, own];
}

/**
 * Feast's clients send a `created` timestamp column with every push: nothing online uses it, so it is
 * accepted and ignored.
 */
export const FEAST_CREATED_FIELD = 'created';

function allowedColumns(view: FeatureViewInfo): Set<string> {
  return new Set([...view.joinKeys, ...view.features, ...timestampFields(view), FEAST_CREATED_FIELD]);
}

/**
 * Refuses columns the view does not know and missing join keys or features, before any row is read.
 * A stored row is the whole row at one event time, so a push that left a feature out would store it
 * as null; Feast refuses such a push too, and so does Quiver: a null must be sent as one.
 */
function checkColumns(view: FeatureViewInfo, columns: readonly string[]): void {
  const allowed = allowedColumns(view);
  const unknown = columns.filter((c) => !allowed.has(c));
  if (unknown.length > 0) {
    throw quiverError(
      'QUIVER_ERR_UNKNOWN_FEATURE',
      { feature: unknown[0]!, view: view.name },
      {
        details: { unknown, ...suggestion(unknown[0]!, allowed) },
      },
    );
  }
  const missing = missingColumns(view, (c) => columns.includes(c));
  if (missing.length > 0) {
    throw quiverError(
      'QUIVER_ERR_MISSING_COLUMNS',
      { view: view.name, columns: listColumns(missing) },
      { details: { missing } },
    );
  }
}

/** The view's join keys and features that are not `present`, in the view's order. */
function missingColumns(view: FeatureViewInfo, present: (column: string) => boolean): string[] {
  const missing: string[] = [];
  for (const c of view.joinKeys) if (!present(c)) missing.push(c);
  for (const c of view.features) if (!present(c)) missing.push(c);
  return missing;
}

/** The codec for a set of columns: their timestamp column, or the push time when there is none. */
function codecFor(view: FeatureViewInfo, columns: readonly string[], nowMs: number): RowCodec {
  const tsField = timestampFields(view).find((f) => columns.includes(f));
  return tsField === undefined
    ? createRowCodec(view, PUSH_TIMESTAMP_FIELD, { fallbackTsMs: nowMs })
    : createRowCodec(view, tsField);
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Checks that `df` is an object of equal-length arrays; returns its columns and row count. */
function checkShape(df: unknown): { columns: string[]; length: number } {
  const invalid = (reason: string): Error => quiverError('QUIVER_ERR_INVALID_REQUEST', { reason });
  if (!isObject(df)) throw invalid(`df must be an object of column arrays, got ${describe(df)}`);
  const columns = Object.keys(df);
  if (columns.length === 0) throw invalid('df has no columns');
  let length = -1;
  for (const c of columns) {
    const values = df[c];
    // Typed arrays are columns too: msgpack clients may send numeric columns that way.
    if (!Array.isArray(values) && !(ArrayBuffer.isView(values) && !(values instanceof DataView))) {
      throw invalid(`df column "${c}" must be an array, got ${describe(values)}`);
    }
    const n = (values as ArrayLike<unknown>).length;
    if (length === -1) length = n;
    else if (n !== length) {
      throw invalid(`df columns must have equal lengths: "${columns[0]}" has ${length}, "${c}" has ${n}`);
    }
  }
  return { columns, length };
}

/**
 * Validates the whole df, then writes it in one store call; throws and writes nothing if any row is
 * bad. `target` is a push source name or a view name. Bad rows are reported by 0-based df index.
 */
export async function pushColumns(
  registry: Registry,
  store: OnlineStore,
  target: string,
  df: unknown,
): Promise<PushResult> {
  const view = registry.viewForPush(target);
  const { columns, length } = checkShape(df);
  checkColumns(view, columns);
  const data = df as Record<string, ArrayLike<unknown>>;
  const codec = codecFor(view, columns, Date.now());
  const rows: WriteRow[] = [];
  const bad: BadRow[] = [];
  for (let i = 0; i < length; i++) {
    const record: Record<string, unknown> = {};
    for (const c of columns) record[c] = data[c]![i];
    const out = codec.decode(record, i);
    if (isBadRow(out)) bad.push(out);
    else rows.push(out);
  }
  if (bad.length > 0) {
    const first = bad[0]!;
    throw quiverError(
      'QUIVER_ERR_INVALID_VALUE',
      { field: first.column ?? '?', expected: first.expected ?? '?', actual: first.actual ?? '?' },
      {
        details: {
          view: view.name,
          badRowCount: bad.length,
          badRows: bad.slice(0, MAX_REPORTED_BAD_ROWS).map((b) => ({ row: b.line, reason: b.reason })),
        },
      },
    );
  }
  if (rows.length === 0) return { rows: 0, written: 0, skippedStale: 0 };
  const result = await store.write(view.name, rows);
  return { rows: rows.length, written: result.written, skippedStale: result.skippedStale };
}

/**
 * Opens a push file by extension: `.csv` (header row) or `.jsonl`/`.ndjson` (one JSON object per
 * line; a malformed line is a bad row). `view` names the target in error messages.
 */
export async function readPushFile(file: string, view: string): Promise<OpenedSource> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.csv') return openCsvSource(view, file);
  if (ext === '.jsonl' || ext === '.ndjson') return openJsonlSource(view, file);
  throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
    reason: `Cannot push ${file}: expected a .csv or .jsonl file, got "${ext || 'no extension'}"`,
  });
}

/** Decoder for header-less records (JSONL): refuses unknown keys and picks the timestamp per record. */
function perRecordDecoder(view: FeatureViewInfo, nowMs: number): LoadOptions['decode'] {
  const allowed = allowedColumns(view);
  const [pushField, ownField] = timestampFields(view);
  const byPushField = createRowCodec(view, pushField!);
  const byOwnField = ownField === undefined ? undefined : createRowCodec(view, ownField);
  const byNow = createRowCodec(view, PUSH_TIMESTAMP_FIELD, { fallbackTsMs: nowMs });
  return (record, line) => {
    for (const key in record) {
      if (!allowed.has(key)) {
        return {
          line,
          column: key,
          reason: `unknown column "${key}" (not a join key, feature or timestamp of "${view.name}")`,
        };
      }
    }
    const missing = missingColumns(view, (c) => Object.hasOwn(record, c));
    if (missing.length > 0) {
      return {
        line,
        column: missing[0]!,
        reason: `${listColumns(missing)} missing (a row is stored whole: send null where a value is unknown)`,
      };
    }
    if (record[pushField!] !== undefined) return byPushField.decode(record, line);
    if (byOwnField !== undefined && record[ownField!] !== undefined) return byOwnField.decode(record, line);
    return byNow.decode(record, line);
  };
}

export interface PushFileOptions {
  readonly onProgress?: LoadOptions['onProgress'];
  readonly signal?: AbortSignal;
}

/** Streams a .csv or .jsonl file into a view; good rows are written, bad rows reported by line. */
export async function pushFile(
  registry: Registry,
  store: OnlineStore,
  target: string,
  file: string,
  options: PushFileOptions = {},
): Promise<MaterializeSummary> {
  const view = registry.viewForPush(target);
  const source = await readPushFile(file, view.name);
  const nowMs = Date.now();
  let decode: LoadOptions['decode'];
  if (source.columns !== undefined) {
    try {
      checkColumns(view, source.columns);
    } catch (err) {
      await source.close();
      throw err;
    }
    const codec = codecFor(view, source.columns, nowMs);
    decode = (record, line) => codec.decode(record, line);
  } else decode = perRecordDecoder(view, nowMs);
  return loadSource({ view, store, source, decode, ...options });
}
