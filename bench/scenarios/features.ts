/**
 * features-1 / features-100: POST /get-online-features for feature service `fraud_v1` (16 numeric
 * features + country) for 1 or 100 distinct random users, on LMDB and on Redis, against the HTTP
 * ceiling, plus the raw store read of the same batch.
 */
import { rm } from 'node:fs/promises';
import { seededRandom } from '../../examples/fraud/generate.ts';
import { openStore } from '../../src/main.ts';
import type { CapturedResponse } from '../lib/ceiling.ts';
import {
  FRAUD_SERVICE,
  FRAUD_VIEW,
  prepareFraudLmdb,
  prepareFraudRedis,
  prepareFraudRedisCluster,
  type FraudData,
} from '../lib/fraud-data.ts';
import { runHttpScenario, type HttpTargets } from '../lib/http-scenario.ts';
import { measureRawReads } from '../lib/raw-store.ts';
import type { BenchSettings, LimitFigure, Scenario, ScenarioOutput } from '../lib/types.ts';
import { PrivateRedisCluster } from '../../test/support/private-redis-cluster.ts';

type StoreKind = 'lmdb' | 'redis' | 'redis-cluster';

/** Distinct bodies per scenario: enough that reads spread over the data, not one hot key. */
const BODY_COUNT: Record<number, number> = { 1: 1000, 100: 200 };

/** Targets from the issue, on this machine. */
const TARGETS: Record<string, HttpTargets> = {
  'features-1:lmdb': { minRatio: 0.8 },
  'features-1:redis': { minRatio: 0.6 },
  'features-100:lmdb': { maxServerTimeP99Us: 1000 },
  'features-100:redis': { maxServerTimeP99Us: 2000 },
};

/** `sets` deterministic sets of `size` distinct user ids in 1..users. */
export function userIdSets(users: number, size: number, sets: number, seed = 7): number[][] {
  const random = seededRandom(seed + size);
  const out: number[][] = [];
  for (let s = 0; s < sets; s++) {
    const ids = new Set<number>();
    while (ids.size < size) ids.add(1 + Math.floor(random() * users));
    out.push([...ids]);
  }
  return out;
}

export function requestBody(ids: readonly number[]): string {
  return JSON.stringify({ feature_service: FRAUD_SERVICE, entities: { user_id: ids } });
}

interface FeastJson {
  metadata?: { feature_names?: string[] };
  results?: { values?: unknown[]; statuses?: string[] }[];
}

/** Every feature of every entity PRESENT (a NOT_FOUND or expired answer would measure less work). */
export function validateFeatures(response: CapturedResponse, body: string): string | undefined {
  const count = (JSON.parse(body) as { entities: { user_id: unknown[] } }).entities.user_id.length;
  let doc: FeastJson;
  try {
    doc = JSON.parse(response.body.toString('utf8')) as FeastJson;
  } catch {
    return 'the response is not JSON';
  }
  const names = doc.metadata?.feature_names ?? [];
  const results = doc.results ?? [];
  if (names.length !== 18 || results.length !== 18)
    return `expected user_id + 17 features, got ${names.length} names`;
  for (const [i, column] of results.entries()) {
    if (column.values?.length !== count)
      return `column ${names[i]} has ${column.values?.length} values for ${count} entities`;
    const bad = column.statuses?.find((s) => s !== 'PRESENT');
    if (bad !== undefined)
      return `feature ${names[i]} has status ${bad} (is the bench data materialized and fresh?)`;
  }
  return undefined;
}

async function rawLimits(
  data: FraudData,
  sets: readonly number[][],
  store: StoreKind,
): Promise<{ figures: LimitFigure[]; details: unknown }> {
  const online = await openStore(data.config);
  try {
    const keySets = sets.map((ids) => ids.map(String));
    const results = await measureRawReads(online, FRAUD_VIEW, keySets, { seconds: 1, concurrency: 32 });
    const figures = results.map((r): LimitFigure => ({
      label: `${store} read(${r.keysPerRead} key${r.keysPerRead === 1 ? '' : 's'})`,
      usPerOp: r.usPerRead,
      note: store === 'lmdb' ? undefined : r.mode === 'sequential' ? 'seq' : `${r.concurrency} in flight`,
    }));
    const missing = results.find((r) => r.hitRate < 1);
    if (missing)
      throw new Error(`raw ${store} reads found only ${(missing.hitRate * 100).toFixed(1)}% of the keys`);
    return { figures, details: results };
  } finally {
    await online.close();
  }
}

function featuresScenario(entities: 1 | 100, store: StoreKind): Scenario {
  const name = `features-${entities}`;
  const id = `${name}:${store}`;
  return {
    id,
    description: `POST /get-online-features, feature service ${FRAUD_SERVICE}, ${entities} user(s) per request, ${store} store`,
    async run(settings: BenchSettings): Promise<ScenarioOutput> {
      if (store !== 'redis-cluster') return measure(settings);
      // A real three-master cluster on this machine, started for the run and stopped after it.
      settings.log('Starting a Redis Cluster of 3 masters (redis-server, free ports)…');
      const cluster = await PrivateRedisCluster.start(3);
      let data: FraudData | undefined;
      try {
        data = await prepareFraudRedisCluster(settings, cluster.urls);
        return await measure(settings, data);
      } finally {
        if (data !== undefined) await rm(data.configPath, { force: true });
        await cluster.stop();
      }
    },
  };

  async function measure(settings: BenchSettings, prepared?: FraudData): Promise<ScenarioOutput> {
    const data =
      prepared ?? (store === 'lmdb' ? await prepareFraudLmdb(settings) : await prepareFraudRedis(settings));
    const sets = userIdSets(data.users, entities, BODY_COUNT[entities]!);
    const outcome = await runHttpScenario(
      {
        scenario: name,
        variant: store,
        configPath: data.configPath,
        path: '/get-online-features',
        bodies: sets.map(requestBody),
        validate: validateFeatures,
        limits: () => rawLimits(data, sets, store),
        targets: TARGETS[id],
      },
      settings,
    );
    return {
      rows: [outcome.row],
      markdown:
        outcome.profile === undefined
          ? undefined
          : `CPU profile of Quiver (separate run, ${settings.seconds} s at ${settings.connections} connections):\n\n${outcome.profile.markdown}`,
      details: { rawStore: outcome.limitDetails, users: data.users, profile: outcome.profile },
      warnings: outcome.warnings,
    };
  }
}

export const scenarios: readonly Scenario[] = [
  featuresScenario(1, 'lmdb'),
  featuresScenario(1, 'redis'),
  featuresScenario(100, 'lmdb'),
  featuresScenario(100, 'redis'),
  featuresScenario(1, 'redis-cluster'),
  featuresScenario(100, 'redis-cluster'),
];
