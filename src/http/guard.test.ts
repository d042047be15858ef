import { describe, expect, it } from 'vitest';
import { ApiKeyAuth, sha256Hex } from '../limits/api-keys.ts';
import { MemoryRateLimiter } from '../limits/memory/token-bucket.ts';
import { Guard, ipSubject, presentedKey } from './guard.ts';

class Headers {
  readonly set = new Map<string, string>();
  setHeader(name: string, value: string): void {
    this.set.set(name.toLowerCase(), value);
  }
}

const KEY = 'qk_guard-test-key';
const auth = () => new ApiKeyAuth([{ id: 'svc', keySha256: sha256Hex(KEY), scopes: ['features:read'] }]);

describe('presentedKey', () => {
  it('reads x-api-key first, else Authorization: Bearer (any case, extra spaces)', () => {
    expect(presentedKey({ 'x-api-key': 'k1', authorization: 'Bearer k2' })).toBe('k1');
    expect(presentedKey({ authorization: 'Bearer k2' })).toBe('k2');
    expect(presentedKey({ authorization: 'bearer   k2 ' })).toBe('k2');
    expect(presentedKey({ authorization: 'Basic a2V5Og==' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer ' })).toBeUndefined();
    expect(presentedKey({ 'x-api-key': '' })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });
});

describe('ipSubject', () => {
  it('keeps IPv4 (also IPv4-mapped) and groups IPv6 by /64', () => {
    expect(ipSubject('10.1.2.3')).toBe('10.1.2.3');
    expect(ipSubject('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(ipSubject('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(ipSubject('2001:0db8:0000:0001:ffff:ffff:ffff:ffff')).toBe('2001:db8:0:1::/64');
    expect(ipSubject('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(ipSubject('::1')).toBe('0:0:0:0::/64');
    expect(ipSubject('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(ipSubject(undefined)).toBe('unknown');
  });
});

describe('Guard', () => {
  it('is inactive with auth off and no limits', () => {
    expect(new Guard({ auth: undefined, rateLimits: [] }).active).toBe(false);
    expect(new Guard({ auth: auth(), rateLimits: [] }).active).toBe(true);
  });

  it('answers synchronously with auth and memory limits, writing the RateLimit headers', () => {
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 1, burst: 2 });
    const guard = new Guard({ auth: auth(), rateLimits: [{ key: 'apiKey', limiter }] });
    const res = new Headers();
    expect(guard.check('features:read', { 'x-api-key': KEY }, '10.0.0.1', res)).toBeUndefined();
    expect(Object.fromEntries(res.set)).toEqual({
      'ratelimit-limit': '2',
      'ratelimit-remaining': '1',
      'ratelimit-reset': '1',
    });
  });

  it('throws 401 (with WWW-Authenticate), 403 and 429 as catalogue errors', () => {
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 0.001, burst: 1 });
    const guard = new Guard({ auth: auth(), rateLimits: [{ key: 'apiKey', limiter }] });
    const res = new Headers();
    expect(() => guard.check('features:read', {}, '10.0.0.1', res)).toThrow(
      expect.objectContaining({ code: 'QUIVER_ERR_UNAUTHENTICATED', details: { reason: 'missing_key' } }),
    );
    expect(res.set.get('www-authenticate')).toBe('Bearer realm="quiver"');
    expect(() => guard.check('features:read', { 'x-api-key': 'nope' }, '10.0.0.1', res)).toThrow(
      expect.objectContaining({ code: 'QUIVER_ERR_UNAUTHENTICATED', details: { reason: 'invalid_key' } }),
    );
    expect(() => guard.check('admin', { 'x-api-key': KEY }, '10.0.0.1', res)).toThrow(
      expect.objectContaining({ code: 'QUIVER_ERR_FORBIDDEN', details: { keyId: 'svc', scope: 'admin' } }),
    );
    guard.check('features:read', { 'x-api-key': KEY }, '10.0.0.1', res);
    expect(() => guard.check('authenticated', { 'x-api-key': KEY }, '10.0.0.1', res)).toThrow(
      expect.objectContaining({
        code: 'QUIVER_ERR_RATE_LIMITED',
        message: 'Rate limit exceeded for API key "svc"; retry later',
        retryAfterS: expect.closeTo(1000, 0),
      }),
    );
    expect(res.set.get('ratelimit-remaining')).toBe('0');
  });

  it('limits requests without a valid key per IP, 401s included', () => {
    const limiter = new MemoryRateLimiter({ tokensPerSecond: 0.001, burst: 2 });
    const guard = new Guard({ auth: auth(), rateLimits: [{ key: 'ip', limiter }] });
    const res = new Headers();
    const attempt = (ip: string) => () => guard.check('features:read', { 'x-api-key': 'guess' }, ip, res);
    expect(attempt('10.0.0.1')).toThrow(expect.objectContaining({ code: 'QUIVER_ERR_UNAUTHENTICATED' }));
    expect(attempt('10.0.0.1')).toThrow(expect.objectContaining({ code: 'QUIVER_ERR_UNAUTHENTICATED' }));
    expect(attempt('10.0.0.1')).toThrow(
      expect.objectContaining({
        code: 'QUIVER_ERR_RATE_LIMITED',
        message: expect.stringContaining('IP 10.0.0.1'),
      }),
    );
    expect(attempt('10.0.0.2')).toThrow(expect.objectContaining({ code: 'QUIVER_ERR_UNAUTHENTICATED' }));
    // A valid key is not limited by the IP limits.
    expect(guard.check('features:read', { 'x-api-key': KEY }, '10.0.0.1', res)).toBeUndefined();
  });

  it('reports the tightest of several limits and stops at the first refusal', () => {
    const wide = new MemoryRateLimiter({ tokensPerSecond: 0.001, burst: 10 });
    const narrow = new MemoryRateLimiter({ tokensPerSecond: 0.001, burst: 2 });
    const guard = new Guard({
      auth: undefined,
      rateLimits: [
        { key: 'ip', limiter: wide },
        { key: 'ip', limiter: narrow },
      ],
    });
    const res = new Headers();
    guard.check('features:read', {}, '10.0.0.9', res);
    expect(res.set.get('ratelimit-limit')).toBe('2');
    expect(res.set.get('ratelimit-remaining')).toBe('1');
    guard.check('features:read', {}, '10.0.0.9', res);
    expect(() => guard.check('features:read', {}, '10.0.0.9', res)).toThrow(
      expect.objectContaining({ code: 'QUIVER_ERR_RATE_LIMITED' }),
    );
    expect(wide.take('10.0.0.9').remaining).toBe(6); // three taken by the guard, one here
  });
});
