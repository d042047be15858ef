/** `quiver push VIEW FILE.csv|.jsonl`: write rows to the online store, validated against the schema. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { Registry } from '../../config/registry.ts';
import { formatSummary } from '../../features/progress.ts';
import { pushFile } from '../../features/push.ts';
import { openStore } from '../../main.ts';
import { configOption } from '../options.ts';

export function registerPush(program: Command): void {
  program
    .command('push')
    .argument('<view>', 'feature view (or push source name)')
    .argument('<file>', 'a .csv or .jsonl file of rows')
    .description('push rows from a file into the online store')
    .addOption(configOption())
    .action(async (view: string, file: string, options: { config: string }) => {
      const config = await loadConfig(options.config);
      const store = await openStore(config);
      try {
        const summary = await pushFile(new Registry(config), store, view, file);
        process.stdout.write(`${formatSummary(summary).join('\n')}\n`);
        if (summary.bad > 0) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}
