import { describe, expect, it } from 'vitest';
import { sha256Hex } from './api-keys.ts';
import { resolveApiKeyAuth } from './auth-config.ts';

const config = (auth: object) => ({ auth, configPath: '/repo/quiver.config.ts' });
const h = (key: string): string => sha256Hex(key);

describe('resolveApiKeyAuth', () => {
  it('is off only when the config says enabled: false (keys from env are then ignored)', () => {
    expect(resolveApiKeyAuth(config({ enabled: false }), {})).toBeUndefined();
    expect(
      resolveApiKeyAuth(config({ enabled: false }), { QUIVER_API_KEYS: `a:${h('k')}:predict` }),
    ).toBeUndefined();
  });

  it('is on by default: without any key, startup fails with a config error saying what to do', () => {
    for (const auth of [{}, { enabled: true }, { apiKeys: [] }]) {
      expect(() => resolveApiKeyAuth(config(auth), {})).toThrow(
        expect.objectContaining({
          code: 'QUIVER_ERR_CONFIG_INVALID',
          kind: 'config',
          message: expect.stringMatching(
            /^Invalid config \/repo\/quiver\.config\.ts: auth is on \(as it is unless the config says `auth: \{ enabled: false \}`\) but no API key is configured\..*quiver keygen.*sha256sum.*QUIVER_API_KEYS.*auth: \{ enabled: false \}/s,
          ),
        }),
      );
    }
  });

  it('merges config keys with QUIVER_API_KEYS', () => {
    const auth = resolveApiKeyAuth(
      config({ apiKeys: [{ id: 'cfg', keySha256: h('k1'), scopes: ['predict'] }] }),
      { QUIVER_API_KEYS: `env:${h('k2')}:features:read+features:write` },
    )!;
    expect(auth.size).toBe(2);
    expect(auth.authenticate('k1')).toEqual({ keyId: 'cfg', scopes: ['predict'] });
    expect(auth.authenticate('k2')).toEqual({ keyId: 'env', scopes: ['features:read', 'features:write'] });
  });

  it('works with env keys alone', () => {
    const auth = resolveApiKeyAuth(config({}), { QUIVER_API_KEYS: `env:${h('k2')}:admin` })!;
    expect(auth.authenticate('k2')?.keyId).toBe('env');
  });

  it('fails on a malformed QUIVER_API_KEYS or an id or key configured in both places', () => {
    const cfg = config({ apiKeys: [{ id: 'dup', keySha256: h('k1'), scopes: ['predict'] }] });
    expect(() => resolveApiKeyAuth(cfg, { QUIVER_API_KEYS: 'nonsense' })).toThrow(/QUIVER_API_KEYS\[0\]/);
    expect(() => resolveApiKeyAuth(cfg, { QUIVER_API_KEYS: `dup:${h('k2')}:admin` })).toThrow(
      /API key id "dup" is configured twice/,
    );
    expect(() => resolveApiKeyAuth(cfg, { QUIVER_API_KEYS: `other:${h('k1')}:admin` })).toThrow(
      /the same key is configured twice/,
    );
  });
});
