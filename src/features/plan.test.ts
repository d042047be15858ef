import { describe, expect, it } from 'vitest';
import { Registry } from '../config/registry.ts';
import { validateConfig } from '../config/validate.ts';
import { isQuiverError, type QuiverError } from '../errors.ts';
import { compilePlan, PlanCache } from './plan.ts';

const registry = new Registry(
  validateConfig(
    {
      project: 'plan',
      entities: [
        { name: 'user', joinKeys: ['user_id'] },
        { name: 'merchant', joinKeys: ['merchant_id', 'country_code'] },
      ],
      featureViews: [
        {
          name: 'user_stats',
          entities: ['user'],
          schema: { txn_count: 'int64', avg_amount: 'float32', country: 'string', emb: 'float32[]' },
        },
        { name: 'merchant_stats', entities: ['merchant'], schema: { sales: 'float64', rate: 'float32' } },
        // Keyed by both entities: its join keys are user_id, merchant_id, country_code.
        {
          name: 'pair_stats',
          entities: ['user', 'merchant'],
          schema: { visits: 'int64', txn_count: 'int64' },
        },
      ],
      onDemandFeatureViews: [
        {
          name: 'ratio',
          inputs: { user_stats: ['avg_amount'], merchant_stats: ['rate', 'sales'] },
          request: { amount: 'float64' },
          schema: { r1: 'float64', r2: 'float32' },
          transform: (b: Record<string, Float64Array>) => ({ r1: b.amount!, r2: b.rate! }),
        },
      ],
      featureServices: [{ name: 'svc', features: ['user_stats:txn_count', 'ratio:*'] }],
    },
    '',
  ),
);

const userStats = registry.featureView('user_stats');
const merchantStats = registry.featureView('merchant_stats');

function compileError(refs: string[]): QuiverError {
  try {
    compilePlan(registry, refs);
  } catch (err) {
    if (isQuiverError(err)) return err;
    throw err;
  }
  throw new Error('expected compilePlan to throw');
}

