/** `quiver apply`: validate the config and print what it declares, as a plan a person can check. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { Registry } from '../../config/registry.ts';
import type { ResolvedConfig } from '../../config/resolved.ts';
import { compilePlan } from '../../features/plan.ts';
import { describeTarget } from '../../redis/target.ts';
import { configOption } from '../options.ts';

export function describePlan(config: ResolvedConfig): string {
  const registry = new Registry(config);
  const store = config.onlineStore;
  const lines = [
    `project ${config.project}  (${config.configPath})`,
    `online store: ${store.type}${store.type === 'lmdb' ? ` at ${store.path}` : store.type === 'redis' ? ` at ${describeTarget(store)}` : ''}`,
    '',
    `entities (${config.entities.length})`,
    ...config.entities.map((e) => `  ${e.name}  join keys: ${e.joinKeys.join(', ')}`),
    '',
    `feature views (${registry.views.length})`,
  ];
  for (const v of registry.views) {
    const ttl = v.ttlMs === 0 ? 'no TTL' : `TTL ${v.ttlMs / 1000} s`;
    const source = v.config.source
      ? `${v.config.source.type}${'path' in v.config.source ? ` ${v.config.source.path}` : ''}`
      : 'push only';
    lines.push(
      `  ${v.name}  key: ${v.joinKeys.join('+')}  ${v.features.length} features  ${ttl}  source: ${source}`,
    );
    lines.push(`    ${v.features.map((f, i) => `${f}:${v.types[i]}`).join('  ')}`);
  }
  if (config.onDemandFeatureViews.length > 0) {
    lines.push('', `on-demand feature views (${config.onDemandFeatureViews.length})`);
    for (const o of config.onDemandFeatureViews) {
      const inputs = Object.entries(o.inputs).flatMap(([v, fs]) => fs.map((f) => `${v}:${f}`));
      lines.push(
        `  ${o.name}  inputs: ${[...inputs, ...Object.keys(o.request ?? {}).map((r) => `request:${r}`)].join(', ')} → ${Object.keys(o.schema).join(', ')}`,
      );
    }
  }
  if (config.featureServices.length > 0) {
    lines.push('', `feature services (${config.featureServices.length})`);
    for (const s of config.featureServices) {
      const plan = compilePlan(registry, s.features);
      lines.push(
        `  ${s.name}  ${plan.columns.length} features from ${plan.views.map((v) => v.view.name).join(', ')}  needs: ${plan.joinKeys.join(', ')}`,
      );
    }
  }
  if (config.models.length > 0) {
    lines.push('', `models (${config.models.length})`);
    for (const m of config.models)
      lines.push(`  ${m.name}  ${m.path}${m.featureService ? `  features: ${m.featureService}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('validate quiver.config.ts and print the plan')
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      const config = await loadConfig(options.config);
      process.stdout.write(describePlan(config));
      process.stdout.write('\nconfig is valid.\n');
    });
}
