import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isQuiverError, type QuiverError } from '../errors.ts';
import { loadConfig } from './load.ts';

const INDEX_URL = pathToFileURL(path.resolve(import.meta.dirname, '../index.ts')).href;

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'quiver-load-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Writes `text` to a fresh file (a new name each time, so no module cache is involved). */
async function configFile(text: string, ext = '.ts'): Promise<string> {
  const file = path.join(dir, `quiver-${++counter}.config${ext}`);
  await writeFile(file, text);
  return file;
}

async function loadError(configPath: string): Promise<QuiverError> {
  try {
    await loadConfig(configPath);
  } catch (err) {
    if (isQuiverError(err)) return err;
    throw err;
  }
  throw new Error('expected loadConfig to fail');
}

const BODY = `{
  project: 'loaded',
  onlineStore: { type: 'lmdb', path: './data/online' },
  entities: [{ name: 'user', joinKeys: ['user_id'] }],
  featureViews: [{ name: 'user_stats', entities: ['user'], schema: { clicks: 'int64' }, ttlSeconds: TTL }],
}`;

describe('loadConfig', () => {
  it('loads a .ts config with a plain object as the default export (TypeScript syntax included)', async () => {
    const file = await configFile(`const TTL: number = 3600;\nexport default ${BODY};\n`);
    const config = await loadConfig(file);
    expect(config.project).toBe('loaded');
    expect(config.configPath).toBe(file);
    expect(config.featureViews[0]!.ttlSeconds).toBe(3600);
    // Relative paths resolve against the config file's directory, not the working directory.
    expect(config.onlineStore).toEqual({ type: 'lmdb', path: path.join(dir, 'data/online') });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it("loads a config written with defineConfig imported from the project's src/index.ts", async () => {
    const file = await configFile(
      `import { defineConfig } from '${INDEX_URL}';\nconst TTL = 60;\nexport default defineConfig(${BODY});\n`,
    );
    const config = await loadConfig(file);
    expect(config.project).toBe('loaded');
    expect(config.featureViews[0]!.ttlSeconds).toBe(60);
  });

  it('accepts a named `config` export', async () => {
    const file = await configFile(`const TTL = 1;\nexport const config = ${BODY};\n`);
    expect((await loadConfig(file)).project).toBe('loaded');
  });

  it('resolves a relative config path against the working directory', async () => {
    const file = await configFile(`const TTL = 1;\nexport default ${BODY};\n`);
    const config = await loadConfig(path.relative(process.cwd(), file));
    expect(config.configPath).toBe(file);
  });

  it('a missing file → QUIVER_ERR_CONFIG_NOT_FOUND naming the absolute path', async () => {
    const missing = path.join(dir, 'nope', 'quiver.config.ts');
    const err = await loadError(missing);
    expect(err.code).toBe('QUIVER_ERR_CONFIG_NOT_FOUND');
    expect(err.kind).toBe('config');
    expect(err.message).toBe(`Config file not found: ${missing}`);
  });

  it('a syntax error → QUIVER_ERR_CONFIG_LOAD naming the file', async () => {
    const file = await configFile(`export default { project: 'x', entities: [ ;\n`);
    const err = await loadError(file);
    expect(err.code).toBe('QUIVER_ERR_CONFIG_LOAD');
    expect(err.kind).toBe('config');
    expect(err.message.startsWith(`Could not load config ${file}: `)).toBe(true);
  });

  it('a config that throws while loading → QUIVER_ERR_CONFIG_LOAD with the reason', async () => {
    const file = await configFile(`throw new Error('no credentials in env');\nexport default {};\n`);
    const err = await loadError(file);
    expect(err.code).toBe('QUIVER_ERR_CONFIG_LOAD');
    expect(err.message).toBe(`Could not load config ${file}: no credentials in env`);
  });

  it('an import that does not resolve → QUIVER_ERR_CONFIG_LOAD', async () => {
    const file = await configFile(`import { x } from './does-not-exist.ts';\nexport default x;\n`);
    expect((await loadError(file)).code).toBe('QUIVER_ERR_CONFIG_LOAD');
  });

  it('no default export → QUIVER_ERR_CONFIG_INVALID naming the file', async () => {
    const file = await configFile(`export const other = 1;\n`);
    const err = await loadError(file);
    expect(err.code).toBe('QUIVER_ERR_CONFIG_INVALID');
    expect(err.message).toBe(
      `Invalid config ${file}: expected the default export to be a config object, got nothing`,
    );
  });

  it('an invalid config → QUIVER_ERR_CONFIG_INVALID naming the file and the field', async () => {
    const file = await configFile(`const TTL = -1;\nexport default ${BODY};\n`);
    const err = await loadError(file);
    expect(err.code).toBe('QUIVER_ERR_CONFIG_INVALID');
    expect(err.message).toContain(file);
    expect(err.message).toContain('at featureViews[0].ttlSeconds');
  });
});
