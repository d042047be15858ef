import { describe, expect, it } from 'vitest';
import { Registry } from '../config/registry.ts';
import { validateConfig } from '../config/validate.ts';
import type { WriteRow } from '../stores/online-store.ts';
import { type BadRow, createRowCodec, isBadRow } from './row-codec.ts';

const registry = new Registry(
  validateConfig(
    {
      project: 'codec',
      entities: [
        { name: 'user', joinKeys: ['user_id'] },
        { name: 'merchant', joinKeys: ['merchant_id', 'country'] },
      ],
      featureViews: [
        {
          name: 'all_types',
          entities: ['user'],
          schema: {
            n: 'int64',
            f32: 'float32',
            f64: 'float64',
            flag: 'bool',
            label: 'string',
            emb: 'float32[]',
          },
        },
        { name: 'merchant_stats', entities: ['merchant'], schema: { txn_count: 'int64' } },
        { name: 'skewed', entities: ['user'], schema: { n: 'int64' }, maxFutureSeconds: 90 },
      ],
    },
    '',
  ),
);

const codec = createRowCodec(registry.featureView('all_types'), 'ts');

function good(out: WriteRow | BadRow): WriteRow {
  if (isBadRow(out)) throw new Error(`unexpected bad row: ${out.reason}`);
  return out;
}

function bad(out: WriteRow | BadRow): BadRow {
  if (!isBadRow(out)) throw new Error('expected a bad row');
  return out;
}

const base = { user_id: '1001', ts: '2024-05-01T00:00:00Z' };

