import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../examples/fraud/generate.ts';
import { Registry } from '../config/registry.ts';
import { validateConfig } from '../config/validate.ts';
import { MemoryStore } from '../stores/memory/memory-store.ts';
import type { WriteRow } from '../stores/online-store.ts';
import { feastJson } from './feast-json.ts';
import { buildFeastResponse } from './feast-response.ts';
import { OnlineFeatureService, type OnlineFeaturesResult } from './online-features.ts';

const NOW = Date.UTC(2026, 10, 21, 12);

const registry = new Registry(
  validateConfig(
    {
      project: 'json',
      entities: [
        { name: 'user', joinKeys: ['user_id'] },
        { name: 'shop', joinKeys: ['shop_id', 'region'] },
      ],
      featureViews: [
        {
          name: 'users',
          entities: ['user'],
          ttlSeconds: 3600,
          schema: {
            n: 'int64',
            f32: 'float32',
            f64: 'float64',
            flag: 'bool',
            label: 'string',
            emb: 'float32[]',
          },
        },
        { name: 'shops', entities: ['shop'], schema: { sales: 'float64', name: 'string' } },
      ],
      onDemandFeatureViews: [
        {
          name: 'derived',
          inputs: { users: ['f32', 'n'] },
          request: { amount: 'float64' },
          schema: { ratio: 'float32', total: 'int64', raw: 'float64' },
          transform: (b: Record<string, Float64Array>) => ({
            ratio: b.amount!.map((a, i) => a / b.f32![i]!),
            total: b.amount!.map((a, i) => a + b.n![i]!),
            raw: b.amount!,
          }),
        },
      ],
    },
    '',
  ),
);

const LABELS = ['plain', 'with "quotes"', 'tab\there', 'ünïcødé', 'emoji 🎯', 'back\\slash', '', 'a/b:c@d'];

describe('feastJson', () => {
  it('produces exactly JSON.stringify(buildFeastResponse(...)) for random rows, statuses and requests', async () => {
    const random = seededRandom(11);
    const store = new MemoryStore();
    const users: WriteRow[] = [];
    for (let id = 0; id < 200; id++) {
      if (random() < 0.15) continue; // NOT_FOUND
      const nullable = (v: unknown): unknown => (random() < 0.1 ? null : v);
      users.push({
        key: String(id),
        // Some rows older than the 1 h TTL → OUTSIDE_MAX_AGE.
        eventTsMs: NOW - Math.floor(random() * 7_200_000) - (random() < 0.5 ? 0 : 123),
        values: [
          nullable(Math.floor(random() * 1e6) - 5e5),
          nullable(Math.fround((random() - 0.5) * 1e4)),
          nullable((random() - 0.5) * 1e-3),
          nullable(random() < 0.5),
          nullable(LABELS[Math.floor(random() * LABELS.length)]),
          nullable([Math.fround(random()), Math.fround(-random())]),
        ],
      });
    }
    await store.write('users', users);
    await store.write('shops', [{ key: 's1\u001fEU', eventTsMs: NOW - 5000, values: [12.5, 'Shop "One"'] }]);
    const service = new OnlineFeatureService(registry, store, () => NOW);

    const wildcards = ['users:*', 'shops:*', 'derived:*'];
    const single = ['users:n', 'users:f32', 'users:label', 'shops:sales', 'derived:ratio', 'users:emb'];
    for (let trial = 0; trial < 120; trial++) {
      // Half the trials are single-entity answers, where each view's parts are written once and copied.
      const count = random() < 0.5 ? 1 : 1 + Math.floor(random() * 40);
      // Whole views, or single features in a shuffled order so one view's columns are interleaved
      // with another's.
      const picked =
        random() < 0.5
          ? wildcards.filter(() => random() < 0.7)
          : single.filter(() => random() < 0.7).sort(() => random() - 0.5);
      if (picked.length === 0) picked.push('users:n');
      const plan = service.planFor({ features: picked });
      const entities: Record<string, unknown[]> = {
        user_id: Array.from({ length: count }, () =>
          random() < 0.5 ? Math.floor(random() * 220) : String(Math.floor(random() * 220)),
        ),
        shop_id: Array.from({ length: count }, () => (random() < 0.5 ? 's1' : 's2')),
        region: Array.from({ length: count }, () => 'EU'),
        amount: Array.from({ length: count }, () => (random() < 0.1 ? 0 : (random() - 0.2) * 500)),
      };
      const result = (await service.fetch(plan, entities, count)) as OnlineFeaturesResult;
      for (const full of [false, true]) {
        const expected = JSON.stringify(buildFeastResponse(result, full));
        expect(feastJson(result, full).toString('utf8')).toBe(expected);
      }
    }
  });
});