describe('compilePlan', () => {
  it('one stored feature', () => {
    expect(compilePlan(registry, ['user_stats:avg_amount'])).toEqual({
      joinKeys: ['user_id'],
      views: [{ view: userStats, slot: 0 }],
      onDemand: [],
      columns: [
        {
          view: 'user_stats',
          feature: 'avg_amount',
          type: 'float32',
          source: { kind: 'stored', viewSlot: 0, valueIndex: 1 },
        },
      ],
      names: ['avg_amount'],
      fullNames: ['user_stats__avg_amount'],
      collidingNames: [],
    });
  });

  it('views get slots in first-use order; join keys are collected once, in first-use order', () => {
    const plan = compilePlan(registry, [
      'merchant_stats:rate',
      'user_stats:country',
      'merchant_stats:sales',
      'pair_stats:visits',
    ]);
    expect(plan.views.map((v) => [v.view.name, v.slot])).toEqual([
      ['merchant_stats', 0],
      ['user_stats', 1],
      ['pair_stats', 2],
    ]);
    expect(plan.joinKeys).toEqual(['merchant_id', 'country_code', 'user_id']);
    expect(plan.columns.map((c) => [c.view, c.feature, c.source])).toEqual([
      ['merchant_stats', 'rate', { kind: 'stored', viewSlot: 0, valueIndex: 1 }],
      ['user_stats', 'country', { kind: 'stored', viewSlot: 1, valueIndex: 2 }],
      ['merchant_stats', 'sales', { kind: 'stored', viewSlot: 0, valueIndex: 0 }],
      ['pair_stats', 'visits', { kind: 'stored', viewSlot: 2, valueIndex: 0 }],
    ]);
  });

  it('"view:*" expands in schema order, after features already listed', () => {
    const plan = compilePlan(registry, ['user_stats:country', 'user_stats:*']);
    expect(plan.names).toEqual(['country', 'txn_count', 'avg_amount', 'emb']);
    expect(plan.columns.map((c) => c.source)).toEqual([
      { kind: 'stored', viewSlot: 0, valueIndex: 2 },
      { kind: 'stored', viewSlot: 0, valueIndex: 0 },
      { kind: 'stored', viewSlot: 0, valueIndex: 1 },
      { kind: 'stored', viewSlot: 0, valueIndex: 3 },
    ]);
    expect(plan.columns.map((c) => c.type)).toEqual(['string', 'int64', 'float32', 'float32[]']);
  });

  it('dedupes repeated refs, also across "*"', () => {
    const plan = compilePlan(registry, [
      'merchant_stats:sales',
      'merchant_stats:sales',
      'merchant_stats:*',
      'merchant_stats:rate',
      'merchant_stats:*',
    ]);
    expect(plan.fullNames).toEqual(['merchant_stats__sales', 'merchant_stats__rate']);
    expect(plan.views).toHaveLength(1);
  });

  it("an on-demand view reads its inputs' views and resolves each input to a slot and value index", () => {
    const plan = compilePlan(registry, ['ratio:r2']);
    expect(plan.views).toEqual([
      { view: userStats, slot: 0 },
      { view: merchantStats, slot: 1 },
    ]);
    expect(plan.joinKeys).toEqual(['user_id', 'merchant_id', 'country_code']);
    expect(plan.onDemand).toEqual([
      {
        odfv: registry.findOnDemandView('ratio'),
        inputs: [
          { name: 'avg_amount', viewSlot: 0, valueIndex: 1 },
          { name: 'rate', viewSlot: 1, valueIndex: 1 },
          { name: 'sales', viewSlot: 1, valueIndex: 0 },
        ],
        requestFields: [{ name: 'amount', type: 'float64' }],
      },
    ]);
    expect(plan.columns).toEqual([
      {
        view: 'ratio',
        feature: 'r2',
        type: 'float32',
        source: { kind: 'onDemand', odfvSlot: 0, outputIndex: 1 },
      },
    ]);
  });

  it('an on-demand view shares the slot of a view also requested directly, and is computed once', () => {
    const plan = compilePlan(registry, ['merchant_stats:sales', 'ratio:r1', 'ratio:*']);
    expect(plan.views.map((v) => v.view.name)).toEqual(['merchant_stats', 'user_stats']);
    expect(plan.onDemand).toHaveLength(1);
    expect(plan.onDemand[0]!.inputs).toEqual([
      { name: 'avg_amount', viewSlot: 1, valueIndex: 1 },
      { name: 'rate', viewSlot: 0, valueIndex: 1 },
      { name: 'sales', viewSlot: 0, valueIndex: 0 },
    ]);
    expect(plan.names).toEqual(['sales', 'r1', 'r2']);
    expect(plan.columns.map((c) => c.source)).toEqual([
      { kind: 'stored', viewSlot: 0, valueIndex: 0 },
      { kind: 'onDemand', odfvSlot: 0, outputIndex: 0 },
      { kind: 'onDemand', odfvSlot: 0, outputIndex: 1 },
    ]);
  });

  it('an unknown view → QUIVER_ERR_UNKNOWN_FEATURE_VIEW with the known views', () => {
    const err = compileError(['user_stats:txn_count', 'user_stat:txn_count']);
    expect(err.code).toBe('QUIVER_ERR_UNKNOWN_FEATURE_VIEW');
    expect(err.message).toBe('Unknown feature view "user_stat"');
    expect(err.details).toEqual({
      available: ['user_stats', 'merchant_stats', 'pair_stats', 'ratio'],
      didYouMean: 'user_stats',
    });
  });

  it("an unknown feature → QUIVER_ERR_UNKNOWN_FEATURE with the view's features", () => {
    const err = compileError(['user_stats:txn']);
    expect(err.code).toBe('QUIVER_ERR_UNKNOWN_FEATURE');
    expect(err.message).toBe('Unknown feature "txn" in view "user_stats"');
    expect(err.details).toEqual({ available: ['txn_count', 'avg_amount', 'country', 'emb'] });
  });

  it('an unknown on-demand feature → QUIVER_ERR_UNKNOWN_FEATURE', () => {
    const err = compileError(['ratio:r3']);
    expect(err.code).toBe('QUIVER_ERR_UNKNOWN_FEATURE');
    expect(err.details).toEqual({ available: ['r1', 'r2'], didYouMean: 'r1' });
  });

  it.each(['nocolon', ':x', 'user_stats:', 'a:b:c', ''])(
    'a malformed ref "%s" → QUIVER_ERR_BAD_FEATURE_REF',
    (ref) => {
      const err = compileError([ref]);
      expect(err.code).toBe('QUIVER_ERR_BAD_FEATURE_REF');
      expect(err.kind).toBe('bad_request');
    },
  );
});

