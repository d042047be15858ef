/**
 * Benchmark data: the fraud demo's deterministic generator (`prepareDemo`), 100k users by default,
 * materialized into LMDB (the demo config) and, for Redis (one server, or a Redis Cluster the bench
 * started), through a second config next to it that differs only in `onlineStore`. Reused across runs; regenerated when it gets old (the view's TTL is
 * 30 days, and expired features would change what is measured).
 */
import { existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { prepareDemo } from '../../src/cli/commands/demo.ts';
import { runMaterialize } from '../../src/cli/commands/materialize.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { ResolvedConfig } from '../../src/config/resolved.ts';
import { readWatermark } from '../../src/features/materialize.ts';
import { openStore } from '../../src/main.ts';
import type { BenchSettings } from './types.ts';

export const FRAUD_VIEW = 'user_stats';
export const FRAUD_SERVICE = 'fraud_v1';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const REDIS_KEY_PREFIX = 'qbench';
const MAX_DATA_AGE_MS = 7 * 86_400_000;
const SOURCE_META = 'bench:source';

export interface FraudData {
  readonly config: ResolvedConfig;
  readonly configPath: string;
  readonly users: number;
}

export function fraudUsers(): number {
  const users = Number(process.env.BENCH_USERS ?? 100_000);
  if (!Number.isInteger(users) || users < 100)
    throw new Error(`BENCH_USERS must be an integer ≥ 100, got ${process.env.BENCH_USERS}`);
  return users;
}

const dirOf = (settings: BenchSettings): string => path.join(settings.dataDir, 'fraud');

let lmdbOnce: Promise<FraudData> | undefined;

/** The demo directory, generated and materialized into LMDB once (`prepareDemo`). */
export function prepareFraudLmdb(settings: BenchSettings): Promise<FraudData> {
  lmdbOnce ??= (async () => {
    const dir = dirOf(settings);
    const users = fraudUsers();
    const csv = path.join(dir, 'data', 'user_stats.csv');
    if (existsSync(csv) && Date.now() - (await stat(csv)).mtimeMs > MAX_DATA_AGE_MS) {
      settings.log(`bench data in ${dir} is over a week old: regenerating (the view's TTL is 30 days)`);
      await rm(path.join(dir, 'data', 'demo.json'), { force: true });
    }
    const config = await prepareDemo(dir, users, (line) => settings.log(line));
    return { config, configPath: config.configPath, users };
  })();
  return lmdbOnce;
}

let redisOnce: Promise<FraudData> | undefined;

/** A Redis config beside the demo config (same sources), materialized into Redis once per CSV. */
export function prepareFraudRedis(settings: BenchSettings): Promise<FraudData> {
  redisOnce ??= prepareOnRedis(
    settings,
    'quiver.redis.config.ts',
    `url: ${JSON.stringify(REDIS_URL)}`,
    REDIS_URL,
  );
  return redisOnce;
}

/**
 * The same on a Redis Cluster reached through `nodes` (a fresh cluster: materialized every time).
 * The config file is named after the cluster's first port: a process imports a config path once
 * and keeps that module, so a later cluster (other ports) needs another file. Remove it after use.
 */
export function prepareFraudRedisCluster(
  settings: BenchSettings,
  nodes: readonly string[],
): Promise<FraudData> {
  return prepareOnRedis(
    settings,
    `quiver.redis-cluster-${new URL(nodes[0]!).port}.config.ts`,
    `cluster: ${JSON.stringify(nodes)}`,
    `a Redis Cluster of ${nodes.length} masters`,
  );
}

async function prepareOnRedis(
  settings: BenchSettings,
  configName: string,
  connection: string,
  where: string,
): Promise<FraudData> {
  const lmdb = await prepareFraudLmdb(settings);
  const dir = path.dirname(lmdb.configPath);
  const configPath = path.join(dir, configName);
  const text = await readFile(lmdb.configPath, 'utf8');
  const storeLine = /onlineStore:\s*\{[^}]*\}/;
  if (!storeLine.test(text)) throw new Error(`cannot find onlineStore in ${lmdb.configPath}`);
  const redisText = text.replace(
    storeLine,
    `onlineStore: { type: 'redis', ${connection}, keyPrefix: '${REDIS_KEY_PREFIX}' }`,
  );
  if (!existsSync(configPath) || (await readFile(configPath, 'utf8')) !== redisText)
    await writeFile(configPath, redisText);
  const config = await loadConfig(configPath);

  const csv = await stat(path.join(dir, 'data', 'user_stats.csv'));
  const source = `${csv.mtimeMs}:${csv.size}`;
  const store = await openStore(config);
  try {
    if (
      (await store.getMeta(SOURCE_META)) !== source ||
      (await readWatermark(store, FRAUD_VIEW)) === undefined
    ) {
      settings.log(`Materializing the bench data into ${where} (prefix ${REDIS_KEY_PREFIX})…`);
      const [summary] = await runMaterialize(config, store, { views: [FRAUD_VIEW] });
      if (summary && summary.bad > 0) throw new Error(`bench data has ${summary.bad} bad rows`);
      await store.setMeta(SOURCE_META, source);
    } else {
      settings.log(`Reusing the bench data in ${where} (prefix ${REDIS_KEY_PREFIX})`);
    }
  } finally {
    await store.close();
  }
  return { config, configPath, users: lmdb.users };
}
