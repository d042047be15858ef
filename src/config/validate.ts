/**
 * Validates a user config once, at the edge: every problem is collected (not just the first) and
 * reported as "expected X, got Y at featureViews[2].ttlSeconds". The result has defaults filled in,
 * paths made absolute, and is deeply frozen.
 */
import path from 'node:path';
import { quiverError } from '../errors.ts';
import { describe as describeValue } from '../features/values.ts';
import { DEFAULTS } from './defaults.ts';
import { didYouMean } from './did-you-mean.ts';
import { redisTarget, type RedisTarget } from '../redis/target.ts';
import type { CircuitBreakerPolicy } from '../resilience/circuit-breaker.ts';
import type { ResolvedConfig, ResolvedJobsConfig, ResolvedModelConfig } from './resolved.ts';
import {
  FEATURE_TYPES,
  MODEL_INPUT_TYPES,
  SCOPES,
  type AuthConfig,
  type BatchingConfig,
  type EntityConfig,
  type FeatureServiceConfig,
  type FeatureType,
  type FeatureViewConfig,
  type JobsConfig,
  type ModelConfig,
  type OnDemandFeatureViewConfig,
  type OnlineStoreConfig,
  type QueueConfig,
  type QuiverConfig,
  type RateLimitConfig,
  type Scope,
  type ServerConfig,
  type SourceConfig,
} from './types.ts';

const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

type Obj = Record<string, unknown>;

class Issues {
  readonly list: string[] = [];
  add(at: string, expected: string, got: unknown): void {
    this.list.push(`expected ${expected}, got ${describeValue(got)} at ${at}`);
  }
  note(at: string, message: string): void {
    this.list.push(`${message} at ${at}`);
  }
  /**
   * Refuses keys the config does not define: a misspelt optional key (`ttlSecond`) would otherwise
   * be ignored without a word, and its default used instead.
   */
  keys(o: Obj, at: string, known: readonly string[]): void {
    for (const key of Object.keys(o)) {
      if (known.includes(key)) continue;
      const guess = didYouMean(key, known);
      this.note(
        at === 'config' ? key : `${at}.${key}`,
        guess === undefined
          ? `unknown key "${key}" (known: ${known.join(', ')})`
          : `unknown key "${key}", did you mean "${guess}"?`,
      );
    }
  }
}

/**
 * All the keys of T and nothing else: the compiler refuses a list that misses a key of types.ts or
 * names one it does not have, so the keys validation accepts cannot drift from the config's type.
 */
function keysOf<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    keys: K &
      (Exclude<keyof T, K[number]> extends never ? unknown : { missing: Exclude<keyof T, K[number]> }),
  ): readonly string[] => keys;
}

type RedisStoreConfig = Extract<OnlineStoreConfig, { type: 'redis' }>;
type Broker = NonNullable<JobsConfig['broker']>;
type Results = NonNullable<JobsConfig['results']>;

