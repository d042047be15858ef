import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../examples/fraud/generate.ts';
import { scanJson } from './json-scan.ts';

const scan = (text: string): unknown => scanJson(Buffer.from(text, 'utf8'));

/** JSON.parse's result, or undefined when it throws. */
function parsed(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Holds scanJson to JSON.parse for one text: declined, or the same value with keys in the same order. */
function expectAgreement(text: string): unknown {
  const scanned = scan(text);
  if (scanned === undefined) return undefined;
  const reference = parsed(text);
  expect(reference, `scanned a text JSON.parse refuses: ${text}`).not.toBeUndefined();
  expect(scanned).toEqual(reference); // values, -0 apart from 0
  expect(JSON.stringify(scanned)).toBe(JSON.stringify(reference)); // key order
  return scanned;
}

const PRINTABLE =
  ' !#$%&()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~';

/** Random JSON text (valid unless `mutate` breaks it), with the shapes requests use and some they don't. */
function randomJson(random: () => number, depth = 0): string {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const space = (): string => (random() < 0.2 ? pick([' ', '\n', '\t', '\r\n', '  ']) : '');
  const string = (): string => {
    const length = Math.floor(random() * 12);
    let text = '';
    for (let i = 0; i < length; i++) {
      const r = random();
      if (r < 0.02) text += pick(['\\"', '\\\\', '\\n', '\\u00e9', '\\/']);
      else if (r < 0.03) text += pick(['é', '€', '😀']);
      else text += pick([...PRINTABLE]);
    }
    return `"${text}"`;
  };
  const number = (): string =>
    pick([
      () => String(Math.floor(random() * 1e6) - 5e5),
      () => String((random() - 0.5) * 10 ** Math.floor(random() * 30 - 10)),
      () => `${pick(['', '-'])}${Math.floor(random() * 100)}.${Math.floor(random() * 1000)}`,
      () =>
        `${pick(['', '-'])}${Math.floor(random() * 10)}${pick(['e', 'E'])}${pick(['', '+', '-'])}${Math.floor(random() * 400)}`,
      () =>
        pick(['0', '-0', '0.0', '-0.0e-0', '9007199254740993', '1e400', '123456789012345678901234567890']),
    ])();
  const r = random();
  if (depth >= 4 || r < 0.45) {
    return pick([string, number, () => pick(['true', 'false', 'null'])])();
  }
  if (r < 0.7) {
    const n = Math.floor(random() * 5);
    const items = Array.from({ length: n }, () => space() + randomJson(random, depth + 1) + space());
    return `[${items.join(',')}]`;
  }
  const keys = ['feature_service', 'features', 'entities', 'user_id', 'full_feature_names', 'a', '0', '10'];
  const n = Math.floor(random() * 5);
  const members = Array.from(
    { length: n },
    () =>
      `${space()}${random() < 0.8 ? `"${pick(keys)}"` : string()}${space()}:${space()}${randomJson(random, depth + 1)}${space()}`,
  );
  return `{${members.join(',')}}`;
}

describe('scanJson', () => {
  it('reads request bodies as JSON.parse does', () => {
    const bodies = [
      '{"feature_service":"fraud_v1","entities":{"user_id":["1"]}}',
      '{ "features": ["user_stats:txn_count_1h", "user_stats:avg_amount_7d"],\n  "entities": { "user_id": ["1", "2"] },\n  "full_feature_names": true }',
      '{"entities":{"user_id":[1,-2,3.5,-0,1e3,2E-2,null]},"features":[]}',
      '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[0.1,0.2,0.3]}],"id":"r1"}',
      '{}',
      '[]',
      '"text"',
      '  42  ',
      'true',
      'null',
    ];
    for (const body of bodies) expect(expectAgreement(body), body).toBeDefined();
    expect(scan('{"entities":{"user_id":["100001"]}}')).toEqual({ entities: { user_id: ['100001'] } });
  });

  it('keeps the last of duplicate keys at the first one’s place, as JSON.parse does', () => {
    const value = expectAgreement('{"a":1,"b":2,"a":3}');
    expect(Object.keys(value as object)).toEqual(['a', 'b']);
    expect(value).toEqual({ a: 3, b: 2 });
    expect(expectAgreement('{"b":1,"10":2,"2":3}')).toBeDefined(); // integer keys first, both ways
  });

  it('declines what is outside its subset, so JSON.parse reads it', () => {
    for (const text of [
      '{"name":"caf\u00e9"}', // non-ASCII bytes
      '{"name":"a\\"b"}', // an escape
      '{"name":"\\u0041"}',
      '{"__proto__":{"admin":true}}', // would set the prototype if assigned
      `${'['.repeat(17)}${']'.repeat(17)}`, // deeper than 16
      '{"x":123.45600128173828}', // 17 digits: past 2^53
      '[9007199254740993]',
      '[1e23]', // a power of ten past 10^22
      '[1e400]',
    ]) {
      expect(scan(text), text).toBeUndefined();
      expect(parsed(text), text).toBeDefined();
    }
  });

  it('declines every text JSON.parse refuses, so its error is what the client sees', () => {
    for (const text of [
      '',
      ' ',
      '{',
      '{"a":1,}',
      '[1,]',
      '[1 2]',
      '{"a" 1}',
      "{'a':1}",
      '{a:1}',
      '01',
      '-',
      '1.',
      '.5',
      '1e',
      '1e+',
      '+1',
      '--1',
      'tru',
      'nul',
      'truex',
      '{"a":1}x',
      '"unterminated',
      '"tab\tinside"',
      'NaN',
      'Infinity',
      '[1]]',
    ]) {
      expect(parsed(text), text).toBeUndefined();
      expect(scan(text), text).toBeUndefined();
    }
  });

  it('agrees with JSON.parse on 20,000 random texts and on one-byte mutations of each', () => {
    const random = seededRandom(2026);
    let scanned = 0;
    for (let i = 0; i < 20_000; i++) {
      const text = randomJson(random);
      if (expectAgreement(text) !== undefined) scanned++;
      // A mutation: a byte dropped, doubled or replaced by a JSON-significant one.
      const at = Math.floor(random() * text.length);
      const op = random();
      const mutated =
        op < 0.33
          ? text.slice(0, at) + text.slice(at + 1)
          : op < 0.66
            ? text.slice(0, at) + text[at] + text.slice(at)
            : text.slice(0, at) + '{}[],:"-.e0 '[Math.floor(random() * 12)] + text.slice(at + 1);
      expectAgreement(mutated);
    }
    // Most generated texts are in the subset: the property above is not met by declining everything.
    expect(scanned).toBeGreaterThan(10_000);
  });

  it('reads keys right past its key cache’s limit, and tells apart keys of the same length', () => {
    const members = Array.from({ length: 400 }, (_, i) => `"k${String(i).padStart(4, '0')}":${i}`);
    const text = `{${members.join(',')}}`;
    expectAgreement(text);
    expectAgreement(text); // the second time from the cache, for the keys it kept
    expect(expectAgreement('{"ab":1,"ba":2,"aa":3}')).toEqual({ ab: 1, ba: 2, aa: 3 });
    const long = `{"${'x'.repeat(100)}":1,"${'x'.repeat(99)}y":2}`;
    expect(Object.keys(expectAgreement(long) as object)).toEqual(['x'.repeat(100), `${'x'.repeat(99)}y`]);
  });
});
