/**
 * The shape of `quiver.config.ts`. Users write a plain object (optionally through `defineConfig` for
 * editor help); `config/validate.ts` checks it once, fills defaults (config/defaults.ts) and freezes it.
 *
 * @example
 *   import { defineConfig } from 'quiver';
 *   export default defineConfig({ project: 'fraud', entities: [...], featureViews: [...] });
 */

/** Feature value types. `float32[]` is a fixed- or variable-length embedding. */
export type FeatureType = 'int64' | 'float32' | 'float64' | 'bool' | 'string' | 'float32[]';

export const FEATURE_TYPES: readonly FeatureType[] = [
  'int64',
  'float32',
  'float64',
  'bool',
  'string',
  'float32[]',
];

/** The feature types a model takes as input (a bool as 0/1): every other type is refused. */
export const MODEL_INPUT_TYPES: ReadonlySet<FeatureType> = new Set<FeatureType>([
  'int64',
  'float32',
  'float64',
  'bool',
]);

export interface EntityConfig {
  name: string;
  /** One join key, or several for a composite entity (e.g. ['merchant_id', 'country']). */
  joinKeys: string[];
  description?: string;
}

export type SourceConfig =
  | { type: 'csv'; path: string; timestampField: string }
  | { type: 'parquet'; path: string; timestampField: string }
  | {
      type: 'postgres';
      /** Connection string; defaults to env QUIVER_PG_URL / PG* variables. */
      url?: string;
      /** A SELECT returning the join keys, the timestamp field and the features. */
      query: string;
      timestampField: string;
    };

export interface FeatureViewConfig {
  name: string;
  /** Entity names; the view's key is the concatenation of their join keys, in order. */
  entities: string[];
  /** Values older than this are served with status OUTSIDE_MAX_AGE. 0 = never expire. */
  ttlSeconds?: number;
  /**
   * How far in the future an event time written by push or materialize may be (clock skew between
   * a producer and Quiver). Later rows are refused: writes keep the newest event, so one stamped in
   * 2099 would freeze the entity for good. Default 900 (15 minutes).
   */
  maxFutureSeconds?: number;
  schema: Record<string, FeatureType>;
  source?: SourceConfig;
  /** Name accepted as `push_source_name` in POST /push (defaults to the view name). */
  pushSourceName?: string;
  /** Value used by predict-by-entity when a feature is missing or stale (default 0). */
  defaults?: Record<string, number>;
  description?: string;
}

export interface OnDemandFeatureViewConfig {
  name: string;
  /** Stored features used as inputs: { view: [feature, ...] }. */
  inputs: Record<string, string[]>;
  /** Request-time fields and their types. */
  request?: Record<string, FeatureType>;
  schema: Record<string, FeatureType>;
  /**
   * Pure, vectorised over a batch: each input arrives as a Float64Array of the batch's rows (numeric
   * inputs), or an array (string inputs); return one column per schema field, same length.
   */
  transform: (batch: Record<string, Float64Array>) => Record<string, ArrayLike<number>>;
  /** 'inline' (default) runs on the event loop; 'worker' runs in the transform worker pool. */
  runIn?: 'inline' | 'worker';
}

export interface FeatureServiceConfig {
  name: string;
  /** Refs: "view:feature" or "view:*" (also on-demand views). */
  features: string[];
}

export interface BatchingConfig {
  maxBatchSize?: number;
  maxQueueDelayUs?: number;
  preferredBatchSizes?: number[];
}

export interface QueueConfig {
  priorityLevels?: number;
  /** 1 = highest priority. */
  defaultPriority?: number;
  /** Per level. */
  maxQueueSize?: number;
  defaultTimeoutMs?: number;
  /** CoDel-style adaptive shedding; off unless set. */
  shedding?: { targetDelayMs: number; intervalMs: number };
}

export interface ModelConfig {
  name: string;
  path: string;
  version?: string;
  /** Needed only for POST /v1/models/{m}/predict. */
  featureService?: string;
  /** Runner threads for this model. */
  runners?: number;
  intraOpThreads?: number;
  batching?: BatchingConfig;
  queue?: QueueConfig;
}

