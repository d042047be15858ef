/**
 * The validated, defaulted and frozen config that the rest of Quiver consumes. Paths are absolute
 * (resolved against the config file's directory).
 */
import type {
  AuthConfig,
  EntityConfig,
  FeatureServiceConfig,
  FeatureViewConfig,
  ModelConfig,
  OnDemandFeatureViewConfig,
  RateLimitConfig,
  ServerConfig,
} from './types.ts';
import type { RedisTarget } from '../redis/target.ts';
import type { CircuitBreakerPolicy } from '../resilience/circuit-breaker.ts';

export type ResolvedOnlineStoreConfig =
  | { readonly type: 'lmdb'; readonly path: string }
  | ({
      readonly type: 'redis';
      readonly keyPrefix: string;
      readonly commandTimeoutMs: number;
      readonly hotCacheEntries: number;
      readonly breaker: CircuitBreakerPolicy;
    } & RedisTarget)
  | { readonly type: 'memory' };

export interface ResolvedModelConfig extends ModelConfig {
  readonly runners: number;
  readonly intraOpThreads: number;
  readonly batching: Required<NonNullable<ModelConfig['batching']>>;
  readonly queue: Required<Omit<NonNullable<ModelConfig['queue']>, 'shedding'>> &
    Pick<NonNullable<ModelConfig['queue']>, 'shedding'>;
}

export interface ResolvedRateLimitConfig extends Omit<RateLimitConfig, 'redisUrl' | 'redisCluster'> {
  readonly store: 'memory' | 'redis';
  /** Where a 'redis' limiter keeps its buckets. */
  readonly redis: RedisTarget;
}

export interface ResolvedConfig {
  readonly project: string;
  /** Absolute path of the config file ('' when built in code). */
  readonly configPath: string;
  /** Directory relative paths in the config were resolved against. */
  readonly baseDir: string;
  readonly onlineStore: ResolvedOnlineStoreConfig;
  readonly entities: readonly EntityConfig[];
  readonly featureViews: readonly FeatureViewConfig[];
  readonly onDemandFeatureViews: readonly OnDemandFeatureViewConfig[];
  readonly featureServices: readonly FeatureServiceConfig[];
  readonly models: readonly ResolvedModelConfig[];
  readonly server: Required<ServerConfig>;
  readonly auth: AuthConfig;
  readonly rateLimits: readonly ResolvedRateLimitConfig[];
  readonly jobs: ResolvedJobsConfig;
}

export interface ResolvedJobsConfig {
  readonly broker:
    | {
        readonly type: 'rabbitmq';
        readonly url: string;
        readonly queue: string;
        readonly maxAttempts: number;
        readonly publishTimeoutMs: number;
      }
    | { readonly type: 'memory'; readonly maxAttempts: number };
  readonly results:
    ({ readonly type: 'redis'; readonly keyPrefix: string } & RedisTarget) | { readonly type: 'memory' };
  readonly resultTtlSeconds: number;
  readonly consumeInServer: boolean;
  readonly prefetch: number;
  readonly callbackTimeoutMs: number;
}
