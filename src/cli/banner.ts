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

export function banner({ url, config, exampleEntity, workers }: BannerInput): string {
  const os = config.onlineStore;
  const store =
    os.type === 'lmdb'
      ? `lmdb (${os.path})`
      : os.type === 'redis'
        ? `redis (${describeTarget(os)})`
        : os.type;
  const view = config.featureViews[0];
  const service = config.featureServices[0];
  const key = exampleEntity ?? {
    joinKey: view ? (config.entities.find((e) => e.name === view.entities[0])?.joinKeys[0] ?? 'id') : 'id',
    value: '1',
  };
  const lines = [
    '',
    `  ${bold('Quiver')} serving project ${bold(config.project)} at ${bold(url)}${workers && workers > 1 ? ` with ${workers} workers` : ''}`,
    `  online store: ${store} · ${config.featureViews.length} feature view(s) · ${config.featureServices.length} feature service(s)`,
    '',
    `  ${dim('health')}    curl ${url}/healthz`,
    `  ${dim('metrics')}   curl ${url}/metrics`,
  ];
  if (service) {
    lines.push(
      `  ${dim('features')}  curl -s ${url}/get-online-features -H 'content-type: application/json' \\`,
      `              -d '{"feature_service":"${service.name}","entities":{"${key.joinKey}":["${key.value}","2"]}}'`,
    );
  }
  if (view) {
    const feature = Object.keys(view.schema)[0]!;
    lines.push(
      `  ${dim('by ref')}    curl -s ${url}/get-online-features -H 'content-type: application/json' \\`,
      `              -d '{"features":["${view.name}:${feature}"],"entities":{"${key.joinKey}":["${key.value}"]}}'`,
    );
  }
  const model = config.models.find((m) => m.featureService !== undefined);
  if (model) {
    const plan = compilePlan(
      new Registry(config),
      new Registry(config).featureServiceRefs(model.featureService!),
    );
    const requestFields = plan.onDemand.flatMap((o) => o.requestFields.map((f) => f.name));
    const request =
      requestFields.length === 0
        ? ''
        : `,"request":{${requestFields.map((f) => `"${f}":[25,4000]`).join(',')}}`;
    const [joinKey] = plan.joinKeys;
    lines.push(
      `  ${dim('predict')}   curl -s ${url}/v1/models/${model.name}/predict -H 'content-type: application/json' \\`,
      `              -d '{"entities":{"${joinKey}":["${key.value}","2"]}${request}}'`,
      `  ${dim('model')}     curl -s ${url}/v2/models/${model.name}    ${dim('(Open Inference Protocol v2 metadata)')}`,
    );
  }
  lines.push('', `  ${dim('Ctrl+C drains in-flight requests and stops.')}`, '');
  return lines.join('\n');
}
