/** `quiver apply`: validate the config and print what it declares, as a plan a person can check. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { Registry } from '../../config/registry.ts';
import type { ResolvedConfig } from '../../config/resolved.ts';
import { compilePlan } from '../../features/plan.ts';
import { isQuiverError } from '../../errors.ts';
import { resolveApiKeyAuth } from '../../limits/auth-config.ts';
import { describeTarget } from '../../redis/target.ts';
import { EXIT_USAGE } from '../exit-codes.ts';
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
      const stored = plan.columns.filter((c) => c.source.kind === 'stored').length;
      const parts = [];
      if (stored > 0) parts.push(`${stored} stored (${plan.views.map((v) => v.view.name).join(', ')})`);
      if (stored < plan.columns.length) {
        const names = plan.onDemand.map((o) => o.odfv.name).join(', ');
        parts.push(`${plan.columns.length - stored} on-demand (${names})`);
      }
      const needs = [...plan.joinKeys, ...plan.onDemand.flatMap((o) => o.requestFields.map((f) => f.name))];
      lines.push(
        `  ${s.name}  ${plan.columns.length} features: ${parts.join(' + ')}  needs: ${needs.join(', ')}`,
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

/**
 * What would make a command fail although the config is valid: a file it names that is not there
 * (a model: serve would fail to start; a file source: materialize would fail), or auth on without
 * a key (serve refuses to start; keys may come from env QUIVER_API_KEYS, read here as serve would).
 */
export function wouldFail(
  config: ResolvedConfig,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string[] {
  const problems: string[] = [];
  config.models.forEach((m, i) => {
    if (!existsSync(m.path)) problems.push(`models[${i}].path: ${m.path} does not exist (serve would fail)`);
  });
  config.featureViews.forEach((v, i) => {
    const source = v.source;
    if (source !== undefined && 'path' in source && !existsSync(source.path))
      problems.push(`featureViews[${i}].source.path: ${source.path} does not exist (materialize would fail)`);
  });
  try {
    resolveApiKeyAuth(config, env);
  } catch (err) {
    if (!isQuiverError(err)) throw err;
    const issues = (err.details?.issues as readonly string[] | undefined) ?? [err.message];
    for (const issue of issues) problems.push(`auth: ${issue} (serve would fail)`);
  }
  return problems;
}

export function registerApply(program: Command): void {
  program
    .command('apply')
    .description('validate quiver.config.ts and print the plan')
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      const config = await loadConfig(options.config);
      process.stdout.write(describePlan(config));
      const problems = wouldFail(config);
      if (problems.length === 0) {
        process.stdout.write('\nconfig is valid.\n');
        return;
      }
      process.stderr.write(`\nconfig is valid, but:\n  - ${problems.join('\n  - ')}\n`);
      process.exitCode = EXIT_USAGE;
    });
}
