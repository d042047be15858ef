/**
 * Entity keys: how join-key values become the string key of an online-store record. A view keyed by
 * several join keys (a composite entity) joins their values with U+001F, in the view's join-key order.
 * Integers and their decimal strings map to the same key, so clients may send `1001` or `"1001"`.
 * A key is at most MAX_KEY_BYTES long, so that every online store can hold every key (LMDB's limit
 * is 1,978 bytes): a longer one is refused like any other bad value, before anything is written.
 */

const SEPARATOR = '\u001f';

/** The longest entity key (all its parts and separators), in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/** The key's UTF-8 length exceeds MAX_KEY_BYTES (a short string cannot: ≤ 3 bytes per unit). */
function tooLong(key: string): boolean {
  return key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES;
}

/** What a join-key value must be, for error messages. */
export const KEY_EXPECTED = `a non-empty string (at most ${MAX_KEY_BYTES} UTF-8 bytes) or a safe integer`;

/** Returns the key part for one join-key value, or undefined when the value cannot be a key. */
export function keyPart(value: unknown): string | undefined {
  if (typeof value === 'string')
    return value.length > 0 && !value.includes(SEPARATOR) && !tooLong(value) ? value : undefined;
  if (typeof value === 'number') {
    if (value >= 0 && value < 1e8 && Number.isInteger(value)) return smallIntegerKey(value);
    return Number.isSafeInteger(value) ? String(value) : undefined;
  }
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

const ZERO = 0x30;
const char = String.fromCharCode;

/**
 * String(n) for an integer 0 ≤ n < 10^8, built from its digits. String(n) looks n up in V8's
 * number-string cache, a table a stream of distinct ids keeps missing in: in the running server
 * that cost ~0.18 µs of a one-entity lookup (perf, numeric ids). Here it is int32 arithmetic and
 * one small string, ~20 ns.
 */
function smallIntegerKey(value: number): string {
  let n = value | 0;
  const d0 = ZERO + (n % 10);
  n = (n / 10) | 0;
  if (n === 0) return char(d0);
  const d1 = ZERO + (n % 10);
  n = (n / 10) | 0;
  if (n === 0) return char(d1, d0);
  const d2 = ZERO + (n % 10);
  n = (n / 10) | 0;
  if (n === 0) return char(d2, d1, d0);
  const d3 = ZERO + (n % 10);
  n = (n / 10) | 0;
  if (n === 0) return char(d3, d2, d1, d0);
  const d4 = ZERO + (n % 10);
  n = (n / 10) | 0;
  if (n === 0) return char(d4, d3, d2, d1, d0);
  const d5 = ZERO + (n % 10);
  n = (n / 10) | 0;
  if (n === 0) return char(d5, d4, d3, d2, d1, d0);
  const d6 = ZERO + (n % 10);
  n = (n / 10) | 0;
  if (n === 0) return char(d6, d5, d4, d3, d2, d1, d0);
  return char(ZERO + n, d6, d5, d4, d3, d2, d1, d0);
}

/** Composite key from parts in join-key order; undefined when together they are too long. */
export function joinKeyParts(parts: readonly string[]): string | undefined {
  if (parts.length === 1) return parts[0]!;
  const key = parts.join(SEPARATOR);
  return tooLong(key) ? undefined : key;
}

/** UTF-8 length of the composite key `parts` would make (for error messages). */
export function keyBytes(parts: readonly string[]): number {
  return Buffer.byteLength(parts.join(SEPARATOR), 'utf8');
}

/** What was sent instead of a valid key part, for error messages. */
export function describeKey(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'string') return typeof value;
  if (value.length === 0) return 'an empty string';
  if (value.includes(SEPARATOR)) return 'a string containing U+001F';
  return `a string of ${Buffer.byteLength(value, 'utf8')} bytes`;
}