describe('createRowCodec', () => {
  it('decodes CSV text of every type into schema order', () => {
    const row = good(
      codec.decode(
        { ...base, n: '42', f32: '0.1', f64: '0.1', flag: 'true', label: 'gold', emb: '[1, 2.5, -3]' },
        2,
      ),
    );
    expect(row).toEqual({
      key: '1001',
      eventTsMs: Date.parse('2024-05-01T00:00:00Z'),
      values: [42, 0.1, 0.1, true, 'gold', [1, 2.5, -3]],
    });
  });

  it('decodes typed values (Parquet, PostgreSQL, JSON)', () => {
    const ts = new Date('2024-05-01T00:00:00Z');
    const row = good(
      codec.decode(
        {
          user_id: 1001n,
          ts,
          n: 7n,
          f32: 1.5,
          f64: 2.25,
          flag: false,
          label: 'x',
          emb: new Float32Array([0.5, 1]),
        },
        1,
      ),
    );
    expect(row).toEqual({
      key: '1001',
      eventTsMs: ts.getTime(),
      values: [7, 1.5, 2.25, false, 'x', [0.5, 1]],
    });
  });

  it('maps absent and empty feature values to null', () => {
    const row = good(codec.decode({ ...base, n: '', f32: null }, 3));
    expect(row.values).toEqual([null, null, null, null, null, null]);
  });

  it('names the column, the expected type and the value got', () => {
    expect(bad(codec.decode({ ...base, f32: 'abc' }, 17))).toMatchObject({
      line: 17,
      column: 'f32',
      reason: 'column "f32": expected float32 (finite number), got string "abc"',
    });
    expect(bad(codec.decode({ ...base, n: '1.5' }, 2)).reason).toBe(
      'column "n": expected int64, got string "1.5"',
    );
    expect(bad(codec.decode({ ...base, flag: 'maybe' }, 2)).reason).toBe(
      'column "flag": expected bool, got string "maybe"',
    );
  });

  it('rejects NaN and infinities', () => {
    expect(bad(codec.decode({ ...base, f64: 'NaN' }, 2)).column).toBe('f64');
    expect(bad(codec.decode({ ...base, f64: Number.NaN }, 2)).reason).toBe(
      'column "f64": expected float64 (finite number), got NaN',
    );
    expect(bad(codec.decode({ ...base, f32: Infinity }, 2)).column).toBe('f32');
    expect(bad(codec.decode({ ...base, emb: '[1, null]' }, 2)).reason).toContain('element 1 is null');
    expect(bad(codec.decode({ ...base, emb: '[1, 2' }, 2)).reason).toContain('expected float32[]');
  });

  it('makes a row with a missing join key bad', () => {
    expect(bad(codec.decode({ ts: base.ts, n: '1' }, 5))).toMatchObject({
      line: 5,
      column: 'user_id',
      reason:
        'column "user_id": expected join key (a non-empty string (at most 1024 UTF-8 bytes) or a safe integer), got nothing',
    });
    expect(bad(codec.decode({ ...base, user_id: '' }, 5)).column).toBe('user_id');
    expect(bad(codec.decode({ ...base, user_id: 1.5 }, 5)).column).toBe('user_id');
    // Longer than any store can key (LMDB: 1,978 bytes): a bad row, not a failed write later.
    expect(bad(codec.decode({ ...base, user_id: 'é'.repeat(513) }, 5)).column).toBe('user_id');
    expect(good(codec.decode({ ...base, user_id: 'é'.repeat(512) }, 5)).key).toHaveLength(512);
  });

  it('makes a row with a missing or unparseable timestamp bad', () => {
    expect(bad(codec.decode({ user_id: '1' }, 9)).reason).toBe(
      'column "ts": expected timestamp (ISO-8601, epoch number or Date), got nothing',
    );
    expect(bad(codec.decode({ user_id: '1', ts: 'yesterday' }, 9)).reason).toContain(
      'got string "yesterday"',
    );
    expect(bad(codec.decode({ user_id: '1', ts: '' }, 9)).column).toBe('ts');
  });

  it('makes a row stamped more than 15 minutes in the future bad: it would win every later write', () => {
    const now = Date.UTC(2026, 0, 1);
    const at = createRowCodec(registry.featureView('all_types'), 'ts', { nowMs: now });
    expect(good(at.decode({ user_id: '1', ts: now + 14 * 60_000 }, 2)).eventTsMs).toBe(now + 14 * 60_000);
    expect(bad(at.decode({ user_id: '1', ts: '2099-01-01T00:00:00Z' }, 3))).toMatchObject({
      line: 3,
      column: 'ts',
      reason:
        'column "ts": expected an event time at most 15 minutes in the future (the view\'s maxFutureSeconds), got 2099-01-01T00:00:00.000Z',
    });
  });

  it("takes the limit from the view's maxFutureSeconds", () => {
    const now = Date.UTC(2026, 0, 1);
    const at = createRowCodec(registry.featureView('skewed'), 'ts', { nowMs: now });
    expect(good(at.decode({ user_id: '1', ts: now + 90_000 }, 2)).eventTsMs).toBe(now + 90_000);
    expect(bad(at.decode({ user_id: '1', ts: now + 91_000 }, 3)).reason).toContain(
      "expected an event time at most 90 s in the future (the view's maxFutureSeconds)",
    );
  });

  it('parses epoch seconds and milliseconds', () => {
    expect(good(codec.decode({ user_id: '1', ts: '1714521600' }, 2)).eventTsMs).toBe(1714521600000);
    expect(good(codec.decode({ user_id: '1', ts: 1714521600000 }, 2)).eventTsMs).toBe(1714521600000);
  });

  it('uses the fallback time only when the timestamp is absent', () => {
    const now = createRowCodec(registry.featureView('all_types'), 'ts', { fallbackTsMs: 123 });
    expect(good(now.decode({ user_id: '1' }, 0)).eventTsMs).toBe(123);
    expect(bad(now.decode({ user_id: '1', ts: null }, 0)).column).toBe('ts');
  });

  it('joins composite keys in join-key order', () => {
    const merchant = createRowCodec(registry.featureView('merchant_stats'), 'ts');
    const a = good(merchant.decode({ country: 'DE', merchant_id: 77, ts: base.ts, txn_count: '3' }, 2));
    const b = good(merchant.decode({ merchant_id: '77', country: 'DE', ts: base.ts, txn_count: 3 }, 3));
    expect(a.key).toBe('77\u001fDE');
    expect(b.key).toBe(a.key);
    expect(bad(merchant.decode({ merchant_id: 77, ts: base.ts }, 4)).column).toBe('country');
    // Parts each short enough, together too long.
    const long = bad(
      merchant.decode({ merchant_id: 'm'.repeat(600), country: 'c'.repeat(600), ts: base.ts }, 5),
    );
    expect(long).toMatchObject({ line: 5, column: 'merchant_id+country' });
    expect(long.reason).toContain('a key of 1201 bytes');
  });

  it('checks a header once: required columns vs. missing features', () => {
    expect(codec.checkColumns(['user_id', 'ts', 'n', 'f32', 'f64', 'flag', 'label', 'emb'])).toEqual({
      missingRequired: [],
      missingFeatures: [],
    });
    expect(codec.checkColumns(['n', 'label'])).toEqual({
      missingRequired: ['user_id', 'ts'],
      missingFeatures: ['f32', 'f64', 'flag', 'emb'],
    });
  });
});
