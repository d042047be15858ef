import { describe, expect, it } from 'vitest';
import { parseApiKeysEnv, sha256Hex } from '../../limits/api-keys.ts';
import { resolveApiKeyAuth } from '../../limits/auth-config.ts';
import { buildProgram } from '../index.ts';
import { generateApiKey, parseScopes } from './keygen.ts';

describe('quiver keygen', () => {
  it('makes a 256-bit random key whose config line and env entry authenticate it', () => {
    const k = generateApiKey('svc-a', ['features:read', 'predict']);
    expect(k.key).toMatch(/^qk_[A-Za-z0-9_-]{43}$/);
    expect(generateApiKey('svc-a', ['predict']).key).not.toBe(k.key);
    expect(k.keySha256).toBe(sha256Hex(k.key));
    expect(k.configLine).toBe(
      `{ id: 'svc-a', keySha256: '${k.keySha256}', scopes: ['features:read', 'predict'] },`,
    );
    expect(parseApiKeysEnv(k.envEntry).keys).toEqual([
      { id: 'svc-a', keySha256: k.keySha256, scopes: ['features:read', 'predict'] },
    ]);
    const auth = resolveApiKeyAuth({ auth: {}, configPath: '' }, { QUIVER_API_KEYS: k.envEntry })!;
    expect(auth.authenticate(k.key)).toEqual({ keyId: 'svc-a', scopes: ['features:read', 'predict'] });
  });

  it('parses --scopes and refuses unknown ones as a usage error', () => {
    expect(parseScopes('predict, admin,predict')).toEqual(['predict', 'admin']);
    expect(() => parseScopes('predict,root')).toThrow(expect.objectContaining({ kind: 'config' }));
    expect(() => parseScopes('')).toThrow(expect.objectContaining({ kind: 'config' }));
  });

  it('is a registered command', () => {
    expect(buildProgram().commands.map((c) => c.name())).toContain('keygen');
  });
});
