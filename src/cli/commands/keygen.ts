/**
 * `quiver keygen [--id ID] [--scopes a,b]`: makes a random API key and prints it once, with the
 * config line (and QUIVER_API_KEYS entry) that holds only its SHA-256. Quiver never stores or logs
 * the key itself; whoever runs this hands it to the client and keeps it as a secret.
 */
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { SCOPES, type Scope } from '../../config/types.ts';
import { quiverError } from '../../errors.ts';
import { sha256Hex } from '../../limits/api-keys.ts';

export interface GeneratedKey {
  readonly id: string;
  readonly key: string;
  readonly keySha256: string;
  readonly scopes: readonly Scope[];
  /** An `auth.apiKeys` entry. */
  readonly configLine: string;
  /** A QUIVER_API_KEYS entry. */
  readonly envEntry: string;
}

const ID = /^[A-Za-z0-9_.@/-]+$/;

/** 32 random bytes (256 bits), base64url, with a `qk_` prefix that secret scanners can match. */
export function generateApiKey(id: string, scopes: readonly Scope[]): GeneratedKey {
  const key = `qk_${randomBytes(32).toString('base64url')}`;
  const keySha256 = sha256Hex(key);
  return {
    id,
    key,
    keySha256,
    scopes,
    configLine: `{ id: '${id}', keySha256: '${keySha256}', scopes: [${scopes.map((s) => `'${s}'`).join(', ')}] },`,
    envEntry: `${id}:${keySha256}:${scopes.join('+')}`,
  };
}

export function parseScopes(value: string): Scope[] {
  const scopes = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = scopes.filter((s) => !SCOPES.includes(s as Scope));
  if (scopes.length === 0 || bad.length > 0) {
    throw quiverError('QUIVER_ERR_USAGE', {
      option: '--scopes',
      reason: `expected a comma-separated list of ${SCOPES.join(', ')}, got "${value}"`,
    });
  }
  return [...new Set(scopes as Scope[])];
}

function parseId(value: string): string {
  if (!ID.test(value)) {
    throw quiverError('QUIVER_ERR_USAGE', {
      option: '--id',
      reason: `expected letters, digits and _ . @ / - (no ":" or ","), got "${value}"`,
    });
  }
  return value;
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .description('make a random API key; prints it once with its config line (only the hash is stored)')
    .option('--id <id>', 'key id shown in logs, metrics and errors', parseId, 'service')
    .option('--scopes <list>', `comma-separated: ${SCOPES.join(', ')}`, parseScopes, [
      'features:read',
      'predict',
    ] as Scope[])
    .action((options: { id: string; scopes: Scope[] }) => {
      const k = generateApiKey(options.id, options.scopes);
      process.stdout.write(
        [
          `API key "${k.id}" (scopes: ${k.scopes.join(', ')}). It is shown only this once: store it as a secret now.`,
          '',
          `  ${k.key}`,
          '',
          'Add it to quiver.config.ts under auth.apiKeys:',
          `  ${k.configLine}`,
          '',
          'or to the environment (entries separated by commas):',
          `  QUIVER_API_KEYS='${k.envEntry}'`,
          '',
          'Clients send it as "x-api-key: <key>" or "Authorization: Bearer <key>".',
          '',
        ].join('\n'),
      );
    });
}