/** The keys each config object may have (types.ts). */
const KNOWN = {
  config: keysOf<QuiverConfig>()([
    'project',
    'onlineStore',
    'entities',
    'featureViews',
    'onDemandFeatureViews',
    'featureServices',
    'models',
    'server',
    'auth',
    'rateLimits',
    'jobs',
  ]),
  entity: keysOf<EntityConfig>()(['name', 'joinKeys', 'description']),
  featureView: keysOf<FeatureViewConfig>()([
    'name',
    'entities',
    'ttlSeconds',
    'maxFutureSeconds',
    'schema',
    'source',
    'pushSourceName',
    'defaults',
    'description',
  ]),
  fileSource: keysOf<Extract<SourceConfig, { type: 'csv' | 'parquet' }>>()([
    'type',
    'path',
    'timestampField',
  ]),
  postgresSource: keysOf<Extract<SourceConfig, { type: 'postgres' }>>()([
    'type',
    'url',
    'query',
    'timestampField',
  ]),
  onDemandView: keysOf<OnDemandFeatureViewConfig>()([
    'name',
    'inputs',
    'request',
    'schema',
    'transform',
    'runIn',
  ]),
  featureService: keysOf<FeatureServiceConfig>()(['name', 'features']),
  model: keysOf<ModelConfig>()([
    'name',
    'path',
    'version',
    'featureService',
    'runners',
    'intraOpThreads',
    'batching',
    'queue',
  ]),
  batching: keysOf<BatchingConfig>()(['maxBatchSize', 'maxQueueDelayUs', 'preferredBatchSizes']),
  queue: keysOf<QueueConfig>()([
    'priorityLevels',
    'defaultPriority',
    'maxQueueSize',
    'defaultTimeoutMs',
    'shedding',
  ]),
  shedding: keysOf<NonNullable<QueueConfig['shedding']>>()(['targetDelayMs', 'intervalMs']),
  lmdbStore: keysOf<Extract<OnlineStoreConfig, { type: 'lmdb' }>>()(['type', 'path']),
  redisStore: keysOf<RedisStoreConfig>()([
    'type',
    'url',
    'cluster',
    'keyPrefix',
    'commandTimeoutMs',
    'hotCacheEntries',
    'breaker',
  ]),
  memoryStore: keysOf<Extract<OnlineStoreConfig, { type: 'memory' }>>()(['type']),
  breaker: keysOf<NonNullable<RedisStoreConfig['breaker']>>()([
    'consecutiveFailures',
    'failureRate',
    'windowMs',
    'minimumCalls',
    'openMs',
  ]),
  server: keysOf<ServerConfig>()([
    'port',
    'host',
    'maxBodyBytes',
    'maxEntitiesPerRequest',
    'drainTimeoutMs',
    'writeHoldMicros',
  ]),
  auth: keysOf<AuthConfig>()(['enabled', 'apiKeys']),
  apiKey: keysOf<NonNullable<AuthConfig['apiKeys']>[number]>()(['id', 'keySha256', 'scopes']),
  rateLimit: keysOf<RateLimitConfig>()([
    'key',
    'tokensPerSecond',
    'burst',
    'store',
    'redisUrl',
    'redisCluster',
  ]),
  jobs: keysOf<JobsConfig>()([
    'broker',
    'results',
    'resultTtlSeconds',
    'consumeInServer',
    'prefetch',
    'callbackTimeoutMs',
  ]),
  rabbitmqBroker: keysOf<Extract<Broker, { type: 'rabbitmq' }>>()([
    'type',
    'url',
    'queue',
    'maxAttempts',
    'publishTimeoutMs',
  ]),
  memoryBroker: keysOf<Extract<Broker, { type: 'memory' }>>()(['type', 'maxAttempts']),
  redisResults: keysOf<Extract<Results, { type: 'redis' }>>()(['type', 'url', 'cluster', 'keyPrefix']),
  memoryResults: keysOf<Extract<Results, { type: 'memory' }>>()(['type']),
};

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(
  issues: Issues,
  o: Obj,
  key: string,
  at: string,
  opts: { optional?: boolean; name?: boolean } = {},
) {
  const v = o[key];
  if (v === undefined && opts.optional) return undefined;
  if (typeof v !== 'string' || v.length === 0) {
    issues.add(`${at}.${key}`, 'a non-empty string', v);
    return undefined;
  }
  if (opts.name && !NAME.test(v)) issues.add(`${at}.${key}`, 'a name of letters, digits, _ . - (no ":")', v);
  return v;
}

function int(issues: Issues, o: Obj, key: string, at: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    issues.add(`${at}.${key}`, `an integer in [${min}, ${max === Number.MAX_SAFE_INTEGER ? '∞' : max}]`, v);
    return undefined;
  }
  return v;
}

function arr(issues: Issues, o: Obj, key: string, at: string, optional = false): unknown[] {
  const v = o[key];
  if (v === undefined && optional) return [];
  if (!Array.isArray(v)) {
    issues.add(`${at}.${key}`, 'an array', v);
    return [];
  }
  return v;
}

/**
 * A Redis connection at `at`: `o[urlKey]` (one server) or `o[clusterKey]` (seed node URLs of a Redis
 * Cluster), at most one of them; `fallback` when neither is set.
 */
function redisTargetOf(
  issues: Issues,
  o: Obj,
  at: string,
  fallback: RedisTarget,
  keys: { url: string; cluster: string } = { url: 'url', cluster: 'cluster' },
): RedisTarget {
  const url = str(issues, o, keys.url, at, { optional: true });
  if (o[keys.cluster] === undefined) return url === undefined ? fallback : { url };
  if (url !== undefined)
    issues.note(at, `set ${keys.url} (one server) or ${keys.cluster} (a Redis Cluster), not both`);
  const nodes = arr(issues, o, keys.cluster, at);
  if (Array.isArray(o[keys.cluster]) && nodes.length === 0)
    issues.add(`${at}.${keys.cluster}`, 'at least one node URL (redis://host:port)', nodes);
  nodes.forEach((node, i) => {
    if (!isRedisUrl(node)) issues.add(`${at}.${keys.cluster}[${i}]`, 'a node URL redis://host:port', node);
  });
  return { cluster: nodes.filter(isRedisUrl) };
}

