/**
 * Materialize: streams each feature view's batch source through its row codec into the online store,
 * one store write per chunk, and reports what happened per view (rows read, written, stale, old, bad
 * with line numbers). Re-running is idempotent: the store overwrites equal event timestamps, so the
 * same source gives the same stored state. A watermark per view (the newest event time loaded) lets
 * `since: 'auto'` load only what is new.
 *
 * @example
 *   const summaries = await materialize({ registry, store, since: 'auto', onProgress: reporter.onProgress });
 */
import type { FeatureViewInfo, Registry } from '../config/registry.ts';
import { quiverError } from '../errors.ts';
import type { OnlineStore, WriteRow } from '../stores/online-store.ts';
import { type BadRow, createRowCodec, isBadRow } from './row-codec.ts';
import { openSource } from './sources/open-source.ts';
import type { OpenedSource } from './sources/source.ts';

/** Bad rows kept per view for the report; the rest are only counted. */
export const MAX_REPORTED_BAD_ROWS = 20;

export interface MaterializeSummary {
  readonly view: string;
  /** Records read from the source, bad ones included. */
  readonly rowsRead: number;
  readonly written: number;
  /** Skipped because the store already holds a newer event for the key. */
  readonly skippedStale: number;
  /** Skipped because their event time is before `since`. */
  readonly skippedOld: number;
  readonly bad: number;
  /** The first MAX_REPORTED_BAD_ROWS bad rows, in source order. */
  readonly badRows: readonly { readonly line: number; readonly reason: string }[];
  /** Source-level problems that did not stop the load, e.g. feature columns missing from the header. */
  readonly warnings: readonly string[];
  /** Newest event time loaded in this run, or undefined when nothing was loaded. */
  readonly maxEventTsMs: number | undefined;
  readonly elapsedMs: number;
  readonly rowsPerSecond: number;
}

export type ProgressEvent =
  | { readonly type: 'start'; readonly view: string; readonly totalRows: number | undefined }
  | {
      readonly type: 'progress';
      readonly view: string;
      readonly rowsRead: number;
      readonly written: number;
      readonly bad: number;
      readonly totalRows: number | undefined;
      /** Fraction of the source consumed (0..1), when the source can tell; used when totalRows is unknown. */
      readonly fraction: number | undefined;
      readonly elapsedMs: number;
    }
  | { readonly type: 'done'; readonly view: string; readonly summary: MaterializeSummary };

export interface LoadOptions {
  readonly view: FeatureViewInfo;
  readonly store: OnlineStore;
  readonly source: OpenedSource;
  readonly decode: (record: Readonly<Record<string, unknown>>, line: number) => WriteRow | BadRow;
  readonly sinceMs?: number;
  readonly warnings?: readonly string[];
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly signal?: AbortSignal;
}

/**
 * Streams an opened source into the store and closes it. Shared by materialize and `pushFile`; the
 * caller has already checked the source's columns.
 */
export async function loadSource(options: LoadOptions): Promise<MaterializeSummary> {
  const { view, store, source, decode, sinceMs, onProgress, signal } = options;
  const started = performance.now();
  let rowsRead = 0;
  let written = 0;
  let skippedStale = 0;
  let skippedOld = 0;
  let badCount = 0;
  let maxEventTsMs = -Infinity;
  const badRows: { line: number; reason: string }[] = [];
  onProgress?.({ type: 'start', view: view.name, totalRows: source.totalRows });
  try {
    for await (const chunk of source.chunks()) {
      signal?.throwIfAborted();
      rowsRead += chunk.records.length + chunk.bad.length;
      const bad: BadRow[] = chunk.bad.slice();
      const rows: WriteRow[] = [];
      for (const { line, record } of chunk.records) {
        const out = decode(record, line);
        if (isBadRow(out)) bad.push(out);
        else if (sinceMs !== undefined && out.eventTsMs < sinceMs) skippedOld++;
        else {
          rows.push(out);
          if (out.eventTsMs > maxEventTsMs) maxEventTsMs = out.eventTsMs;
        }
      }
      badCount += bad.length;
      if (badRows.length < MAX_REPORTED_BAD_ROWS && bad.length > 0) {
        // Source-level and decode failures were collected separately; report them in line order.
        if (chunk.bad.length > 0) bad.sort((a, b) => a.line - b.line);
        for (const b of bad.slice(0, MAX_REPORTED_BAD_ROWS - badRows.length))
          badRows.push({ line: b.line, reason: b.reason });
      }
      if (rows.length > 0) {
        const result = await store.write(view.name, rows);
        written += result.written;
        skippedStale += result.skippedStale;
      }
      onProgress?.({
        type: 'progress',
        view: view.name,
        rowsRead,
        written,
        bad: badCount,
        totalRows: source.totalRows,
        fraction: source.progress(),
        elapsedMs: performance.now() - started,
      });
    }
  } finally {
    await source.close();
  }
  const elapsedMs = performance.now() - started;
  const summary: MaterializeSummary = {
    view: view.name,
    rowsRead,
    written,
    skippedStale,
    skippedOld,
    bad: badCount,
    badRows,
    warnings: options.warnings ?? [],
    maxEventTsMs: maxEventTsMs === -Infinity ? undefined : maxEventTsMs,
    elapsedMs,
    rowsPerSecond: elapsedMs > 0 ? Math.round((rowsRead * 1000) / elapsedMs) : rowsRead,
  };
  onProgress?.({ type: 'done', view: view.name, summary });
  return summary;
}

