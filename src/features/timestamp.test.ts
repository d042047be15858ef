import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../examples/fraud/generate.ts';
import { formatTimestamp, QUOTED_TIMESTAMP_BYTES, writeQuotedTimestamp } from './timestamp.ts';

/** The reference: toISOString without a zero fractional part. */
const reference = (ms: number): string => {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, -5)}Z` : iso;
};

describe('formatTimestamp', () => {
  it('prints epoch and whole seconds without a fraction, as Feast does', () => {
    expect(formatTimestamp(0)).toBe('1970-01-01T00:00:00Z');
    expect(formatTimestamp(Date.UTC(2021, 11, 31, 23))).toBe('2021-12-31T23:00:00Z');
    expect(formatTimestamp(Date.UTC(2024, 1, 29, 12, 30, 5, 7))).toBe('2024-02-29T12:30:05.007Z');
  });

  it('agrees with Date#toISOString on leap days, century edges, pre-epoch and random instants', () => {
    const edges = [
      Date.UTC(2000, 1, 29),
      Date.UTC(1900, 2, 1) - 1,
      Date.UTC(2100, 1, 28, 23, 59, 59, 999),
      -1,
      -86_400_001,
      Date.UTC(1, 0, 1),
      Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    ];
    const random = seededRandom(3);
    const samples = Array.from({ length: 20_000 }, () => Math.floor((random() - 0.3) * 6e12));
    for (const ms of [...edges, ...samples]) expect(formatTimestamp(ms), String(ms)).toBe(reference(ms));
  });

  it('writes the same text as bytes, quoted, at any offset, touching nothing around it', () => {
    const random = seededRandom(5);
    const samples = [0, -1, Date.UTC(2000, 1, 29, 1, 2, 3, 450), Date.UTC(9, 0, 1, 0, 0, 0, 5)];
    for (let i = 0; i < 20_000; i++) samples.push(Math.floor((random() - 0.3) * 6e12));
    const buf = Buffer.alloc(QUOTED_TIMESTAMP_BYTES + 10, 0x78);
    for (const ms of samples) {
      buf.fill(0x78);
      const end = writeQuotedTimestamp(buf, 3, ms);
      const expected = `"${reference(ms)}"`;
      expect(buf.toString('latin1', 3, end), String(ms)).toBe(expected);
      expect(buf.toString('latin1', 0, 3) + buf.toString('latin1', end)).toBe(
        'x'.repeat(buf.length - expected.length),
      );
    }
  });

  it('writes nothing and answers -1 outside years 0-9999', () => {
    const buf = Buffer.alloc(QUOTED_TIMESTAMP_BYTES, 0x78);
    expect(writeQuotedTimestamp(buf, 0, Date.UTC(12000, 0, 1))).toBe(-1);
    expect(buf.toString('latin1')).toBe('x'.repeat(QUOTED_TIMESTAMP_BYTES));
  });

  it('falls back to the extended format outside years 0-9999', () => {
    const far = Date.UTC(12000, 0, 1);
    expect(formatTimestamp(far)).toBe(new Date(far).toISOString());
  });
});