function isRedisUrl(v: unknown): v is string {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return (u.protocol === 'redis:' || u.protocol === 'rediss:') && u.hostname !== '';
  } catch {
    return false;
  }
}

/** onlineStore.breaker with defaults filled in (DEFAULTS.redisBreaker). */
function breakerOf(issues: Issues, raw: unknown): CircuitBreakerPolicy {
  const d = DEFAULTS.redisBreaker;
  const at = 'onlineStore.breaker';
  if (raw === undefined) return { ...d };
  if (!isObj(raw)) {
    issues.add(at, 'an object {consecutiveFailures, failureRate, windowMs, minimumCalls, openMs}', raw);
    return { ...d };
  }
  issues.keys(raw, at, KNOWN.breaker);
  const rate = raw.failureRate;
  if (rate !== undefined && (typeof rate !== 'number' || !(rate > 0 && rate <= 1)))
    issues.add(`${at}.failureRate`, 'a number in (0, 1]', rate);
  return {
    consecutiveFailures: int(issues, raw, 'consecutiveFailures', at, 1) ?? d.consecutiveFailures,
    failureRate: typeof rate === 'number' && rate > 0 && rate <= 1 ? rate : d.failureRate,
    // Ten buckets of at least 1 ms each (resilience/circuit-breaker.ts).
    windowMs: int(issues, raw, 'windowMs', at, 10) ?? d.windowMs,
    minimumCalls: int(issues, raw, 'minimumCalls', at, 1) ?? d.minimumCalls,
    openMs: int(issues, raw, 'openMs', at, 1) ?? d.openMs,
  };
}

function unique(issues: Issues, seen: Set<string>, name: string | undefined, at: string, what: string): void {
  if (name === undefined) return;
  if (seen.has(name)) issues.note(at, `duplicate ${what} "${name}"`);
  seen.add(name);
}

function schemaOf(issues: Issues, o: Obj, at: string): Record<string, FeatureType> {
  const schema = o.schema;
  if (!isObj(schema) || Object.keys(schema).length === 0) {
    issues.add(`${at}.schema`, 'an object of feature name → type', schema);
    return {};
  }
  for (const [feature, type] of Object.entries(schema)) {
    if (!NAME.test(feature)) issues.add(`${at}.schema`, 'feature names of letters, digits, _ . -', feature);
    if (!FEATURE_TYPES.includes(type as FeatureType)) {
      issues.add(`${at}.schema.${feature}`, `one of ${FEATURE_TYPES.join(', ')}`, type);
    }
  }
  return schema as Record<string, FeatureType>;
}

