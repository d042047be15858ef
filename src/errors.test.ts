import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, QuiverError, formatMessage, quiverError, type ErrorCode } from './errors.ts';
import { STATUS_BY_KIND } from './http/error-handler.ts';

const docs = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...docs.matchAll(/^\| `(QUIVER_ERR_\w+)` \| (\d{3}) \| (\w+) \|/gm)].map((m) => [
    m[1]!,
    { status: Number(m[2]), kind: m[3]! },
  ]),
);

describe('error catalogue', () => {
  it('documents every code with its status and kind, and nothing else', () => {
    expect([...documented.keys()].sort()).toEqual(Object.keys(ERROR_CATALOGUE).sort());
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(documented.get(code), code).toEqual({ status: STATUS_BY_KIND[entry.kind], kind: entry.kind });
    }
  });

  it('gives every code the QUIVER_ERR_ prefix and a status for every kind', () => {
    for (const [code, entry] of Object.entries(ERROR_CATALOGUE)) {
      expect(code).toMatch(/^QUIVER_ERR_[A-Z_]+$/);
      expect(STATUS_BY_KIND[entry.kind]).toBeGreaterThanOrEqual(400);
    }
  });

  it('fills message templates and keeps unknown placeholders visible', () => {
    expect(formatMessage('view "{view}" at {n}', { view: 'user_stats', n: 3 })).toBe(
      'view "user_stats" at 3',
    );
    expect(formatMessage('missing {other}', {})).toBe('missing {other}');
  });

  it('builds typed errors carrying code, kind, details and retry hint', () => {
    const err = quiverError(
      'QUIVER_ERR_QUEUE_FULL',
      { model: 'm', priority: 1, maxQueueSize: 8 },
      { details: { a: 1 }, retryAfterS: 2 },
    );
    expect(err).toBeInstanceOf(QuiverError);
    expect(err.code satisfies ErrorCode).toBe('QUIVER_ERR_QUEUE_FULL');
    expect(err.kind).toBe('unavailable');
    expect(err.message).toBe('Queue for model "m" priority 1 is full (8); retry later');
    expect(err.details).toEqual({ a: 1 });
    expect(err.retryAfterS).toBe(2);
  });
});
