/**
 * Loads `quiver.config.ts` (or .js/.mjs) at runtime. TypeScript configs load through the tsx loader
 * that bin/quiver.js registers (vitest provides its own), so users need no build step.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isQuiverError, quiverError } from '../errors.ts';
import type { ResolvedConfig } from './resolved.ts';
import { validateConfig } from './validate.ts';

export const DEFAULT_CONFIG_FILE = 'quiver.config.ts';

export async function loadConfig(configPath: string = DEFAULT_CONFIG_FILE): Promise<ResolvedConfig> {
  const absolute = path.resolve(configPath);
  if (!existsSync(absolute)) {
    throw quiverError('QUIVER_ERR_CONFIG_NOT_FOUND', { path: absolute });
  }
  let mod: { default?: unknown; config?: unknown };
  try {
    mod = (await import(pathToFileURL(absolute).href)) as typeof mod;
  } catch (err) {
    if (isQuiverError(err)) throw err;
    throw quiverError(
      'QUIVER_ERR_CONFIG_LOAD',
      { path: absolute, reason: err instanceof Error ? err.message : String(err) },
      { cause: err },
    );
  }
  return validateConfig(mod.default ?? mod.config, absolute);
}
