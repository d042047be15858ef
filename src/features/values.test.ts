import { describe, expect, it } from 'vitest';
import { coerceValue, float32Value, parseTimestampMs } from './values.ts';

describe('coerceValue', () => {
  it('parses text and accepts typed values for every type', () => {
    expect(coerceValue('int64', '42')).toEqual({ ok: true, value: 42 });
    expect(coerceValue('int64', 7n)).toEqual({ ok: true, value: 7 });
    expect(coerceValue('float64', ' 2.5 ')).toEqual({ ok: true, value: 2.5 });
    expect(coerceValue('float32', '34.97')).toEqual({ ok: true, value: 34.97 });
    expect(coerceValue('bool', 'TRUE')).toEqual({ ok: true, value: true });
    expect(coerceValue('bool', 0)).toEqual({ ok: true, value: false });
    expect(coerceValue('string', 12)).toEqual({ ok: true, value: '12' });
    expect(coerceValue('float32[]', '[1, 0.5]')).toEqual({ ok: true, value: [1, 0.5] });
    expect(coerceValue('float32[]', new Float32Array([0.25]))).toEqual({ ok: true, value: [0.25] });
  });

  it('maps empty text, null and undefined to null (served as NULL_VALUE)', () => {
    for (const type of ['int64', 'float32', 'string', 'bool'] as const) {
      expect(coerceValue(type, '')).toEqual({ ok: true, value: null });
      expect(coerceValue(type, null)).toEqual({ ok: true, value: null });
    }
  });

  it('rejects NaN, infinities, float32 overflow, fractional and unsafe integers, with what was got', () => {
    expect(coerceValue('float64', 'NaN')).toMatchObject({ ok: false, actual: 'string "NaN"' });
    expect(coerceValue('float64', Infinity)).toMatchObject({ ok: false });
    expect(coerceValue('float32', 1e39)).toMatchObject({ ok: false, expected: 'float32 (finite number)' });
    expect(coerceValue('int64', 1.5)).toMatchObject({ ok: false, expected: 'int64' });
    // Beyond ±2^53 the message says why the value shown differs from the one sent (JSON rounding).
    const range =
      'int64 within ±9007199254740991 (±2^53: integers beyond it lose their last digits as JSON numbers)';
    expect(coerceValue('int64', 2 ** 60)).toEqual({
      ok: false,
      expected: range,
      actual: 'number 1152921504606847000',
    });
    expect(coerceValue('int64', JSON.parse('9007199254740993') as number)).toMatchObject({ expected: range });
    expect(coerceValue('int64', 2n ** 62n)).toMatchObject({ ok: false, expected: range });
    expect(coerceValue('int64', Number.MAX_SAFE_INTEGER)).toEqual({
      ok: true,
      value: Number.MAX_SAFE_INTEGER,
    });
    expect(coerceValue('bool', 'yes')).toMatchObject({ ok: false, expected: 'bool' });
    expect(coerceValue('float32[]', [1, 'x'])).toMatchObject({ ok: false });
  });

  it('reads decimal text only: hex, binary and octal literals are not numbers in data', () => {
    expect(coerceValue('int64', '0x10')).toMatchObject({ ok: false, actual: 'string "0x10"' });
    expect(coerceValue('int64', '0b11')).toMatchObject({ ok: false });
    expect(coerceValue('float64', '0o7')).toMatchObject({ ok: false });
    expect(coerceValue('float64', '1 2')).toMatchObject({ ok: false });
    expect(coerceValue('float64', '-.5e-3')).toEqual({ ok: true, value: -0.0005 });
    expect(coerceValue('float64', '+7.')).toEqual({ ok: true, value: 7 });
    expect(coerceValue('int64', '1e3')).toEqual({ ok: true, value: 1000 });
  });
});

describe('parseTimestampMs', () => {
  it('reads ISO strings, Dates, and epochs of any unit by magnitude', () => {
    const ms = Date.UTC(2024, 4, 1, 12);
    expect(parseTimestampMs('2024-05-01T12:00:00Z')).toBe(ms);
    expect(parseTimestampMs(new Date(ms))).toBe(ms);
    expect(parseTimestampMs(ms / 1000)).toBe(ms);
    expect(parseTimestampMs(ms)).toBe(ms);
    expect(parseTimestampMs(BigInt(ms) * 1000n)).toBe(ms);
    expect(parseTimestampMs(String(ms * 1e6))).toBe(ms);
    expect(parseTimestampMs('nonsense')).toBeNaN();
  });
});

describe('float32Value', () => {
  it('keeps short decimals as given: they name their float32 exactly', () => {
    for (const [n, text] of [
      [34.97, '34.97'],
      [0.1, undefined],
      [-1.5e-7, '-1.5e-7'],
      [123456, '123456'],
    ] as const) {
      const v = float32Value(n, text);
      expect(v).toBe(n);
      expect(Math.fround(v)).toBe(Math.fround(n));
    }
  });

  it('rounds long decimals to the shortest decimal of the same float32', () => {
    expect(float32Value(0.123456789)).toBe(0.12345679);
    expect(float32Value(Math.fround(34.97))).toBe(34.97);
    expect(float32Value(16777217)).toBe(16777216);
  });

  it('agrees with Math.fround on random values, and never prints longer than 9 digits', () => {
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    for (let i = 0; i < 20_000; i++) {
      const n = (random() - 0.5) * 10 ** Math.floor(random() * 20 - 10);
      const v = float32Value(n);
      expect(Math.fround(v)).toBe(Math.fround(n));
      expect(String(v).replace(/^-?0\.0*|[-.]|e.*$/g, '').length).toBeLessThanOrEqual(9);
    }
  });
});
