/** The start-up banner: where Quiver listens and commands that work right away. */
import { Registry } from '../config/registry.ts';
import type { ResolvedConfig } from '../config/resolved.ts';
import { compilePlan } from '../features/plan.ts';
import { describeTarget } from '../redis/target.ts';

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[22m` : s);
const dim = (s: string): string => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[22m` : s);

export interface BannerInput {
  url: string;
  config: ResolvedConfig;
  /** Example entity id for the curl commands. */
  exampleEntity?: { joinKey: string; value: string };
  workers?: number;
}

/** What a request needs besides features: every join key, and the request data of on-demand views. */
interface Needs {
  readonly joinKeys: readonly string[];
  readonly requestFields: readonly string[];
}

function needsOf(registry: Registry, refs: readonly string[]): Needs {
  const plan = compilePlan(registry, refs);
  return {
    joinKeys: plan.joinKeys,
    requestFields: plan.onDemand.flatMap((o) => o.requestFields.map((f) => f.name)),
  };
}

/** `"key":["1","2"],…` for `count` entities; the example entity's value first where it applies. */
function keyColumns(
  joinKeys: readonly string[],
  example: BannerInput['exampleEntity'],
  count: number,
): string[] {
  return joinKeys.map((k) => {
    const ids = [k === example?.joinKey ? example.value : '1', '2'].slice(0, count);
    return `"${k}":[${ids.map((v) => `"${v}"`).join(',')}]`;
  });
}

function requestColumns(fields: readonly string[], count: number): string[] {
  return fields.map((f) => `"${f}":[${[25, 4000].slice(0, count).join(',')}]`);
}

/** Example requests use a key from this env variable when auth is on (probes and /metrics are open). */
export const BANNER_KEY_ENV = 'QUIVER_API_KEY';

export function banner({ url, config, exampleEntity, workers }: BannerInput): string {
  const os = config.onlineStore;
  const store =
    os.type === 'lmdb'
      ? `lmdb (${os.path})`
      : os.type === 'redis'
        ? `redis (${describeTarget(os)})`
        : os.type;
  const registry = new Registry(config);
  const view = config.featureViews[0];
  const service = config.featureServices[0];
  const authOn = config.auth.enabled !== false;
  const key = authOn ? ` -H "x-api-key: $${BANNER_KEY_ENV}"` : '';
  const post = (path: string): string => `curl -s ${url}${path} -H 'content-type: application/json'${key} \\`;
  const lines = [
    '',
    `  ${bold('Quiver')} serving project ${bold(config.project)} at ${bold(url)}${workers && workers > 1 ? ` with ${workers} workers` : ''}`,
    `  online store: ${store} · ${config.featureViews.length} feature view(s) · ${config.featureServices.length} feature service(s)`,
    '',
    `  ${dim('health')}    curl ${url}/healthz`,
    `  ${dim('metrics')}   curl ${url}/metrics`,
  ];
  if (service) {
    const needs = needsOf(registry, registry.featureServiceRefs(service.name));
    const entities = [
      ...keyColumns(needs.joinKeys, exampleEntity, 2),
      ...requestColumns(needs.requestFields, 2),
    ];
    lines.push(
      `  ${dim('features')}  ${post('/get-online-features')}`,
      `              -d '{"feature_service":"${service.name}","entities":{${entities.join(',')}}}'`,
    );
  }
  if (view) {
    const ref = `${view.name}:${Object.keys(view.schema)[0]!}`;
    const entities = keyColumns(needsOf(registry, [ref]).joinKeys, exampleEntity, 1);
    lines.push(
      `  ${dim('by ref')}    ${post('/get-online-features')}`,
      `              -d '{"features":["${ref}"],"entities":{${entities.join(',')}}}'`,
    );
  }
  const model = config.models.find((m) => m.featureService !== undefined);
  if (model) {
    const needs = needsOf(registry, registry.featureServiceRefs(model.featureService!));
    const request =
      needs.requestFields.length === 0
        ? ''
        : `,"request":{${requestColumns(needs.requestFields, 2).join(',')}}`;
    lines.push(
      `  ${dim('predict')}   ${post(`/v1/models/${model.name}/predict`)}`,
      `              -d '{"entities":{${keyColumns(needs.joinKeys, exampleEntity, 2).join(',')}}${request}}'`,
      `  ${dim('model')}     curl -s ${url}/v2/models/${model.name}${key}    ${dim('(Open Inference Protocol v2 metadata)')}`,
    );
  }
  if (authOn && (service || view || model)) {
    lines.push(
      '',
      `  ${dim(`auth is on: set ${BANNER_KEY_ENV} to a key with the route's scope (features:read, predict) to run these`)}`,
    );
  }
  lines.push('', `  ${dim('Ctrl+C drains in-flight requests and stops.')}`, '');
  return lines.join('\n');
}