describe('PlanCache', () => {
  it('returns the same plan object for the same list, even from a different array', () => {
    const cache = new PlanCache(registry);
    const first = cache.forRefs(['user_stats:txn_count', 'merchant_stats:sales']);
    expect(cache.forRefs(['user_stats:txn_count', 'merchant_stats:sales'])).toBe(first);
    expect(cache.forRefs(['merchant_stats:sales', 'user_stats:txn_count'])).not.toBe(first);
    expect(cache.forRefs(['user_stats:txn_count'])).toBe(cache.forRefs(['user_stats:txn_count']));
  });

  it("caches feature services by name, compiled from the service's refs", () => {
    const cache = new PlanCache(registry);
    const plan = cache.forService('svc');
    expect(cache.forService('svc')).toBe(plan);
    expect(plan).toEqual(compilePlan(registry, ['user_stats:txn_count', 'ratio:*']));
  });

  it('an unknown service → QUIVER_ERR_UNKNOWN_FEATURE_SERVICE, every time (failures are not cached)', () => {
    const cache = new PlanCache(registry);
    for (let i = 0; i < 2; i++) {
      expect(() => cache.forService('nope')).toThrow(
        expect.objectContaining({ code: 'QUIVER_ERR_UNKNOWN_FEATURE_SERVICE' }),
      );
      expect(() => cache.forRefs(['nope:x'])).toThrow(
        expect.objectContaining({ code: 'QUIVER_ERR_UNKNOWN_FEATURE_VIEW' }),
      );
    }
  });

  it('is bounded: past maxEntries the oldest plan is dropped and compiled afresh', () => {
    const cache = new PlanCache(registry, 2);
    const a = cache.forRefs(['user_stats:txn_count']);
    const b = cache.forRefs(['user_stats:country']);
    expect(cache.forRefs(['user_stats:txn_count'])).toBe(a);
    const c = cache.forRefs(['merchant_stats:sales']); // evicts a
    expect(cache.forRefs(['user_stats:country'])).toBe(b);
    expect(cache.forRefs(['merchant_stats:sales'])).toBe(c);
    const a2 = cache.forRefs(['user_stats:txn_count']); // evicts b
    expect(a2).not.toBe(a);
    expect(a2).toEqual(a);
    expect(cache.forRefs(['merchant_stats:sales'])).toBe(c);
    expect(cache.forRefs(['user_stats:country'])).not.toBe(b);
  });

  it('stays bounded under many distinct lists', () => {
    const cache = new PlanCache(registry, 4);
    const first = cache.forRefs(['user_stats:txn_count']);
    const features = ['txn_count', 'avg_amount', 'country', 'emb'];
    // 4 × 4 distinct two-feature lists push everything older out.
    for (const f of features) for (const g of features) cache.forRefs([`user_stats:${f}`, `user_stats:${g}`]);
    expect(cache.forRefs(['user_stats:txn_count'])).not.toBe(first);
  });

  // Regression: keys used to be `service\0<name>` and refs joined with \0, so a client could reach a
  // cached plan with a request that should have been refused.
  it("refs spelling a cached service's key do not get the service's plan", () => {
    const cache = new PlanCache(registry);
    cache.forService('svc');
    expect(() => cache.forRefs(['service', 'svc'])).toThrow(
      expect.objectContaining({ code: 'QUIVER_ERR_BAD_FEATURE_REF' }),
    );
  });

  it('a single ref containing NUL does not get the plan of the refs it joins', () => {
    const cache = new PlanCache(registry);
    cache.forRefs(['user_stats:txn_count', 'merchant_stats:sales']);
    expect(() => cache.forRefs(['user_stats:txn_count\u0000merchant_stats:sales'])).toThrow(
      expect.objectContaining({ code: 'QUIVER_ERR_BAD_FEATURE_REF' }),
    );
  });
});

describe('name collisions', () => {
  it('lists short names shared by columns of different views, so the route can ask for full names', () => {
    const plan = compilePlan(registry, ['user_stats:txn_count', 'pair_stats:txn_count', 'pair_stats:visits']);
    expect(plan.names).toEqual(['txn_count', 'txn_count', 'visits']);
    expect(plan.collidingNames).toEqual(['txn_count']);
    expect(plan.fullNames).toEqual(['user_stats__txn_count', 'pair_stats__txn_count', 'pair_stats__visits']);
  });

  it('reports no collision for distinct names', () => {
    expect(compilePlan(registry, ['user_stats:*', 'merchant_stats:*']).collidingNames).toEqual([]);
  });
});
