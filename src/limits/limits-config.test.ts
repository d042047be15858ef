/** What validateConfig checks and fills in for `auth` and `rateLimits`. */
import { describe, expect, it } from 'vitest';
import { isQuiverError } from '../errors.ts';
import { validateConfig } from '../config/validate.ts';

const HASH = 'ab'.repeat(32);

function base(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    project: 'p',
    entities: [{ name: 'user', joinKeys: ['user_id'] }],
    featureViews: [{ name: 'v', entities: ['user'], schema: { x: 'int64' } }],
    ...extra,
  };
}

function issuesOf(raw: unknown): string[] {
  try {
    validateConfig(raw, '');
  } catch (err) {
    if (isQuiverError(err)) return (err.details as { issues: string[] }).issues;
    throw err;
  }
  throw new Error('expected validateConfig to throw');
}

describe('rateLimits in the config', () => {
  it('defaults store to memory and its Redis to the online store on Redis, else the local Redis', () => {
    const rule = { key: 'apiKey', tokensPerSecond: 10, burst: 20 };
    expect(validateConfig(base({ rateLimits: [rule] }), '').rateLimits).toEqual([
      { ...rule, store: 'memory', redis: { url: 'redis://127.0.0.1:6379' } },
    ]);
    const onRedis = base({
      onlineStore: { type: 'redis', url: 'redis://cache:6380' },
      rateLimits: [{ ...rule, store: 'redis' }],
    });
    expect(validateConfig(onRedis, '').rateLimits[0]!.redis).toEqual({ url: 'redis://cache:6380' });
    const explicit = base({ rateLimits: [{ ...rule, store: 'redis', redisUrl: 'redis://limits:6379' }] });
    expect(validateConfig(explicit, '').rateLimits[0]!.redis).toEqual({ url: 'redis://limits:6379' });
    const cluster = base({ rateLimits: [{ ...rule, store: 'redis', redisCluster: ['redis://rl:7000'] }] });
    expect(validateConfig(cluster, '').rateLimits[0]!.redis).toEqual({ cluster: ['redis://rl:7000'] });
  });

  it('reports every bad field', () => {
    expect(
      issuesOf(
        base({
          rateLimits: [
            { key: 'user', tokensPerSecond: Infinity, burst: 0 },
            { key: 'ip', tokensPerSecond: 1, store: 'disk', redisUrl: 42 },
          ],
        }),
      ),
    ).toEqual([
      'expected "apiKey" or "ip", got string "user" at rateLimits[0].key',
      'expected a positive number, got number Infinity at rateLimits[0].tokensPerSecond',
      'expected an integer in [1, ∞], got number 0 at rateLimits[0].burst',
      'expected an integer in [1, ∞], got nothing at rateLimits[1].burst',
      'expected "memory" or "redis", got string "disk" at rateLimits[1].store',
      'expected a non-empty string, got number 42 at rateLimits[1].redisUrl',
    ]);
  });
});

describe('auth.apiKeys in the config', () => {
  it('refuses duplicate ids, the same key twice and a key without scopes', () => {
    expect(
      issuesOf(
        base({
          auth: {
            apiKeys: [
              { id: 'a', keySha256: HASH, scopes: ['predict'] },
              { id: 'a', keySha256: 'cd'.repeat(32), scopes: ['predict'] },
              { id: 'b', keySha256: HASH.toUpperCase(), scopes: [] },
            ],
          },
        }),
      ),
    ).toEqual([
      'duplicate API key id "a" at auth.apiKeys[1]',
      'the same key (keySha256) is configured twice at auth.apiKeys[2]',
      'expected at least one of features:read, features:write, predict, admin, got array of 0 at auth.apiKeys[2].scopes',
    ]);
  });

  it('never echoes a keySha256 that is not a hash (it may be a key pasted by mistake)', () => {
    const pasted = 'qk_a-real-key-pasted-in-the-wrong-field';
    const issues = issuesOf(
      base({ auth: { apiKeys: [{ id: 'a', keySha256: pasted, scopes: ['predict'] }] } }),
    );
    expect(issues).toEqual([
      'expected a 64-hex-digit SHA-256 of the key (not the key), got a 39-character string at auth.apiKeys[0].keySha256',
    ]);
  });
});
