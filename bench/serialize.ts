/**
 * In-process cost of one /get-online-features lookup on the bench data, split by stage: body
 * parse, store read (fetch) and JSON serialization. A tool for hot-path work, not a scenario: the
 * HTTP scenarios measure the server as users see it.
 * Usage: node --import tsx bench/serialize.ts [entities per request] (after a features-* bench run)
 */
import { loadConfig } from '../src/config/load.ts';
import { Registry } from '../src/config/registry.ts';
import { feastJson } from '../src/features/feast-json.ts';
import { OnlineFeatureService, type OnlineFeaturesResult } from '../src/features/online-features.ts';
import { openStore } from '../src/main.ts';
import { toolSettings } from './index.ts';
import { prepareFraudLmdb } from './lib/fraud-data.ts';
import { requestBody, userIdSets } from './scenarios/features.ts';

const entities = Number(process.argv[2] ?? 1);
/** Optional: only this stage, this many rounds (for `perf stat` instruction counts: run twice, subtract). */
const only = process.argv[3];
const onlyRounds = process.argv[4] === undefined ? undefined : Number(process.argv[4]);
const data = await prepareFraudLmdb(toolSettings());
const config = await loadConfig(data.configPath);
const store = await openStore(config);
const service = new OnlineFeatureService(new Registry(config), store);
const bodies = userIdSets(data.users, entities, 1000).map((ids) => Buffer.from(requestBody(ids)));

function time(label: string, rounds: number, fn: (i: number) => void): void {
  if (only !== undefined) {
    if (label === only) for (let i = 0; i < (onlyRounds ?? rounds); i++) fn(i);
    return;
  }
  for (let i = 0; i < rounds; i++) fn(i); // warm-up
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn(i);
  const ns = Number(process.hrtime.bigint() - started) / rounds;
  process.stdout.write(`${label.padEnd(12)} ${(ns / 1000).toFixed(2)} µs\n`);
}

const rounds = entities === 1 ? 200_000 : 5_000;
const plan = service.planFor({ featureService: 'fraud_v1' });
const parsed = bodies.map((b) => JSON.parse(b.toString('utf8')) as { entities: Record<string, unknown[]> });
const results = parsed.map((p) => service.fetch(plan, p.entities, entities) as OnlineFeaturesResult);
let sink = 0;
time('parse', rounds, (i) => {
  sink += (JSON.parse(bodies[i % 1000]!.toString('utf8')) as object) === null ? 1 : 0;
});
time('fetch', rounds, (i) => {
  const r = service.fetch(plan, parsed[i % 1000]!.entities, entities) as OnlineFeaturesResult;
  sink += r.count;
});
time('feastJson', rounds, (i) => {
  sink += feastJson(results[i % 1000]!, false).length;
});
process.stdout.write(`(${sink > 0 ? 'ok' : '?'})\n`);
await store.close();
