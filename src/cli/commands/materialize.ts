/** `quiver materialize [--view V] [--since TS|auto]`: load sources into the online store. */
import { Option, type Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { Registry } from '../../config/registry.ts';
import type { ResolvedConfig } from '../../config/resolved.ts';
import { quiverError } from '../../errors.ts';
import { materialize, type MaterializeSummary } from '../../features/materialize.ts';
import { createProgressReporter } from '../../features/progress.ts';
import { parseTimestampMs } from '../../features/values.ts';
import { openStore } from '../../main.ts';
import type { OnlineStore } from '../../stores/online-store.ts';
import { configOption } from '../options.ts';

interface MaterializeCliOptions {
  config: string;
  view?: string[];
  since?: string;
}

export function parseSince(value: string | undefined): number | 'auto' | undefined {
  if (value === undefined) return undefined;
  if (value === 'auto') return 'auto';
  const ms = parseTimestampMs(value);
  if (Number.isNaN(ms)) {
    throw quiverError('QUIVER_ERR_USAGE', {
      option: '--since',
      reason: `expected an ISO-8601 time, epoch seconds/ms, or "auto", got "${value}"`,
    });
  }
  return ms;
}

export function registerMaterialize(program: Command): void {
  program
    .command('materialize')
    .description('load feature views from their sources (CSV, Parquet, PostgreSQL) into the online store')
    .addOption(configOption())
    .addOption(new Option('--view <name...>', 'only these views').env('QUIVER_VIEW'))
    .addOption(
      new Option(
        '--since <time>',
        'only rows with event time ≥ this (ISO time, epoch, or "auto" = since the last run)',
      ).env('QUIVER_SINCE'),
    )
    .action(async (options: MaterializeCliOptions) => {
      const config = await loadConfig(options.config);
      const since = parseSince(options.since);
      const store = await openStore(config);
      try {
        const summaries = await runMaterialize(config, store, { views: options.view, since });
        if (summaries.some((s) => s.bad > 0)) process.exitCode = 1;
      } finally {
        await store.close();
      }
    });
}

/** Materializes with a progress bar on a terminal (summary lines otherwise). */
export async function runMaterialize(
  config: ResolvedConfig,
  store: OnlineStore,
  options: { views?: string[]; since?: number | 'auto' } = {},
): Promise<MaterializeSummary[]> {
  const reporter = createProgressReporter(process.stderr);
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  try {
    return await materialize({
      registry: new Registry(config),
      store,
      views: options.views,
      since: options.since,
      onProgress: reporter.onProgress,
      signal: abort.signal,
    });
  } finally {
    reporter.stop();
    process.off('SIGINT', onSignal);
  }
}
