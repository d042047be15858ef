/**
 * Picks the source implementation for a feature view's SourceConfig. Kept apart from the port
 * (source.ts) so the port imports no implementation.
 *
 * @example
 *   const source = await openSource(view.name, view.config.source!, { sinceMs, columns: needed });
 */
import type { SourceConfig } from '../../config/types.ts';
import { openCsvSource } from './csv-source.ts';
import { openParquetSource } from './parquet-source.ts';
import { openPostgresSource } from './postgres-source.ts';
import type { OpenedSource, OpenSourceOptions } from './source.ts';

export function openSource(
  view: string,
  config: SourceConfig,
  options: OpenSourceOptions = {},
): Promise<OpenedSource> {
  switch (config.type) {
    case 'csv':
      return openCsvSource(view, config.path);
    case 'parquet':
      return openParquetSource(view, config.path, options);
    case 'postgres':
      return openPostgresSource(view, config, options);
  }
}
