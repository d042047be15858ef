/**
 * Coercion of incoming values to a feature's declared type, shared by materialize (CSV text, Parquet
 * and PostgreSQL typed values), push and request data. Returns a tagged result instead of throwing so
 * bulk paths can count and report bad rows without paying for exceptions.
 */
import type { FeatureType } from '../config/types.ts';

export type Coerced = { ok: true; value: unknown } | { ok: false; expected: string; actual: string };

const INT64_LIMIT = Number.MAX_SAFE_INTEGER;

export function describe(raw: unknown): string {
  if (raw === null) return 'null';
  if (raw === undefined) return 'nothing';
  if (typeof raw === 'string') return raw.length > 40 ? `string "${raw.slice(0, 37)}..."` : `string "${raw}"`;
  if (typeof raw === 'number') return Number.isNaN(raw) ? 'NaN' : `number ${raw}`;
  if (Array.isArray(raw)) return `array of ${raw.length}`;
  return typeof raw;
}

/**
 * A number is usable as `type`: finite, and for float32 still finite once rounded to
 * float32 (beyond ±3.4e38 a finite double becomes an infinite float32).
 */
export function finiteAs(type: FeatureType, value: unknown): value is number {
  if (typeof value !== 'number') return false;
  return type === 'float32' ? Number.isFinite(Math.fround(value)) : Number.isFinite(value);
}

/** What finiteAs() expects, for error messages. */
export function finiteExpected(type: FeatureType): string {
  return type === 'float32' ? 'float32 (finite number within ±3.4e38)' : `${type} (finite number)`;
}

const fail = (expected: string, raw: unknown): Coerced => ({ ok: false, expected, actual: describe(raw) });
const ok = (value: unknown): Coerced => ({ ok: true, value });
const NULL: Coerced = { ok: true, value: null };

/** Significant digits written in a decimal literal (leading zeros and any exponent not counted). */
function significantDigits(text: string): number {
  let count = 0;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 101 || c === 69) break; // e, E
    if (c >= 48 && c <= 57 && (started || c !== 48)) {
      started = true;
      count++;
    }
  }
  return count;
}

/**
 * A float32 value, held as the double with the shortest decimal form that rounds to the same
 * float32: 34.97 rather than 34.970001220703125. Float32 semantics are exact (Math.fround of the
 * result is the float32), responses are shorter, and printing it is ~2x faster, which matters when
 * a response holds thousands of values. Decimals of at most 6 significant digits always name their
 * float32 uniquely (FLT_DIG), so the common case costs one scan of the input text.
 */
