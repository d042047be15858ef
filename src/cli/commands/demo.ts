/**
 * `quiver demo` (= `npm start`): the fraud example, end to end, with nothing to install. Copies
 * examples/fraud's config into --dir, generates deterministic data there once, materializes it into
 * LMDB with a progress bar, and serves. A second run reuses the data and is up in well under 2 s;
 * a run with another --users starts the store afresh.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { generateUserStats } from '../../../examples/fraud/generate.ts';
import { loadConfig } from '../../config/load.ts';
import type { ResolvedConfig } from '../../config/resolved.ts';
import { readWatermark } from '../../features/materialize.ts';
import { openStore } from '../../main.ts';
import { banner } from '../banner.ts';
import { hostOption, parsePositiveInt, portOption } from '../options.ts';
import { runMaterialize } from './materialize.ts';
import { serve } from './serve.ts';

const EXAMPLE_DIR = fileURLToPath(new URL('../../../examples/fraud/', import.meta.url));
const SEED = 42;

interface DemoOptions {
  dir: string;
  users: number;
  port: number;
  host?: string;
}

interface DemoMarker {
  users: number;
  seed: number;
}

/** Prepares the demo directory; returns the loaded config. Idempotent and fast when already done. */
export async function prepareDemo(
  dir: string,
  users: number,
  log: (line: string) => void,
): Promise<ResolvedConfig> {
  await mkdir(path.join(dir, 'data'), { recursive: true });
  const configPath = path.join(dir, 'quiver.config.ts');
  const example = await readFile(path.join(EXAMPLE_DIR, 'quiver.config.ts'), 'utf8');
  if (!existsSync(configPath)) await writeFile(configPath, example);
  else if ((await readFile(configPath, 'utf8')) !== example) {
    // The demo runs its own config; an edited copy is kept, not lost.
    let kept = `${configPath}.edited`;
    for (let n = 2; existsSync(kept); n++) kept = `${configPath}.edited-${n}`;
    await rename(configPath, kept);
    await writeFile(configPath, example);
    log(`${configPath} differed from the demo's: yours is now ${kept}`);
  }
  await copyFile(path.join(EXAMPLE_DIR, 'model', 'fraud.onnx'), path.join(dir, 'fraud.onnx'));
  const config = await loadConfig(configPath);

  const markerPath = path.join(dir, 'data', 'demo.json');
  const marker = existsSync(markerPath)
    ? (JSON.parse(await readFile(markerPath, 'utf8')) as DemoMarker)
    : undefined;
  const csvPath = path.join(dir, 'data', 'user_stats.csv');
  let fresh = false;
  if (marker?.users !== users || marker.seed !== SEED || !existsSync(csvPath)) {
    log(`Generating demo data: ${users.toLocaleString('en-US')} users (seed ${SEED}) → ${csvPath}`);
    await generateUserStats({ path: csvPath, users, seed: SEED });
    fresh = true;
  }
  const onlineStore = config.onlineStore;
  if (fresh && onlineStore.type === 'lmdb') {
    // New data replaces the old: users a larger earlier run had (and pushed rows) would stay PRESENT.
    await rm(onlineStore.path, { recursive: true, force: true });
  }

  const store = await openStore(config);
  try {
    if (fresh || (await readWatermark(store, 'user_stats')) === undefined) {
      log('Materializing into the online store (LMDB)…');
      const [summary] = await runMaterialize(config, store, { views: ['user_stats'] });
      if (summary && summary.bad > 0)
        throw new Error(`demo data has ${summary.bad} bad rows; delete ${dir} and retry`);
      await writeFile(markerPath, JSON.stringify({ users, seed: SEED } satisfies DemoMarker));
    } else {
      log(`Reusing demo data in ${dir} (delete it to regenerate)`);
    }
  } finally {
    await store.close();
  }
  return config;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('generate, materialize and serve the fraud demo (no services needed)')
    .addOption(new Option('--dir <dir>', 'where demo data lives').env('QUIVER_DIR').default('.quiver-demo'))
    .addOption(
      new Option('--users <n>', 'number of users')
        .env('QUIVER_USERS')
        .argParser(parsePositiveInt('--users or QUIVER_USERS'))
        .default(100_000),
    )
    .addOption(portOption('8080'))
    .addOption(hostOption())
    .action(async (options: DemoOptions) => {
      const dir = path.resolve(options.dir);
      const config = await prepareDemo(dir, options.users, (line) => process.stderr.write(`${line}\n`));
      await serve(config, { port: options.port, host: options.host, workers: 1 }, (url) =>
        banner({ url, config, exampleEntity: { joinKey: 'user_id', value: '1' } }),
      );
    });
}
