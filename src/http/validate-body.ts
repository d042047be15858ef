/** Small guards for request bodies, each failing with a message that names the field. */
import { quiverError } from '../errors.ts';

export type Body = Record<string, unknown>;

export function requireObject(body: unknown, what = 'the request body'): Body {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: `${what} must be a JSON object` });
  }
  return body as Body;
}

export function optionalBoolean(body: Body, field: string): boolean {
  const value = body[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', { reason: `"${field}" must be true or false` });
  }
  return value;
}

export function stringArray(body: Body, field: string): string[] {
  const value = body[field];
  if (!Array.isArray(value) || value.length === 0 || !value.every((v) => typeof v === 'string')) {
    throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
      reason: `"${field}" must be a non-empty array of strings`,
    });
  }
  return value as string[];
}
