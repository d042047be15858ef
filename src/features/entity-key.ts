/**
 * Entity keys: how join-key values become the string key of an online-store record. A view keyed by
 * several join keys (a composite entity) joins their values with U+001F, in the view's join-key order.
 * Integers and their decimal strings map to the same key, so clients may send `1001` or `"1001"`.
 */

const SEPARATOR = '\u001f';

/** Returns the key part for one join-key value, or undefined when the value cannot be a key. */
export function keyPart(value: unknown): string | undefined {
  if (typeof value === 'string') return value.length > 0 && !value.includes(SEPARATOR) ? value : undefined;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : undefined;
  if (typeof value === 'bigint') return value.toString();
  return undefined;
}

/** Composite key from parts in join-key order. */
export function joinKeyParts(parts: readonly string[]): string {
  return parts.length === 1 ? parts[0]! : parts.join(SEPARATOR);
}
