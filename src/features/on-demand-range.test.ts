/**
 * Request data and on-demand outputs typed float32 must fit float32: a finite double beyond ±3.4e38
 * becomes an infinite float32, which JSON writes as null and a model would receive as Infinity.
 */
import { describe, expect, it } from 'vitest';
import type { QuiverConfig } from '../config/types.ts';
import { validateConfig } from '../config/validate.ts';
import { Registry } from '../config/registry.ts';
import { isQuiverError } from '../errors.ts';
import { MemoryStore } from '../stores/memory/memory-store.ts';
import { testConfigObject } from '../../test/fixtures/config.ts';
import { feastJson } from './feast-json.ts';
import { buildFeastResponse } from './feast-response.ts';
import { OnlineFeatureService, type OnlineFeaturesResult } from './online-features.ts';
import { finiteAs } from './values.ts';

function service(): Promise<OnlineFeatureService> {
  const object: QuiverConfig = {
    ...testConfigObject(),
    onDemandFeatureViews: [
      {
        name: 'scaled',
        inputs: { user_stats: ['avg_amount'] },
        request: { amount: 'float32' },
        schema: { times: 'float32', plus: 'float64' },
        transform: (b) => ({
          times: b.amount!.map((a, i) => a * b.avg_amount![i]!),
          plus: b.amount!.map((a, i) => a + b.avg_amount![i]!),
        }),
      },
    ],
    featureServices: [],
  };
  const config = validateConfig(object, '');
  const store = new MemoryStore();
  return store
    .write('user_stats', [{ key: '1', eventTsMs: Date.now(), values: [1, 1e10, 0, true, 'NL', [1]] }])
    .then(() => new OnlineFeatureService(new Registry(config), store));
}

describe('float32 range of request data and on-demand outputs', () => {
  it('finiteAs: float32 values must stay finite once rounded, other types only finite', () => {
    expect(finiteAs('float32', 3.4e38)).toBe(true);
    expect(finiteAs('float32', 3.5e38)).toBe(false);
    expect(finiteAs('float32', -1e300)).toBe(false);
    expect(finiteAs('float64', 1e300)).toBe(true);
    expect(finiteAs('float64', Number.NaN)).toBe(false);
    expect(finiteAs('float32', '1')).toBe(false);
  });

  it('refuses float32 request data beyond ±3.4e38 with QUIVER_ERR_INVALID_VALUE naming it', async () => {
    const features = await service();
    const plan = features.planFor({ features: ['scaled:times'] });
    let caught: unknown;
    try {
      await features.fetch(plan, { user_id: ['1'], amount: [1e300] }, 1);
    } catch (err) {
      caught = err;
    }
    expect(isQuiverError(caught) && caught.code).toBe('QUIVER_ERR_INVALID_VALUE');
    expect((caught as Error).message).toContain('amount[0]');
    expect((caught as Error).message).toContain('within ±3.4e38');
  });

  it('serves an output that overflows float32 as null with NULL_VALUE, never null with PRESENT', async () => {
    const features = await service();
    const plan = features.planFor({ features: ['scaled:times'] });
    // 1e30 × 1e10 = 1e40: finite as a double, infinite as float32.
    const result = (await features.fetch(
      plan,
      { user_id: ['1'], amount: [1e30] },
      1,
    )) as OnlineFeaturesResult;
    const expected = { values: [null], statuses: ['NULL_VALUE'] };
    expect(buildFeastResponse(result, false).results[1]).toMatchObject(expected);
    const written = JSON.parse(feastJson(result, false).toString('utf8')) as { results: unknown[] };
    expect(written.results[1]).toMatchObject(expected);
  });

  it('one output that its type cannot hold is NULL_VALUE alone: its siblings stay PRESENT', async () => {
    const features = await service();
    const plan = features.planFor({ features: ['scaled:times', 'scaled:plus'] });
    const result = (await features.fetch(
      plan,
      { user_id: ['1'], amount: [1e30] },
      1,
    )) as OnlineFeaturesResult;
    const times = { values: [null], statuses: ['NULL_VALUE'] };
    const plus = { values: [1e30 + 1e10], statuses: ['PRESENT'] };
    expect(buildFeastResponse(result, false).results.slice(1)).toMatchObject([times, plus]);
    const written = JSON.parse(feastJson(result, false).toString('utf8')) as { results: unknown[] };
    expect(written.results.slice(1)).toMatchObject([times, plus]);
  });
});
