import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runOnlineStoreContract } from '../online-store.contract.ts';
import { LmdbStore } from './lmdb-store.ts';

const execFileAsync = promisify(execFile);

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'quiver-lmdb-'));
}

runOnlineStoreContract('lmdb', async () => {
  const dir = await tempDir();
  const store = await LmdbStore.create({ path: dir });
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
    syncReads: true,
  };
});

describe('LmdbStore', () => {
  let dir: string;
  const opened: LmdbStore[] = [];
  const open = async (): Promise<LmdbStore> => {
    const store = await LmdbStore.create({ path: dir });
    opened.push(store);
    return store;
  };

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((store) => store.close()));
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps records and meta across close and reopen', async () => {
    const first = await open();
    await first.write('v', [{ key: 'u', eventTsMs: 5, values: [1.5] }]);
    await first.setMeta('watermark:v', '5');
    await first.close();
    const second = await open();
    expect(second.read('v', ['u'])).toEqual([[5, 1.5]]);
    expect(await second.getMeta('watermark:v')).toBe('5');
  });

  it('lets two instances on one path see each other’s writes', async () => {
    const a = await open();
    const b = await open();
    await a.write('v', [{ key: 'from-a', eventTsMs: 1, values: ['a'] }]);
    await b.write('v', [
      { key: 'from-b', eventTsMs: 1, values: ['b'] },
      { key: 'from-a', eventTsMs: 0, values: ['stale'] },
    ]);
    expect(a.read('v', ['from-a', 'from-b'])).toEqual([
      [1, 'a'],
      [1, 'b'],
    ]);
    expect(b.read('v', ['from-a', 'from-b'])).toEqual(a.read('v', ['from-a', 'from-b']));
  });

  it('sees writes of another process on the same path, and that process sees ours', async () => {
    const store = await open();
    await store.write('v', [{ key: 'parent', eventTsMs: 10, values: [1] }]);
    const child = `
      import { LmdbStore } from ${JSON.stringify(new URL('./lmdb-store.ts', import.meta.url).href)};
      const store = await LmdbStore.create({ path: ${JSON.stringify(dir)} });
      const result = await store.write('v', [
        { key: 'child', eventTsMs: 20, values: [2] },
        { key: 'parent', eventTsMs: 9, values: ['stale'] },
      ]);
      console.log(JSON.stringify({ result, parent: store.read('v', ['parent'])[0] }));
      await store.close();
    `;
    const { stdout } = await execFileAsync(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '--eval', child],
      { cwd: process.cwd() },
    );
    expect(JSON.parse(stdout)).toEqual({ result: { written: 1, skippedStale: 1 }, parent: [10, 1] });
    expect(store.read('v', ['child', 'parent'])).toEqual([
      [20, 2],
      [10, 1],
    ]);
  });

  it('fails create() with QUIVER_ERR_STORE_UNAVAILABLE when the path cannot hold a database', async () => {
    const blocked = path.join(dir, 'file');
    await writeFile(blocked, 'not a directory');
    await expect(LmdbStore.create({ path: path.join(blocked, 'db') })).rejects.toMatchObject({
      code: 'QUIVER_ERR_STORE_UNAVAILABLE',
    });
  });
});