/** Formats "column(s) "a", "b"" for messages. */
export function listColumns(names: readonly string[]): string {
  if (names.length === 0) return 'no columns';
  return `${names.length === 1 ? 'column' : 'columns'} ${names.map((n) => `"${n}"`).join(', ')}`;
}

export interface Watermark {
  /** Newest event time ever loaded by materialize, or null when nothing has been. */
  readonly maxEventTsMs: number | null;
  readonly finishedAtMs: number;
}

const watermarkName = (view: string): string => `materialize:${view}`;

/** The last successful materialization of `view`, or undefined when there was none. */
export async function readWatermark(store: OnlineStore, view: string): Promise<Watermark | undefined> {
  const raw = await store.getMeta(watermarkName(view));
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<Watermark>;
    if (typeof parsed.finishedAtMs !== 'number') return undefined;
    return {
      maxEventTsMs: typeof parsed.maxEventTsMs === 'number' ? parsed.maxEventTsMs : null,
      finishedAtMs: parsed.finishedAtMs,
    };
  } catch {
    return undefined;
  }
}

export interface MaterializeOptions {
  readonly registry: Registry;
  readonly store: OnlineStore;
  /** Views to load (default: every view with a source). */
  readonly views?: readonly string[];
  /** Event-time lower bound in ms, or 'auto' for each view's watermark (everything when none). */
  readonly since?: number | 'auto';
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly signal?: AbortSignal;
}

function selectViews(registry: Registry, names: readonly string[] | undefined): FeatureViewInfo[] {
  if (names === undefined) return registry.views.filter((v) => v.config.source !== undefined);
  const views = names.map((name) => registry.featureView(name));
  for (const view of views) {
    if (view.config.source === undefined) {
      throw quiverError('QUIVER_ERR_SOURCE', {
        view: view.name,
        reason: 'it has no source configured (set featureViews[].source, or load it with `quiver push`)',
      });
    }
  }
  return views;
}

/** Loads the views one after another; the first failing view stops the run with its error. */
export async function materialize(options: MaterializeOptions): Promise<MaterializeSummary[]> {
  const { registry, store, since, onProgress, signal } = options;
  const views = selectViews(registry, options.views);
  const summaries: MaterializeSummary[] = [];
  for (const view of views) {
    signal?.throwIfAborted();
    const config = view.config.source!;
    const previous = await readWatermark(store, view.name);
    const sinceMs = since === 'auto' ? (previous?.maxEventTsMs ?? undefined) : since;
    const codec = createRowCodec(view, config.timestampField);
    const source = await openSource(view.name, config, {
      sinceMs,
      columns: [...view.joinKeys, config.timestampField, ...view.features],
    });
    const warnings: string[] = [];
    if (source.columns !== undefined) {
      const check = codec.checkColumns(source.columns);
      if (check.missingRequired.length > 0) {
        await source.close();
        throw quiverError('QUIVER_ERR_SOURCE', {
          view: view.name,
          reason:
            `required ${listColumns(check.missingRequired)} missing (join keys and "${config.timestampField}"); ` +
            `the source has ${listColumns(source.columns)}`,
        });
      }
      if (check.missingFeatures.length > 0) {
        warnings.push(
          `${listColumns(check.missingFeatures)} not in the source: stored as null (served as NULL_VALUE)`,
        );
      }
    }
    const summary = await loadSource({
      view,
      store,
      source,
      decode: (record, line) => codec.decode(record, line),
      sinceMs,
      warnings,
      onProgress,
      signal,
    });
    if (summary.bad > 0) {
      // `since: 'auto'` means since the last *successful* run: moving the watermark past rows that
      // failed would skip them for good once they are fixed. Re-reading the good ones is harmless.
      summaries.push({
        ...summary,
        warnings: [
          ...summary.warnings,
          `the --since auto watermark was not moved (${summary.bad} bad rows): fix them and re-run; the next run reads them again`,
        ],
      });
      continue;
    }
    const maxEventTsMs = Math.max(summary.maxEventTsMs ?? -Infinity, previous?.maxEventTsMs ?? -Infinity);
    const watermark: Watermark = {
      maxEventTsMs: maxEventTsMs === -Infinity ? null : maxEventTsMs,
      finishedAtMs: Date.now(),
    };
    await store.setMeta(watermarkName(view.name), JSON.stringify(watermark));
    summaries.push(summary);
  }
  return summaries;
}
