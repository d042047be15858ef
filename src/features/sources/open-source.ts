/**
 * Picks the source implementation for a feature view's SourceConfig. Kept apart from the port
 * (source.ts) so the port imports no implementation. Implementations load on first use: pg and
 * hyparquet cost ~100-250 ms of start-up each, which `quiver serve` never needs.
 *
 * @example
 *   const source = await openSource(view.name, view.config.source!, { sinceMs, columns: needed });
 */
import type { SourceConfig } from '../../config/types.ts';
import type { OpenedSource, OpenSourceOptions } from './source.ts';

export async function openSource(
  view: string,
  config: SourceConfig,
  options: OpenSourceOptions = {},
): Promise<OpenedSource> {
  switch (config.type) {
    case 'csv':
      return (await import('./csv-source.ts')).openCsvSource(view, config.path);
    case 'parquet':
      return (await import('./parquet-source.ts')).openParquetSource(view, config.path, options);
    case 'postgres':
      return (await import('./postgres-source.ts')).openPostgresSource(view, config, options);
  }
}
