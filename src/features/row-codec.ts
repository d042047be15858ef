/**
 * The row codec: turns one source record (CSV text, Parquet/PostgreSQL typed values, JSON) into a
 * WriteRow for a feature view, or a bad row naming the column, what was expected and what was got.
 * A codec is compiled once per view so the per-row work is a plain loop over prepared arrays; a row
 * is either fully valid or bad, never half-written.
 *
 * @example
 *   const codec = createRowCodec(registry.featureView('user_stats'), 'event_ts');
 *   const out = codec.decode({ user_id: '1001', event_ts: '2024-05-01T00:00:00Z', clicks: '3' }, 2);
 *   if (isBadRow(out)) console.log(`line ${out.line}: ${out.reason}`);
 */
import type { FeatureType } from '../config/types.ts';
import type { FeatureViewInfo } from '../config/registry.ts';
import type { WriteRow } from '../stores/online-store.ts';
import { joinKeyParts, KEY_EXPECTED, keyBytes, keyPart } from './entity-key.ts';
import { coerceValue, describe, isNullish, parseTimestampMs } from './values.ts';

/** A record that could not be turned into a WriteRow. `line` is the source's line/row number. */
export interface BadRow {
  readonly line: number;
  /** Human-readable, e.g. `column "clicks": expected int64, got string "abc"`. */
  readonly reason: string;
  /** Set when one column is to blame (push reports it as the error's `field`). */
  readonly column?: string;
  readonly expected?: string;
  readonly actual?: string;
}

/** The result of checking a source's header once, before any row is decoded. */
export interface ColumnCheck {
  /** Join keys and the timestamp field absent from the header: every row would be bad. */
  readonly missingRequired: string[];
  /** Feature columns absent from the header: stored as null (served as NULL_VALUE) in every row. */
  readonly missingFeatures: string[];
}

export interface RowCodecOptions {
  /**
   * Event time used when a record has no timestamp value at all (`undefined`): push without an
   * `event_timestamp` column means "now". An explicit null or unparseable timestamp is still bad.
   */
  readonly fallbackTsMs?: number;
  /** Clock for the future-time check (tests); default Date.now, read once when the codec is made. */
  readonly nowMs?: number;
}

export interface RowCodec {
  readonly view: FeatureViewInfo;
  readonly timestampField: string;
  decode(record: Readonly<Record<string, unknown>>, line: number): WriteRow | BadRow;
  checkColumns(columns: readonly string[]): ColumnCheck;
}

export function isBadRow(out: WriteRow | BadRow): out is BadRow {
  return 'reason' in out;
}

export function badRow(line: number, column: string, expected: string, actual: string): BadRow {
  return {
    line,
    column,
    expected,
    actual,
    reason: `column "${column}": expected ${expected}, got ${actual}`,
  };
}

const JOIN_KEY_EXPECTED = `join key (${KEY_EXPECTED})`;
const TIMESTAMP_EXPECTED = 'timestamp (ISO-8601, epoch number or Date)';

/** A time for a message: ISO-8601 when Date can show it. */
function isoOrNumber(ms: number): string {
  return Math.abs(ms) <= 8.64e15 ? new Date(ms).toISOString() : `${ms} ms since the epoch`;
}
/**
 * How far ahead an event time may be is the view's `maxFutureSeconds`: writes keep the newest event
 * per entity, so a row stamped in 2099 (a unit mix-up, a bad clock) would win over every later
 * correct write and freeze the entity's features for good.
 */
function futureExpected(maxFutureMs: number): string {
  const seconds = maxFutureMs / 1000;
  const span = seconds % 60 === 0 ? `${seconds / 60} minute${seconds === 60 ? '' : 's'}` : `${seconds} s`;
  return `an event time at most ${span} in the future (the view's maxFutureSeconds)`;
}

class CompiledRowCodec implements RowCodec {
  readonly view: FeatureViewInfo;
  readonly timestampField: string;
  readonly #joinKeys: readonly string[];
  readonly #features: readonly string[];
  readonly #types: readonly FeatureType[];
  readonly #fallbackTsMs: number | undefined;
  readonly #latestTsMs: number;
  readonly #futureExpected: string;
  // Reused across rows: the parts are joined into the key string before the next row starts.
  readonly #parts: string[];

  constructor(view: FeatureViewInfo, timestampField: string, options: RowCodecOptions) {
    this.view = view;
    this.timestampField = timestampField;
    this.#joinKeys = view.joinKeys;
    this.#features = view.features;
    this.#types = view.types;
    this.#fallbackTsMs = options.fallbackTsMs;
    this.#latestTsMs = (options.nowMs ?? Date.now()) + view.maxFutureMs;
    this.#futureExpected = futureExpected(view.maxFutureMs);
    this.#parts = new Array<string>(view.joinKeys.length);
  }

  decode(record: Readonly<Record<string, unknown>>, line: number): WriteRow | BadRow {
    const joinKeys = this.#joinKeys;
    const parts = this.#parts;
    for (let k = 0; k < joinKeys.length; k++) {
      const raw = record[joinKeys[k]!];
      const part = keyPart(raw);
      if (part === undefined) return badRow(line, joinKeys[k]!, JOIN_KEY_EXPECTED, describe(raw));
      parts[k] = part;
    }

    const rawTs = record[this.timestampField];
    let eventTsMs: number;
    if (rawTs === undefined && this.#fallbackTsMs !== undefined) eventTsMs = this.#fallbackTsMs;
    else {
      eventTsMs = isNullish(rawTs) ? NaN : parseTimestampMs(rawTs);
      if (Number.isNaN(eventTsMs))
        return badRow(line, this.timestampField, TIMESTAMP_EXPECTED, describe(rawTs));
      if (eventTsMs > this.#latestTsMs)
        return badRow(line, this.timestampField, this.#futureExpected, isoOrNumber(eventTsMs));
    }

    const features = this.#features;
    const types = this.#types;
    const values = new Array<unknown>(features.length);
    for (let i = 0; i < features.length; i++) {
      const coerced = coerceValue(types[i]!, record[features[i]!]);
      if (!coerced.ok) return badRow(line, features[i]!, coerced.expected, coerced.actual);
      values[i] = coerced.value;
    }
    const key = joinKeyParts(parts);
    if (key === undefined) {
      return badRow(line, joinKeys.join('+'), JOIN_KEY_EXPECTED, `a key of ${keyBytes(parts)} bytes`);
    }
    return { key, eventTsMs, values };
  }

  checkColumns(columns: readonly string[]): ColumnCheck {
    const present = new Set(columns);
    const required =
      this.#fallbackTsMs === undefined ? [...this.#joinKeys, this.timestampField] : this.#joinKeys;
    return {
      missingRequired: required.filter((c) => !present.has(c)),
      missingFeatures: this.#features.filter((c) => !present.has(c)),
    };
  }
}

/** Compiles the codec of one view; `timestampField` names the record's event-time column. */
export function createRowCodec(
  view: FeatureViewInfo,
  timestampField: string,
  options: RowCodecOptions = {},
): RowCodec {
  return new CompiledRowCodec(view, timestampField, options);
}