export function float32Value(n: number, text?: string): number {
  const f = Math.fround(n);
  if (!Number.isFinite(f) || f === 0) return f;
  if (significantDigits(text ?? `${n}`) <= 6) return n;
  for (let precision = 1; precision <= 9; precision++) {
    const candidate = Number(f.toPrecision(precision));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

/** True for the raw values that mean "no value" (stored as null, served as NULL_VALUE). */
export function isNullish(raw: unknown): boolean {
  return raw === null || raw === undefined || raw === '';
}

/**
 * Decimal number text, as CSV and JSON write numbers. `Number()` alone would also read "0x10" (16),
 * "0b11" and "0o7", which no data source means as numbers.
 */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function toNumber(raw: unknown): number | undefined {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'bigint') return Number(raw);
  if (typeof raw === 'string') {
    const trimmed = raw.trim();
    return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
  }
  return undefined;
}

/** int64 values are served as JSON numbers, exact only within ±(2^53 - 1). */
const INT64_RANGE = `int64 within ±${INT64_LIMIT} (±2^53: integers beyond it lose their last digits as JSON numbers)`;

/**
 * Coerces `raw` to `type`. Strings are parsed (CSV and other text sources send everything as text);
 * NaN and ±Infinity are rejected for every numeric type, because they cannot round-trip through JSON.
 */
export function coerceValue(type: FeatureType, raw: unknown): Coerced {
  if (isNullish(raw)) return NULL;
  switch (type) {
    case 'int64': {
      if (typeof raw === 'bigint') {
        return raw <= BigInt(INT64_LIMIT) && raw >= BigInt(-INT64_LIMIT)
          ? ok(Number(raw))
          : fail(INT64_RANGE, raw);
      }
      const n = toNumber(raw);
      if (n !== undefined && Number.isSafeInteger(n)) return ok(n);
      // A larger integer has already lost digits when it got here as a number: say why its value differs.
      return fail(n !== undefined && Number.isInteger(n) ? INT64_RANGE : 'int64', raw);
    }
    case 'float32': {
      // Checked after rounding: beyond ±3.4e38 a finite float64 becomes an infinite float32.
      const n = toNumber(raw);
      return finiteAs('float32', n)
        ? ok(float32Value(n, typeof raw === 'string' ? raw : undefined))
        : fail('float32 (finite number)', raw);
    }
    case 'float64': {
      const n = toNumber(raw);
      return finiteAs('float64', n) ? ok(n) : fail(finiteExpected('float64'), raw);
    }
    case 'bool': {
      if (typeof raw === 'boolean') return ok(raw);
      if (raw === 1 || raw === 0) return ok(raw === 1);
      if (typeof raw === 'string') {
        const lower = raw.trim().toLowerCase();
        if (lower === 'true' || lower === '1') return ok(true);
        if (lower === 'false' || lower === '0') return ok(false);
      }
      return fail('bool', raw);
    }
    case 'string':
      if (typeof raw === 'string') return ok(raw);
      if (typeof raw === 'number' && Number.isFinite(raw)) return ok(String(raw));
      return fail('string', raw);
    case 'float32[]':
      return coerceFloatArray(raw);
  }
}

function coerceFloatArray(raw: unknown): Coerced {
  let list: unknown = raw;
  if (typeof raw === 'string') {
    try {
      list = JSON.parse(raw);
    } catch {
      return fail('float32[] (JSON array of numbers)', raw);
    }
  }
  if (ArrayBuffer.isView(list) && !(list instanceof DataView)) list = Array.from(list as Float32Array);
  if (!Array.isArray(list)) return fail('float32[] (array of numbers)', raw);
  const out = new Array<number>(list.length);
  for (let i = 0; i < list.length; i++) {
    const v: unknown = list[i];
    const f = typeof v === 'number' ? Math.fround(v) : NaN;
    if (!Number.isFinite(f)) return fail(`float32[] (element ${i} is ${describe(v)})`, raw);
    out[i] = float32Value(v as number);
  }
  return ok(out);
}

/** Epoch number of unknown unit → ms, by magnitude: seconds, milliseconds, microseconds or nanoseconds. */
function epochToMs(n: number): number {
  const abs = Math.abs(n);
  if (abs < 1e11) return n * 1000;
  if (abs < 1e14) return n;
  if (abs < 1e17) return n / 1000;
  return n / 1e6;
}

const NAIVE_DATE_TIME = /^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?$/;

/**
 * Parses an event timestamp: a Date, an epoch number or bigint (seconds, ms, µs or ns, told apart by
 * magnitude), or an ISO-8601 string. Returns NaN when unparseable.
 */
export function parseTimestampMs(raw: unknown): number {
  if (raw instanceof Date) return raw.getTime();
  if (typeof raw === 'bigint') return epochToMs(Number(raw));
  if (typeof raw === 'number') return Number.isFinite(raw) ? epochToMs(raw) : NaN;
  if (typeof raw === 'string') {
    const trimmed = raw.trim();
    if (trimmed === '') return NaN;
    if (/^-?\d+(\.\d+)?$/.test(trimmed)) return epochToMs(Number(trimmed));
    // A date-time without a zone is UTC (as in Feast and pandas), not the server's local time.
    if (NAIVE_DATE_TIME.test(trimmed)) return Date.parse(`${trimmed.replace(' ', 'T')}Z`);
    return Date.parse(trimmed);
  }
  return NaN;
}
