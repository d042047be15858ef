/**
 * The validated, defaulted and frozen config that the rest of Quiver consumes. Paths are absolute
 * (resolved against the config file's directory).
 */
import type {
  AuthConfig,
  EntityConfig,
  FeatureServiceConfig,
  FeatureViewConfig,
  JobsConfig,
  ModelConfig,
  OnDemandFeatureViewConfig,
  OnlineStoreConfig,
  RateLimitConfig,
  ServerConfig,
} from './types.ts';

export interface ResolvedModelConfig extends ModelConfig {
  readonly runners: number;
  readonly intraOpThreads: number;
  readonly batching: Required<NonNullable<ModelConfig['batching']>>;
  readonly queue: Required<Omit<NonNullable<ModelConfig['queue']>, 'shedding'>> &
    Pick<NonNullable<ModelConfig['queue']>, 'shedding'>;
}

export interface ResolvedConfig {
  readonly project: string;
  /** Absolute path of the config file ('' when built in code). */
  readonly configPath: string;
  /** Directory relative paths in the config were resolved against. */
  readonly baseDir: string;
  readonly onlineStore: OnlineStoreConfig;
  readonly entities: readonly EntityConfig[];
  readonly featureViews: readonly FeatureViewConfig[];
  readonly onDemandFeatureViews: readonly OnDemandFeatureViewConfig[];
  readonly featureServices: readonly FeatureServiceConfig[];
  readonly models: readonly ResolvedModelConfig[];
  readonly server: Required<ServerConfig>;
  readonly auth: AuthConfig;
  readonly rateLimits: readonly RateLimitConfig[];
  readonly jobs: JobsConfig;
}