export type OnlineStoreConfig =
  | { type: 'lmdb'; path?: string }
  | {
      type: 'redis';
      /** One Redis server. Default redis://127.0.0.1:6379 unless `cluster` is set. */
      url?: string;
      /** Instead of `url`: seed node URLs of a Redis Cluster (any reachable node finds the rest). */
      cluster?: string[];
      keyPrefix?: string;
      commandTimeoutMs?: number;
      /** (key, row) entries of recent reads kept per view, served while Redis is down; 0: none. */
      hotCacheEntries?: number;
      /** The circuit breaker in front of Redis (docs/resilience.md); each field has a default. */
      breaker?: {
        /** Consecutive failures that open the circuit. Default 5. */
        consecutiveFailures?: number;
        /** Failure rate in (0, 1] over `windowMs` that opens it, once `minimumCalls` were made. Default 0.5. */
        failureRate?: number;
        /** Default 10000. */
        windowMs?: number;
        /** Default 20. */
        minimumCalls?: number;
        /** How long it stays open before one probe call. Default 1000. */
        openMs?: number;
      };
    }
  | { type: 'memory' };

export interface ServerConfig {
  port?: number;
  host?: string;
  maxBodyBytes?: number;
  /** Max entities in one /get-online-features request. */
  maxEntitiesPerRequest?: number;
  /** Graceful drain limit on SIGTERM. */
  drainTimeoutMs?: number;
  /**
   * How long (µs) a finished answer on the hot routes may wait to be written together with the
   * other answers of its event-loop turn (fewer client wake-ups under load). 0 writes each at once.
   */
  writeHoldMicros?: number;
}

export type Scope = 'features:read' | 'features:write' | 'predict' | 'admin';

export const SCOPES: readonly Scope[] = ['features:read', 'features:write', 'predict', 'admin'];

export interface AuthConfig {
  /** Must be set explicitly to turn auth off. */
  enabled?: boolean;
  apiKeys?: { id: string; keySha256: string; scopes: Scope[] }[];
}

export interface RateLimitConfig {
  key: 'apiKey' | 'ip';
  tokensPerSecond: number;
  burst: number;
  store?: 'memory' | 'redis';
  /** For store 'redis'; by default the online store's Redis (server or cluster), else the local one. */
  redisUrl?: string;
  /** Instead of `redisUrl`: seed node URLs of a Redis Cluster. */
  redisCluster?: string[];
}

/** Async jobs (docs/jobs.md). Without a broker, an in-process queue runs them: NOT durable. */
export interface JobsConfig {
  broker?:
    | {
        type: 'rabbitmq';
        url: string;
        /** Work queue; `<queue>.dead` holds poison jobs. Default 'quiver.jobs'. */
        queue?: string;
        /** Runs of one job before it is dead-lettered. Default 3. */
        maxAttempts?: number;
        /** How long an enqueue waits for the broker's confirm. Default 5000. */
        publishTimeoutMs?: number;
      }
    | { type: 'memory'; maxAttempts?: number };
  /** Where job records live: Redis (default with rabbitmq, shared by every instance) or memory. */
  results?: { type: 'redis'; url?: string; cluster?: string[]; keyPrefix?: string } | { type: 'memory' };
  resultTtlSeconds?: number;
  /** Whether `quiver serve` runs jobs too. Default true with the memory broker, false with rabbitmq. */
  consumeInServer?: boolean;
  /** Jobs in flight per consumer. Default 16. */
  prefetch?: number;
  /** Timeout of the POST to a job's callback_url. Default 5000. */
  callbackTimeoutMs?: number;
}

export interface QuiverConfig {
  project: string;
  onlineStore?: OnlineStoreConfig;
  entities: EntityConfig[];
  featureViews: FeatureViewConfig[];
  onDemandFeatureViews?: OnDemandFeatureViewConfig[];
  featureServices?: FeatureServiceConfig[];
  models?: ModelConfig[];
  server?: ServerConfig;
  auth?: AuthConfig;
  rateLimits?: RateLimitConfig[];
  jobs?: JobsConfig;
}

/** Identity function that gives `quiver.config.ts` full type checking and completion. */
export function defineConfig(config: QuiverConfig): QuiverConfig {
  return config;
}