/** `queue.shedding`: absent (off) or `{targetDelayMs, intervalMs}`, both positive numbers of ms. */
function sheddingOf(issues: Issues, raw: unknown, at: string): ResolvedModelConfig['queue']['shedding'] {
  if (raw === undefined) return undefined;
  if (!isObj(raw)) {
    issues.add(at, 'an object {targetDelayMs, intervalMs}', raw);
    return undefined;
  }
  issues.keys(raw, at, KNOWN.shedding);
  const positive = (key: string): number => {
    const v = raw[key];
    if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v;
    issues.add(`${at}.${key}`, 'a positive number of milliseconds', v);
    return Number.NaN;
  };
  return { targetDelayMs: positive('targetDelayMs'), intervalMs: positive('intervalMs') };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * @param raw the config module's default export
 * @param configPath absolute path of the config file, for messages and relative paths
 */
export function validateConfig(raw: unknown, configPath: string): ResolvedConfig {
  const issues = new Issues();
  const baseDir = configPath ? path.dirname(configPath) : process.cwd();
  const abs = (p: string): string => path.resolve(baseDir, p);
  if (!isObj(raw)) {
    throw quiverError('QUIVER_ERR_CONFIG_INVALID', {
      path: configPath,
      reason: `expected the default export to be a config object, got ${describeValue(raw)}`,
    });
  }
  const c = raw as Obj;
  issues.keys(c, 'config', KNOWN.config);
  const project = str(issues, c, 'project', 'config', { name: true }) ?? '';

  // ── entities ─────────────────────────────────────────────────────────────────────────────────
  const entityNames = new Map<string, string[]>();
  arr(issues, c, 'entities', 'config').forEach((e, i) => {
    const at = `entities[${i}]`;
    if (!isObj(e)) return issues.add(at, 'an object {name, joinKeys}', e);
    issues.keys(e, at, KNOWN.entity);
    const name = str(issues, e, 'name', at, { name: true });
    const keys = arr(issues, e, 'joinKeys', at);
    if (keys.length === 0) issues.add(`${at}.joinKeys`, 'at least one join key', keys);
    keys.forEach((k, j) => {
      if (typeof k !== 'string' || !NAME.test(k)) issues.add(`${at}.joinKeys[${j}]`, 'a join key name', k);
    });
    if (name !== undefined) {
      if (entityNames.has(name)) issues.note(at, `duplicate entity "${name}"`);
      entityNames.set(name, keys as string[]);
    }
  });

  // ── feature views ────────────────────────────────────────────────────────────────────────────
  const viewSchemas = new Map<string, Record<string, FeatureType>>();
  const viewNames = new Set<string>();
  const pushNames = new Set<string>();
  const featureViews = arr(issues, c, 'featureViews', 'config').map((v, i) => {
    const at = `featureViews[${i}]`;
    if (!isObj(v)) {
      issues.add(at, 'an object {name, entities, schema}', v);
      return v;
    }
    issues.keys(v, at, KNOWN.featureView);
    const name = str(issues, v, 'name', at, { name: true });
    unique(issues, viewNames, name, at, 'feature view');
    const joinKeys: string[] = [];
    const ents = arr(issues, v, 'entities', at);
    if (ents.length === 0) issues.add(`${at}.entities`, 'at least one entity name', ents);
    ents.forEach((e, j) => {
      const keys = typeof e === 'string' ? entityNames.get(e) : undefined;
      if (!keys)
        issues.add(`${at}.entities[${j}]`, `a declared entity (${[...entityNames.keys()].join(', ')})`, e);
      else joinKeys.push(...keys);
    });
    const ttl = v.ttlSeconds;
    if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl < 0)) {
      issues.add(`${at}.ttlSeconds`, 'a number of seconds ≥ 0 (0 = never expire)', ttl);
    }
    const maxFuture = v.maxFutureSeconds;
    if (
      maxFuture !== undefined &&
      (typeof maxFuture !== 'number' || !Number.isFinite(maxFuture) || maxFuture < 0)
    ) {
      issues.add(`${at}.maxFutureSeconds`, 'a number of seconds ≥ 0', maxFuture);
    }
    const schema = schemaOf(issues, v, at);
    for (const f of Object.keys(schema)) {
      if (joinKeys.includes(f))
        issues.note(`${at}.schema.${f}`, `feature "${f}" has the same name as a join key`);
    }
    if (name) viewSchemas.set(name, schema);
    const pushName = str(issues, v, 'pushSourceName', at, { optional: true, name: true }) ?? name;
    unique(issues, pushNames, pushName, `${at}.pushSourceName`, 'push source name');
    if (v.defaults !== undefined) {
      if (!isObj(v.defaults)) issues.add(`${at}.defaults`, 'an object of feature → number', v.defaults);
      else
        for (const [f, d] of Object.entries(v.defaults)) {
          if (!(f in schema)) issues.note(`${at}.defaults.${f}`, `default for unknown feature "${f}"`);
          if (typeof d !== 'number' || !Number.isFinite(d))
            issues.add(`${at}.defaults.${f}`, 'a finite number', d);
        }
    }
    const source = v.source;
    let resolvedSource = source;
    if (source !== undefined) {
      if (!isObj(source)) issues.add(`${at}.source`, 'an object {type, ...}', source);
      else {
        const sat = `${at}.source`;
        str(issues, source, 'timestampField', sat);
        if (source.type === 'csv' || source.type === 'parquet') {
          issues.keys(source, sat, KNOWN.fileSource);
          const p = str(issues, source, 'path', sat);
          if (p) resolvedSource = { ...source, path: abs(p) };
        } else if (source.type === 'postgres') {
          issues.keys(source, sat, KNOWN.postgresSource);
          str(issues, source, 'query', sat);
          str(issues, source, 'url', sat, { optional: true });
        } else issues.add(`${sat}.type`, '"csv", "parquet" or "postgres"', source.type);
      }
    }
    return {
      ...v,
      ttlSeconds: typeof ttl === 'number' ? ttl : DEFAULTS.ttlSeconds,
      maxFutureSeconds: typeof maxFuture === 'number' ? maxFuture : DEFAULTS.maxFutureSeconds,
      source: resolvedSource,
    };
  });

  // ── on-demand feature views ──────────────────────────────────────────────────────────────────
  const odfvSchemas = new Map<string, Record<string, FeatureType>>();
  const onDemandFeatureViews = arr(issues, c, 'onDemandFeatureViews', 'config', true).map((v, i) => {
    const at = `onDemandFeatureViews[${i}]`;
    if (!isObj(v)) return issues.add(at, 'an object {name, inputs, schema, transform}', v);
    issues.keys(v, at, KNOWN.onDemandView);
    const name = str(issues, v, 'name', at, { name: true });
    unique(issues, viewNames, name, at, 'feature view');
    if (!isObj(v.inputs)) issues.add(`${at}.inputs`, 'an object of view → [feature, ...]', v.inputs);
    else
      for (const [view, feats] of Object.entries(v.inputs)) {
        const schema = viewSchemas.get(view);
        if (!schema) issues.add(`${at}.inputs`, 'names of declared feature views', view);
        else if (!Array.isArray(feats))
          issues.add(`${at}.inputs.${view}`, 'an array of feature names', feats);
        else
          for (const f of feats) {
            if (!(String(f) in schema)) issues.add(`${at}.inputs.${view}`, `features of "${view}"`, f);
          }
      }
    if (v.request !== undefined) {
      if (!isObj(v.request)) issues.add(`${at}.request`, 'an object of field → type', v.request);
      else
        for (const [f, t] of Object.entries(v.request)) {
          if (!FEATURE_TYPES.includes(t as FeatureType))
            issues.add(`${at}.request.${f}`, FEATURE_TYPES.join(', '), t);
        }
    }
    const schema = schemaOf(issues, v, at);
    if (name) odfvSchemas.set(name, schema);
    if (typeof v.transform !== 'function')
      issues.add(`${at}.transform`, 'a function (batch) => columns', v.transform);
    if (v.runIn !== undefined && v.runIn !== 'inline' && v.runIn !== 'worker') {
      issues.add(`${at}.runIn`, '"inline" or "worker"', v.runIn);
    }
    return v;
  });

  // ── feature services ─────────────────────────────────────────────────────────────────────────
  const serviceNames = new Set<string>();
  /** Per feature service, its features that are not numbers ("view:feature (type)"): no model takes them. */
  const textualFeatures = new Map<string, string[]>();
  /** Checks a reference; returns the types of the features it names. */
  const checkRef = (ref: unknown, at: string): [string, FeatureType][] => {
    if (typeof ref !== 'string') {
      issues.add(at, 'a feature reference "view:feature"', ref);
      return [];
    }
    const colon = ref.indexOf(':');
    const view = ref.slice(0, colon);
    const feature = ref.slice(colon + 1);
    const schema = viewSchemas.get(view) ?? odfvSchemas.get(view);
    if (colon <= 0 || !feature) issues.add(at, '"view:feature" or "view:*"', ref);
    else if (!schema) issues.add(at, `a reference to a declared feature view`, ref);
    else if (feature === '*') return Object.entries(schema).map(([f, t]) => [`${view}:${f}`, t]);
    else if (!(feature in schema)) issues.add(at, `a feature of "${view}"`, ref);
    else return [[ref, schema[feature]!]];
    return [];
  };
  arr(issues, c, 'featureServices', 'config', true).forEach((s, i) => {
    const at = `featureServices[${i}]`;
    if (!isObj(s)) return issues.add(at, 'an object {name, features}', s);
    issues.keys(s, at, KNOWN.featureService);
    const name = str(issues, s, 'name', at, { name: true });
    unique(issues, serviceNames, name, at, 'feature service');
    const refs = arr(issues, s, 'features', at);
    if (refs.length === 0) issues.add(`${at}.features`, 'at least one feature reference', refs);
    const textual = refs
      .flatMap((r, j) => checkRef(r, `${at}.features[${j}]`))
      .filter(([, type]) => !MODEL_INPUT_TYPES.has(type))
      .map(([ref, type]) => `${ref} (${type})`);
    if (name !== undefined) textualFeatures.set(name, textual);
  });

  // ── models ───────────────────────────────────────────────────────────────────────────────────
  const modelNames = new Set<string>();
  const models = arr(issues, c, 'models', 'config', true).map((m, i): ResolvedModelConfig | undefined => {
    const at = `models[${i}]`;
    if (!isObj(m)) return void issues.add(at, 'an object {name, path}', m);
    issues.keys(m, at, KNOWN.model);
    const name = str(issues, m, 'name', at, { name: true });
    unique(issues, modelNames, name, at, 'model');
    const p = str(issues, m, 'path', at);
    const fs = str(issues, m, 'featureService', at, { optional: true });
    if (fs !== undefined && !serviceNames.has(fs))
      issues.add(`${at}.featureService`, 'a declared feature service', fs);
    const textual = fs === undefined ? undefined : textualFeatures.get(fs);
    if (textual !== undefined && textual.length > 0) {
      issues.note(
        `${at}.featureService`,
        `feature service "${fs}" has features a model cannot take: ${textual.join(', ')} ` +
          `(a model's features must be numbers: ${[...MODEL_INPUT_TYPES].join(', ')})`,
      );
    }
    const b = isObj(m.batching) ? m.batching : {};
    const q = isObj(m.queue) ? m.queue : {};
    if (m.batching !== undefined && !isObj(m.batching)) issues.add(`${at}.batching`, 'an object', m.batching);
    if (m.queue !== undefined && !isObj(m.queue)) issues.add(`${at}.queue`, 'an object', m.queue);
    issues.keys(b, `${at}.batching`, KNOWN.batching);
    issues.keys(q, `${at}.queue`, KNOWN.queue);
    const d = DEFAULTS.model;
    const preferred = arr(issues, b, 'preferredBatchSizes', `${at}.batching`, true);
    preferred.forEach((n, j) => {
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) {
        issues.add(`${at}.batching.preferredBatchSizes[${j}]`, 'a positive integer', n);
      }
    });
    const priorityLevels = int(issues, q, 'priorityLevels', `${at}.queue`, 1, 16) ?? d.queue.priorityLevels;
    const queue = {
      priorityLevels,
      defaultPriority:
        int(issues, q, 'defaultPriority', `${at}.queue`, 1, priorityLevels) ??
        Math.min(d.queue.defaultPriority, priorityLevels),
      maxQueueSize: int(issues, q, 'maxQueueSize', `${at}.queue`, 1) ?? d.queue.maxQueueSize,
      defaultTimeoutMs: int(issues, q, 'defaultTimeoutMs', `${at}.queue`, 1) ?? d.queue.defaultTimeoutMs,
      shedding: sheddingOf(issues, q.shedding, `${at}.queue.shedding`),
    };
    return {
      ...(m as unknown as ResolvedModelConfig),
      name: name ?? '',
      path: p ? abs(p) : '',
      runners: int(issues, m, 'runners', at, 1, 64) ?? d.runners,
      intraOpThreads: int(issues, m, 'intraOpThreads', at, 1, 64) ?? d.intraOpThreads,
      batching: {
        maxBatchSize:
          int(issues, b, 'maxBatchSize', `${at}.batching`, 1, 1_000_000) ?? d.batching.maxBatchSize,
        maxQueueDelayUs: int(issues, b, 'maxQueueDelayUs', `${at}.batching`, 0) ?? d.batching.maxQueueDelayUs,
        preferredBatchSizes: (preferred as number[]).slice().sort((x, y) => x - y),
      },
      queue,
    };
  });

  // ── online store, server, auth, limits, jobs ────────────────────────────────────────────────
  let onlineStore: ResolvedConfig['onlineStore'] = { type: 'lmdb', path: abs(DEFAULTS.lmdbPath) };
  const os = c.onlineStore;
  if (os !== undefined) {
    if (!isObj(os)) issues.add('onlineStore', 'an object {type, ...}', os);
    else if (os.type === 'lmdb') {
      issues.keys(os, 'onlineStore', KNOWN.lmdbStore);
      onlineStore = {
        type: 'lmdb',
        path: abs(str(issues, os, 'path', 'onlineStore', { optional: true }) ?? DEFAULTS.lmdbPath),
      };
    } else if (os.type === 'redis') {
      issues.keys(os, 'onlineStore', KNOWN.redisStore);
      onlineStore = {
        type: 'redis',
        ...redisTargetOf(issues, os, 'onlineStore', { url: DEFAULTS.redisUrl }),
        keyPrefix: str(issues, os, 'keyPrefix', 'onlineStore', { optional: true }) ?? DEFAULTS.redisKeyPrefix,
        commandTimeoutMs:
          int(issues, os, 'commandTimeoutMs', 'onlineStore', 1) ?? DEFAULTS.redisCommandTimeoutMs,
        hotCacheEntries:
          int(issues, os, 'hotCacheEntries', 'onlineStore', 0, 1_000_000) ?? DEFAULTS.redisHotCacheEntries,
        breaker: breakerOf(issues, os.breaker),
      };
    } else if (os.type === 'memory') {
      issues.keys(os, 'onlineStore', KNOWN.memoryStore);
      onlineStore = { type: 'memory' };
    } else issues.add('onlineStore.type', '"lmdb", "redis" or "memory"', os.type);
  }

  const s = isObj(c.server) ? c.server : {};
  if (c.server !== undefined && !isObj(c.server)) issues.add('server', 'an object', c.server);
  issues.keys(s, 'server', KNOWN.server);
  const ds = DEFAULTS.server;
  const server = {
    port: int(issues, s, 'port', 'server', 0, 65535) ?? ds.port,
    host: str(issues, s, 'host', 'server', { optional: true }) ?? ds.host,
    maxBodyBytes: int(issues, s, 'maxBodyBytes', 'server', 1024) ?? ds.maxBodyBytes,
    maxEntitiesPerRequest: int(issues, s, 'maxEntitiesPerRequest', 'server', 1) ?? ds.maxEntitiesPerRequest,
    drainTimeoutMs: int(issues, s, 'drainTimeoutMs', 'server', 0) ?? ds.drainTimeoutMs,
    writeHoldMicros: int(issues, s, 'writeHoldMicros', 'server', 0, 100_000) ?? ds.writeHoldMicros,
  };

  const auth = isObj(c.auth) ? c.auth : {};
  if (c.auth !== undefined && !isObj(c.auth)) issues.add('auth', 'an object', c.auth);
  issues.keys(auth, 'auth', KNOWN.auth);
  if (auth.enabled !== undefined && typeof auth.enabled !== 'boolean')
    issues.add('auth.enabled', 'a boolean', auth.enabled);
  const keyIds = new Set<string>();
  const keyHashes = new Set<string>();
  arr(issues, auth, 'apiKeys', 'auth', true).forEach((k, i) => {
    const at = `auth.apiKeys[${i}]`;
    if (!isObj(k)) return issues.add(at, 'an object {id, keySha256, scopes}', k);
    issues.keys(k, at, KNOWN.apiKey);
    unique(issues, keyIds, str(issues, k, 'id', at), at, 'API key id');
    const h = k.keySha256;
    // The value is not echoed: a key pasted here by mistake must not end up in a log.
    if (typeof h !== 'string' || !/^[0-9a-f]{64}$/i.test(h)) {
      const got = typeof h === 'string' ? `a ${h.length}-character string` : describeValue(h);
      issues.note(`${at}.keySha256`, `expected a 64-hex-digit SHA-256 of the key (not the key), got ${got}`);
    } else if (keyHashes.has(h.toLowerCase()))
      issues.note(at, 'the same key (keySha256) is configured twice');
    else keyHashes.add(h.toLowerCase());
    const scopes = arr(issues, k, 'scopes', at);
    if (scopes.length === 0) issues.add(`${at}.scopes`, `at least one of ${SCOPES.join(', ')}`, scopes);
    scopes.forEach((sc, j) => {
      if (!SCOPES.includes(sc as Scope)) issues.add(`${at}.scopes[${j}]`, SCOPES.join(', '), sc);
    });
  });

  const rateLimits = arr(issues, c, 'rateLimits', 'config', true).map((r, i) => {
    const at = `rateLimits[${i}]`;
    if (!isObj(r)) return issues.add(at, 'an object {key, tokensPerSecond, burst}', r);
    issues.keys(r, at, KNOWN.rateLimit);
    if (r.key !== 'apiKey' && r.key !== 'ip') issues.add(`${at}.key`, '"apiKey" or "ip"', r.key);
    const rate = r.tokensPerSecond;
    if (typeof rate !== 'number' || !Number.isFinite(rate) || !(rate > 0)) {
      issues.add(`${at}.tokensPerSecond`, 'a positive number', rate);
    }
    if (r.burst === undefined) issues.add(`${at}.burst`, 'an integer in [1, ∞]', r.burst);
    int(issues, r, 'burst', at, 1);
    if (r.store !== undefined && r.store !== 'memory' && r.store !== 'redis')
      issues.add(`${at}.store`, '"memory" or "redis"', r.store);
    // A Redis limiter uses the online store's Redis unless told otherwise.
    const fallback = onlineStore.type === 'redis' ? redisTarget(onlineStore) : { url: DEFAULTS.redisUrl };
    const redis = redisTargetOf(issues, r, at, fallback, { url: 'redisUrl', cluster: 'redisCluster' });
    const { redisUrl: _url, redisCluster: _cluster, ...rule } = r;
    return { ...rule, store: r.store ?? DEFAULTS.rateLimits.store, redis };
  });

  const jobs = validateJobs(issues, c.jobs);

  if (issues.list.length > 0) {
    const n = issues.list.length;
    throw quiverError(
      'QUIVER_ERR_CONFIG_INVALID',
      {
        path: configPath || '(inline config)',
        reason: `${n} problem${n > 1 ? 's' : ''}:\n  - ${issues.list.join('\n  - ')}`,
      },
      { details: { issues: issues.list } },
    );
  }

  return deepFreeze({
    project,
    configPath,
    baseDir,
    onlineStore,
    entities: c.entities as ResolvedConfig['entities'],
    featureViews: featureViews as ResolvedConfig['featureViews'],
    onDemandFeatureViews: onDemandFeatureViews as unknown as ResolvedConfig['onDemandFeatureViews'],
    featureServices: (c.featureServices ?? []) as ResolvedConfig['featureServices'],
    models: models as ResolvedModelConfig[],
    server,
    auth: auth as ResolvedConfig['auth'],
    rateLimits: rateLimits as unknown as ResolvedConfig['rateLimits'],
    jobs,
  });
}

