import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../examples/fraud/generate.ts';
import { joinKeyParts, keyPart, MAX_KEY_BYTES } from './entity-key.ts';

describe('keyPart', () => {
  it('maps an integer to its decimal string, as String() does, at every digit count', () => {
    const random = seededRandom(3);
    const values = [
      0,
      -0,
      9,
      10,
      99,
      100,
      1e7 - 1,
      1e7,
      1e8 - 1,
      1e8,
      1e8 + 1,
      -1,
      -1e8,
      2 ** 31,
      -(2 ** 31),
    ];
    values.push(Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER);
    for (let i = 0; i < 200_000; i++) {
      const digits = 1 + Math.floor(random() * 16);
      values.push(Math.floor(random() * 10 ** digits) * (random() < 0.1 ? -1 : 1));
    }
    for (let n = 0; n < 20_000; n++) values.push(n);
    for (const v of values) {
      if (!Number.isSafeInteger(v)) continue;
      if (keyPart(v) !== String(v)) expect(keyPart(v), String(v)).toBe(String(v));
    }
  });

  it('makes integers and their decimal strings the same key', () => {
    expect(keyPart(1001)).toBe(keyPart('1001'));
  });

  it('refuses what cannot be a key', () => {
    for (const bad of [
      1.5,
      NaN,
      Infinity,
      2 ** 53,
      '',
      'a\u001fb',
      'x'.repeat(MAX_KEY_BYTES + 1),
      null,
      true,
      {},
    ]) {
      expect(keyPart(bad), String(bad)).toBeUndefined();
    }
    expect(keyPart(12n)).toBe('12');
  });

  it('joins composite parts with U+001F and refuses an over-long whole', () => {
    expect(joinKeyParts(['a', 'b'])).toBe('a\u001fb');
    expect(joinKeyParts(['x'.repeat(600), 'y'.repeat(600)])).toBeUndefined();
  });
});
