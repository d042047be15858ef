/**
 * The registry: name lookups over a validated config, built once at start. Serving resolves feature
 * references through it when it compiles a plan (features/plan.ts), never per request.
 */
import { quiverError } from '../errors.ts';
import { DEFAULTS } from './defaults.ts';
import { suggestion } from './did-you-mean.ts';
import type { ResolvedConfig, ResolvedModelConfig } from './resolved.ts';
import type { FeatureType, FeatureViewConfig, OnDemandFeatureViewConfig } from './types.ts';

export interface FeatureViewInfo {
  readonly name: string;
  readonly joinKeys: readonly string[];
  /** Feature names in schema order (the order values are stored in). */
  readonly features: readonly string[];
  readonly types: readonly FeatureType[];
  readonly featureIndex: ReadonlyMap<string, number>;
  /** 0 = never expires. */
  readonly ttlMs: number;
  /** Written event times may be at most this far ahead of the writer's clock. */
  readonly maxFutureMs: number;
  readonly config: FeatureViewConfig;
}

export interface OnDemandViewInfo {
  readonly name: string;
  readonly features: readonly string[];
  readonly types: readonly FeatureType[];
  readonly config: OnDemandFeatureViewConfig;
}

export class Registry {
  readonly config: ResolvedConfig;
  readonly views: readonly FeatureViewInfo[];
  private readonly viewsByName = new Map<string, FeatureViewInfo>();
  private readonly viewsByPushSource = new Map<string, FeatureViewInfo>();
  private readonly odfvsByName = new Map<string, OnDemandViewInfo>();
  private readonly servicesByName = new Map<string, readonly string[]>();
  private readonly modelsByName = new Map<string, ResolvedModelConfig>();

  constructor(config: ResolvedConfig) {
    this.config = config;
    const joinKeysOf = new Map(config.entities.map((e) => [e.name, e.joinKeys]));
    this.views = config.featureViews.map((v) => {
      const features = Object.keys(v.schema);
      const info: FeatureViewInfo = {
        name: v.name,
        joinKeys: v.entities.flatMap((e) => joinKeysOf.get(e) ?? []),
        features,
        types: features.map((f) => v.schema[f]!),
        featureIndex: new Map(features.map((f, i) => [f, i])),
        ttlMs: (v.ttlSeconds ?? 0) * 1000,
        maxFutureMs: (v.maxFutureSeconds ?? DEFAULTS.maxFutureSeconds) * 1000,
        config: v,
      };
      this.viewsByName.set(v.name, info);
      this.viewsByPushSource.set(v.pushSourceName ?? v.name, info);
      return info;
    });
    for (const o of config.onDemandFeatureViews) {
      const features = Object.keys(o.schema);
      this.odfvsByName.set(o.name, {
        name: o.name,
        features,
        types: features.map((f) => o.schema[f]!),
        config: o,
      });
    }
    for (const s of config.featureServices) this.servicesByName.set(s.name, s.features);
    for (const m of config.models) this.modelsByName.set(m.name, m);
  }

  featureView(name: string): FeatureViewInfo {
    const view = this.viewsByName.get(name);
    if (!view)
      throw quiverError(
        'QUIVER_ERR_UNKNOWN_FEATURE_VIEW',
        { view: name },
        { details: suggestion(name, [...this.viewsByName.keys(), ...this.odfvsByName.keys()]) },
      );
    return view;
  }

  findFeatureView(name: string): FeatureViewInfo | undefined {
    return this.viewsByName.get(name);
  }

  findOnDemandView(name: string): OnDemandViewInfo | undefined {
    return this.odfvsByName.get(name);
  }

  /** The view a POST /push addresses, by push source name or view name. */
  viewForPush(name: string): FeatureViewInfo {
    const view = this.viewsByPushSource.get(name) ?? this.viewsByName.get(name);
    if (view) return view;
    if (this.odfvsByName.has(name)) {
      throw quiverError('QUIVER_ERR_INVALID_REQUEST', {
        reason: `"${name}" is an on-demand feature view: its features are computed at request time, so nothing can be pushed to it`,
      });
    }
    const targets = new Set([...this.viewsByPushSource.keys(), ...this.viewsByName.keys()]);
    throw quiverError(
      'QUIVER_ERR_UNKNOWN_FEATURE_VIEW',
      { view: name },
      { details: suggestion(name, targets) },
    );
  }

  featureServiceRefs(name: string): readonly string[] {
    const refs = this.servicesByName.get(name);
    if (!refs) {
      throw quiverError(
        'QUIVER_ERR_UNKNOWN_FEATURE_SERVICE',
        { service: name },
        { details: suggestion(name, this.servicesByName.keys()) },
      );
    }
    return refs;
  }

  get featureServiceNames(): string[] {
    return [...this.servicesByName.keys()];
  }

  findModel(name: string): ResolvedModelConfig | undefined {
    return this.modelsByName.get(name);
  }
}