/** `jobs`: the broker (memory unless configured), where results live, and consumption settings. */
function validateJobs(issues: Issues, raw: unknown): ResolvedJobsConfig {
  const d = DEFAULTS.jobs;
  if (raw !== undefined && !isObj(raw)) issues.add('jobs', 'an object', raw);
  const j = isObj(raw) ? raw : {};
  issues.keys(j, 'jobs', KNOWN.jobs);
  const b = j.broker;
  let broker: ResolvedJobsConfig['broker'] = { type: 'memory', maxAttempts: d.maxAttempts };
  if (b !== undefined) {
    if (!isObj(b)) issues.add('jobs.broker', 'an object {type, ...}', b);
    else if (b.type === 'rabbitmq') {
      issues.keys(b, 'jobs.broker', KNOWN.rabbitmqBroker);
      const queue = str(issues, b, 'queue', 'jobs.broker', { optional: true, name: true }) ?? d.queue;
      broker = {
        type: 'rabbitmq',
        url: str(issues, b, 'url', 'jobs.broker') ?? '',
        queue,
        maxAttempts: int(issues, b, 'maxAttempts', 'jobs.broker', 1, 100) ?? d.maxAttempts,
        publishTimeoutMs: int(issues, b, 'publishTimeoutMs', 'jobs.broker', 1) ?? d.publishTimeoutMs,
      };
      if (broker.url !== '' && !/^amqps?:\/\//.test(broker.url))
        issues.add('jobs.broker.url', 'an amqp:// or amqps:// URL', broker.url);
    } else if (b.type === 'memory') {
      issues.keys(b, 'jobs.broker', KNOWN.memoryBroker);
      broker = {
        type: 'memory',
        maxAttempts: int(issues, b, 'maxAttempts', 'jobs.broker', 1, 100) ?? d.maxAttempts,
      };
    } else issues.add('jobs.broker.type', '"rabbitmq" or "memory"', b.type);
  }
  const r = j.results;
  // Records must be visible to every instance: with RabbitMQ (workers in other processes) that is Redis.
  let results: ResolvedJobsConfig['results'] =
    broker.type === 'rabbitmq'
      ? { type: 'redis', url: DEFAULTS.redisUrl, keyPrefix: DEFAULTS.redisKeyPrefix }
      : { type: 'memory' };
  if (r !== undefined) {
    if (!isObj(r)) issues.add('jobs.results', 'an object {type, ...}', r);
    else if (r.type === 'redis') {
      issues.keys(r, 'jobs.results', KNOWN.redisResults);
      results = {
        type: 'redis',
        ...redisTargetOf(issues, r, 'jobs.results', { url: DEFAULTS.redisUrl }),
        keyPrefix: str(issues, r, 'keyPrefix', 'jobs.results', { optional: true }) ?? DEFAULTS.redisKeyPrefix,
      };
    } else if (r.type === 'memory') {
      issues.keys(r, 'jobs.results', KNOWN.memoryResults);
      results = { type: 'memory' };
      if (broker.type === 'rabbitmq')
        issues.note(
          'jobs.results',
          'a memory result store is visible to one process only; use "redis" with rabbitmq',
        );
    } else issues.add('jobs.results.type', '"redis" or "memory"', r.type);
  }
  const consume = j.consumeInServer;
  if (consume !== undefined && typeof consume !== 'boolean')
    issues.add('jobs.consumeInServer', 'a boolean', consume);
  return {
    broker,
    results,
    resultTtlSeconds: int(issues, j, 'resultTtlSeconds', 'jobs', 1) ?? d.resultTtlSeconds,
    consumeInServer: typeof consume === 'boolean' ? consume : broker.type === 'memory',
    prefetch: int(issues, j, 'prefetch', 'jobs', 1, 10_000) ?? d.prefetch,
    callbackTimeoutMs: int(issues, j, 'callbackTimeoutMs', 'jobs', 1) ?? d.callbackTimeoutMs,
  };
}
