/** `quiver init DIR`: a minimal feature repo that works right away (apply → materialize → serve). */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { quiverError } from '../../errors.ts';

const CONFIG = `import type { QuiverConfig } from 'quiver';

export default {
  project: 'my_project',
  onlineStore: { type: 'lmdb', path: './data/online' },
  entities: [{ name: 'driver', joinKeys: ['driver_id'] }],
  featureViews: [
    {
      name: 'driver_stats',
      entities: ['driver'],
      ttlSeconds: 7 * 86_400,
      schema: { conv_rate: 'float32', acc_rate: 'float32', avg_daily_trips: 'int64' },
      source: { type: 'csv', path: './data/driver_stats.csv', timestampField: 'event_timestamp' },
    },
  ],
  featureServices: [{ name: 'driver_activity', features: ['driver_stats:*'] }],
  server: { port: 8080 },
  // Auth is on unless disabled here. Off is for local use on 127.0.0.1 only; to turn it on, remove
  // \`enabled: false\` and add keys. \`npx quiver keygen --id my-service --scopes features:read\` prints
  // a key and its line; an existing key hashes with: printf %s "$KEY" | sha256sum
  auth: {
    enabled: false,
    // apiKeys: [{ id: 'my-service', keySha256: '<64 hex digits>', scopes: ['features:read', 'predict'] }],
  },
} satisfies QuiverConfig;
`;

function sampleCsv(nowMs: number): string {
  const rows = ['driver_id,event_timestamp,conv_rate,acc_rate,avg_daily_trips'];
  for (let i = 0; i < 5; i++) {
    const ts = new Date(nowMs - i * 3_600_000).toISOString();
    rows.push(`${1 + i},${ts},${(0.1 + i * 0.17).toFixed(2)},${(0.9 - i * 0.1).toFixed(2)},${100 + i * 37}`);
  }
  return `${rows.join('\n')}\n`;
}

export async function initRepo(dir: string): Promise<string[]> {
  const configPath = path.join(dir, 'quiver.config.ts');
  if (existsSync(configPath)) {
    throw quiverError('QUIVER_ERR_USAGE', {
      option: 'DIR',
      reason: `${configPath} already exists and init will not overwrite it: choose a new directory`,
    });
  }
  await mkdir(path.join(dir, 'data'), { recursive: true });
  await writeFile(configPath, CONFIG);
  await writeFile(path.join(dir, 'data', 'driver_stats.csv'), sampleCsv(Date.now()));
  return [configPath, path.join(dir, 'data', 'driver_stats.csv')];
}

/**
 * How to run this CLI again from `dir`: `npx quiver` when it runs from an installed package (a
 * node_modules path), else `node` and the path of the script that is running now (a checkout),
 * so the printed next steps work as printed.
 */
export function cliCommandFrom(dir: string, script: string = process.argv[1] ?? ''): string {
  if (script === '' || script.split(path.sep).includes('node_modules')) return 'npx quiver';
  const relative = path.relative(path.resolve(dir), script);
  return `node ${/\s/.test(relative) ? JSON.stringify(relative) : relative}`;
}

export function registerInit(program: Command): void {
  program
    .command('init')
    .argument('<dir>', 'directory for the new feature repo')
    .description('create a new feature repo with a sample config and data')
    .action(async (dir: string) => {
      const files = await initRepo(dir);
      const cli = cliCommandFrom(dir);
      process.stdout.write(
        `Created ${files.join(' and ')}\n\nNext:\n  cd ${dir}\n  ${cli} apply\n  ${cli} materialize\n  ${cli} serve\n`,
      );
    });
}
