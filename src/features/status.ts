/**
 * Feature statuses (Feast's enum). Kept as small integers on the hot path and turned into strings
 * only by the serializers.
 */
import type { StoredRow } from '../stores/online-store.ts';

export const PRESENT = 0;
export const NOT_FOUND = 1;
export const NULL_VALUE = 2;
export const OUTSIDE_MAX_AGE = 3;
export type StatusCode = typeof PRESENT | typeof NOT_FOUND | typeof NULL_VALUE | typeof OUTSIDE_MAX_AGE;

export const STATUS_NAMES = ['PRESENT', 'NOT_FOUND', 'NULL_VALUE', 'OUTSIDE_MAX_AGE'] as const;
export type FeatureStatus = (typeof STATUS_NAMES)[number];

/**
 * Status of value `valueIndex` (0-based in schema order) of a stored row. TTL is enforced on every
 * read: a value older than `ttlMs` is OUTSIDE_MAX_AGE, never served as fresh.
 */
export function statusOf(
  row: StoredRow | undefined,
  valueIndex: number,
  ttlMs: number,
  nowMs: number,
): StatusCode {
  if (row === undefined) return NOT_FOUND;
  if (row[valueIndex + 1] === null || row[valueIndex + 1] === undefined) return NULL_VALUE;
  if (ttlMs > 0 && nowMs - (row[0] as number) > ttlMs) return OUTSIDE_MAX_AGE;
  return PRESENT;
}

/** The worse of two statuses, for values derived from several inputs. */
export function worseStatus(a: StatusCode, b: StatusCode): StatusCode {
  if (a === NOT_FOUND || b === NOT_FOUND) return NOT_FOUND;
  if (a === NULL_VALUE || b === NULL_VALUE) return NULL_VALUE;
  return a === OUTSIDE_MAX_AGE || b === OUTSIDE_MAX_AGE ? OUTSIDE_MAX_AGE : PRESENT;
}
