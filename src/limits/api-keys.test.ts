import { createHash } from 'node:crypto';
import type * as NodeCrypto from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';

// Spy on the digest comparison (a dependency, not the code under test) to see which path a key takes.
const compared = vi.hoisted(() => ({ calls: [] as [Buffer, Buffer][] }));
vi.mock('node:crypto', async (importOriginal) => {
  const crypto = await importOriginal<typeof NodeCrypto>();
  return {
    ...crypto,
    timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
      compared.calls.push([Buffer.from(a as Buffer), Buffer.from(b as Buffer)]);
      return crypto.timingSafeEqual(a, b);
    },
  };
});

const { ApiKeyAuth, hasScope, parseApiKeysEnv, sha256Hex } = await import('./api-keys.ts');

const KEY_A = 'qk_alpha-secret';
const KEY_B = 'qk_bravo-secret';
const hashOf = (key: string): string => createHash('sha256').update(key).digest('hex');

function auth() {
  return new ApiKeyAuth([
    { id: 'svc-a', keySha256: hashOf(KEY_A), scopes: ['features:read', 'predict'] },
    // Upper-case hex is accepted as configured.
    { id: 'ops', keySha256: hashOf(KEY_B).toUpperCase(), scopes: ['admin'] },
  ]);
}

describe('ApiKeyAuth', () => {
  it('hashes like `printf %s "$KEY" | sha256sum`', () => {
    expect(sha256Hex('test')).toBe('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08');
  });

  it('authenticates a configured key to its id and scopes, confirmed by a timing-safe digest comparison', () => {
    compared.calls.length = 0;
    const principal = auth().authenticate(KEY_A);
    expect(principal).toEqual({ keyId: 'svc-a', scopes: ['features:read', 'predict'] });
    expect(compared.calls).toHaveLength(1);
    const [presented, stored] = compared.calls[0]!;
    expect(presented.toString('hex')).toBe(hashOf(KEY_A));
    expect(stored.toString('hex')).toBe(hashOf(KEY_A));
    expect(auth().authenticate(KEY_B)).toEqual({ keyId: 'ops', scopes: ['admin'] });
  });

  it('refuses unknown, wrong and near-miss keys without comparing against any configured digest', () => {
    const a = auth();
    compared.calls.length = 0;
    for (const key of [
      '',
      'qk_unknown',
      KEY_A.slice(0, -1),
      `${KEY_A} `,
      KEY_A.toUpperCase(),
      hashOf(KEY_A),
    ]) {
      expect(a.authenticate(key)).toBeUndefined();
    }
    // The lookup is by the presented key's digest: a miss never reaches a comparison.
    expect(compared.calls).toHaveLength(0);
  });

  it('does not accept the configured hash itself as a key', () => {
    expect(auth().authenticate(hashOf(KEY_A))).toBeUndefined();
  });

  it('checks scopes', () => {
    const principal = auth().authenticate(KEY_A)!;
    expect(hasScope(principal, 'predict')).toBe(true);
    expect(hasScope(principal, 'admin')).toBe(false);
  });

  it('rejects a key table with the same key twice or a malformed hash', () => {
    const h = hashOf(KEY_A);
    expect(
      () =>
        new ApiKeyAuth([
          { id: 'a', keySha256: h, scopes: ['predict'] },
          { id: 'b', keySha256: h.toUpperCase(), scopes: ['admin'] },
        ]),
    ).toThrow(/configured twice/);
    expect(() => new ApiKeyAuth([{ id: 'a', keySha256: 'abc', scopes: ['predict'] }])).toThrow(/malformed/);
  });
});

describe('parseApiKeysEnv (QUIVER_API_KEYS)', () => {
  const h1 = hashOf('one');
  const h2 = hashOf('two');

  it('parses id:sha256hex:scope1+scope2 entries separated by commas, tolerating spaces and empties', () => {
    expect(parseApiKeysEnv(` svc-a:${h1}:features:read+predict , ,ops:${h2.toUpperCase()}:admin,`)).toEqual({
      keys: [
        { id: 'svc-a', keySha256: h1, scopes: ['features:read', 'predict'] },
        { id: 'ops', keySha256: h2, scopes: ['admin'] },
      ],
      issues: [],
    });
    expect(parseApiKeysEnv('')).toEqual({ keys: [], issues: [] });
  });

  it('reports malformed entries by position, never echoing a value that could be a key', () => {
    const pastedKey = 'qk_this-is-a-real-key-pasted-by-mistake';
    const { keys, issues } = parseApiKeysEnv(
      [`svc:${pastedKey}:predict`, pastedKey, `x:${h1}:predict+root`, `ok:${h2}:predict`].join(','),
    );
    expect(keys).toEqual([{ id: 'ok', keySha256: h2, scopes: ['predict'] }]);
    expect(issues).toEqual([
      'expected a 64-hex-digit SHA-256 of the key (not the key itself) at QUIVER_API_KEYS[0] (id "svc")',
      'expected "id:sha256hex:scope1+scope2" at QUIVER_API_KEYS[1]',
      'expected scopes among features:read, features:write, predict, admin joined by "+", got "root" at QUIVER_API_KEYS[2]',
    ]);
    expect(issues.join('\n')).not.toContain(pastedKey);
  });
});
