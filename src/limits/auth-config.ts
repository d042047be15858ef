/**
 * Turns `auth` from the config plus env QUIVER_API_KEYS into the ApiKeyAuth the server uses.
 * Auth is ON unless the config says `auth: { enabled: false }`; on with no key at all is a config
 * error at startup (never a server that silently lets everyone in, nor one that refuses everyone).
 * This runs when a server starts, not in config validation, so commands that do not serve
 * (materialize, push) need no keys; `apply` runs it to warn that serve would refuse to start.
 * Either error lists its problems in `details.issues`.
 */
import type { ResolvedConfig } from '../config/resolved.ts';
import { quiverError } from '../errors.ts';
import { ApiKeyAuth, parseApiKeysEnv, type ApiKeySpec } from './api-keys.ts';

export const API_KEYS_ENV = 'QUIVER_API_KEYS';

/**
 * @returns the key table, or undefined when auth is explicitly disabled
 * @throws QUIVER_ERR_CONFIG_INVALID when auth is on without keys, or QUIVER_API_KEYS is malformed
 */
export function resolveApiKeyAuth(
  config: Pick<ResolvedConfig, 'auth' | 'configPath'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ApiKeyAuth | undefined {
  if (config.auth.enabled === false) return undefined;
  const path = config.configPath || '(inline config)';
  const fromEnv = parseApiKeysEnv(env[API_KEYS_ENV] ?? '', API_KEYS_ENV);
  const keys: ApiKeySpec[] = [...(config.auth.apiKeys ?? []), ...fromEnv.keys];
  const issues = [...fromEnv.issues];
  const ids = new Set<string>();
  const hashes = new Set<string>();
  for (const k of keys) {
    if (ids.has(k.id))
      issues.push(`API key id "${k.id}" is configured twice (auth.apiKeys and ${API_KEYS_ENV})`);
    const hash = k.keySha256.toLowerCase();
    if (hashes.has(hash)) issues.push(`API key "${k.id}": the same key is configured twice`);
    ids.add(k.id);
    hashes.add(hash);
  }
  if (issues.length > 0) {
    throw quiverError(
      'QUIVER_ERR_CONFIG_INVALID',
      { path, reason: issues.join('; ') },
      { details: { issues } },
    );
  }
  if (keys.length === 0) {
    const reason =
      'auth is on (as it is unless the config says `auth: { enabled: false }`) but no API key is configured. Add keys to auth.apiKeys ' +
      '(`quiver keygen --id my-service --scopes features:read,predict` prints a key and its config line; ' +
      'an existing key hashes with `printf %s "$KEY" | sha256sum`) or to env QUIVER_API_KEYS ' +
      '("id:sha256hex:scope1+scope2,..."), or set `auth: { enabled: false }` for local use';
    throw quiverError('QUIVER_ERR_CONFIG_INVALID', { path, reason }, { details: { issues: [reason] } });
  }
  return new ApiKeyAuth(keys);
}
