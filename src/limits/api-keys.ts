/**
 * API keys and scopes. Keys are configured as SHA-256 hashes only (config `auth.apiKeys` or env
 * QUIVER_API_KEYS), so the config file, the environment and a heap dump never hold a usable key.
 *
 * authenticate() hashes the presented key once and looks the digest up in a Map. The lookup runs on
 * the digest, not on the key: its timing depends on the SHA-256 of what the client sent, which tells
 * the client nothing about any configured hash (it would need a preimage). The entry found is then
 * confirmed with crypto.timingSafeEqual on the digest bytes, so no comparison in the path ever
 * short-circuits on a prefix of a secret. Presented keys are never stored, logged or put in errors.
 *
 * @example
 *   const auth = new ApiKeyAuth([{ id: 'svc-a', keySha256: sha256Hex('s3cret'), scopes: ['predict'] }]);
 *   auth.authenticate('s3cret'); // { keyId: 'svc-a', scopes: ['predict'] }
 *   auth.authenticate('guess');  // undefined
 */
import crypto, { createHash, timingSafeEqual } from 'node:crypto';
import { SCOPES, type Scope } from '../config/types.ts';

export interface ApiKeySpec {
  readonly id: string;
  /** Hex SHA-256 of the key's UTF-8 bytes: `printf %s "$KEY" | sha256sum`. */
  readonly keySha256: string;
  readonly scopes: readonly Scope[];
}

/** Who a request is: the configured key id (never the key) and what it may do. */
export interface Principal {
  readonly keyId: string;
  readonly scopes: readonly Scope[];
}

interface Entry {
  readonly digest: Buffer;
  readonly principal: Principal;
}

/**
 * Base64 SHA-256 of a string. crypto.hash (Node ≥ 20.12) is the one-shot form: without a Hash
 * object or a Buffer it costs a third of createHash().digest() (measured in bench/limits.ts).
 */
const sha256Base64: (value: string) => string =
  typeof crypto.hash === 'function'
    ? (value) => crypto.hash('sha256', value, 'base64')
    : (value) => createHash('sha256').update(value, 'utf8').digest('base64');

/** Hex SHA-256 of a key, as configured in `keySha256`. */
export function sha256Hex(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export class ApiKeyAuth {
  readonly #byDigest = new Map<string, Entry>();
  /** The presented key's digest bytes, for the comparison (reused: one check at a time, synchronous). */
  readonly #scratch = Buffer.alloc(32);

  /** @throws Error on a malformed hash or a hash configured twice (config validation reports these first). */
  constructor(keys: readonly ApiKeySpec[]) {
    for (const k of keys) {
      if (!/^[0-9a-f]{64}$/i.test(k.keySha256)) throw new Error(`API key "${k.id}": malformed keySha256`);
      const digest = Buffer.from(k.keySha256, 'hex');
      const lookup = digest.toString('base64');
      if (this.#byDigest.has(lookup)) throw new Error(`API key "${k.id}": the same key is configured twice`);
      const principal: Principal = Object.freeze({ keyId: k.id, scopes: Object.freeze([...k.scopes]) });
      this.#byDigest.set(lookup, { digest, principal });
    }
  }

  /** Number of configured keys. */
  get size(): number {
    return this.#byDigest.size;
  }

  /** The key's principal, or undefined when the key is unknown. */
  authenticate(presentedKey: string): Principal | undefined {
    const lookup = sha256Base64(presentedKey);
    const entry = this.#byDigest.get(lookup);
    if (entry === undefined) return undefined;
    this.#scratch.write(lookup, 'base64');
    return timingSafeEqual(this.#scratch, entry.digest) ? entry.principal : undefined;
  }
}

export function hasScope(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes(scope);
}

/**
 * Parses env QUIVER_API_KEYS: comma-separated `id:sha256hex:scope1+scope2` entries, e.g.
 * `svc-a:9f86…0f08:features:read+predict,ops:2c26…7ae:admin`. Problems come back as messages that
 * name the entry by position and id but never echo its value (it might be a key pasted by mistake).
 */
export function parseApiKeysEnv(
  value: string,
  source = 'QUIVER_API_KEYS',
): { keys: ApiKeySpec[]; issues: string[] } {
  const keys: ApiKeySpec[] = [];
  const issues: string[] = [];
  value.split(',').forEach((raw, i) => {
    const entry = raw.trim();
    if (entry === '') return;
    const at = `${source}[${i}]`;
    const first = entry.indexOf(':');
    const second = first < 0 ? -1 : entry.indexOf(':', first + 1);
    if (first <= 0 || second < 0) {
      issues.push(`expected "id:sha256hex:scope1+scope2" at ${at}`);
      return;
    }
    const id = entry.slice(0, first);
    const keySha256 = entry.slice(first + 1, second);
    const scopes = entry.slice(second + 1).split('+');
    if (!/^[0-9a-f]{64}$/i.test(keySha256)) {
      issues.push(`expected a 64-hex-digit SHA-256 of the key (not the key itself) at ${at} (id "${id}")`);
      return;
    }
    const bad = scopes.filter((s) => !SCOPES.includes(s as Scope));
    if (bad.length > 0) {
      issues.push(
        `expected scopes among ${SCOPES.join(', ')} joined by "+", got "${bad.join('+')}" at ${at}`,
      );
      return;
    }
    keys.push({ id, keySha256: keySha256.toLowerCase(), scopes: scopes as Scope[] });
  });
  return { keys, issues };
}
