import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/validate.ts';
import { describePlan, wouldFail } from './apply.ts';

const base = {
  project: 'p',
  entities: [{ name: 'user', joinKeys: ['user_id'] }],
  featureViews: [{ name: 'v', entities: ['user'], schema: { n: 'int64' } }],
};

describe('quiver apply: the online store line', () => {
  it('names a Redis server or a Redis Cluster without their passwords', () => {
    const server = validateConfig(
      { ...base, onlineStore: { type: 'redis', url: 'redis://:s3cret@cache:6380' } },
      '',
    );
    expect(describePlan(server)).toContain('online store: redis at redis://:***@cache:6380');
    const cluster = validateConfig(
      {
        ...base,
        onlineStore: { type: 'redis', cluster: ['redis://:s3cret@10.0.0.1:7000', 'redis://10.0.0.2:7000'] },
      },
      '',
    );
    const plan = describePlan(cluster);
    expect(plan).toContain(
      'online store: redis at Redis Cluster (redis://:***@10.0.0.1:7000, redis://10.0.0.2:7000)',
    );
    expect(plan).not.toContain('s3cret');
  });
});

describe('quiver apply: feature services and missing files', () => {
  const config = validateConfig(
    {
      ...base,
      featureViews: [
        {
          name: 'v',
          entities: ['user'],
          schema: { n: 'int64', m: 'float32' },
          source: { type: 'csv', path: '/nonexistent/v.csv', timestampField: 'ts' },
        },
      ],
      onDemandFeatureViews: [
        {
          name: 'od',
          inputs: { v: ['m'] },
          request: { amount: 'float64' },
          schema: { ratio: 'float64' },
          transform: (b: Record<string, Float64Array>) => ({ ratio: b.amount! }),
        },
      ],
      featureServices: [{ name: 'svc', features: ['v:*', 'od:ratio'] }],
      models: [{ name: 'm', path: '/nonexistent/m.onnx' }],
    },
    '',
  );

  it('counts stored and on-demand features apart, and lists request data among what a service needs', () => {
    expect(describePlan(config)).toContain(
      '  svc  3 features: 2 stored (v) + 1 on-demand (od)  needs: user_id, amount',
    );
  });

  it('names a model file and a source file that are not there, and auth without a key', () => {
    expect(wouldFail(config, {})).toEqual([
      'models[0].path: /nonexistent/m.onnx does not exist (serve would fail)',
      'featureViews[0].source.path: /nonexistent/v.csv does not exist (materialize would fail)',
      expect.stringMatching(
        /^auth: auth is on \(as it is unless the config says `auth: \{ enabled: false \}`\) but no API key is configured\. .* \(serve would fail\)$/,
      ),
    ]);
  });

  it('takes keys from QUIVER_API_KEYS as serve does, and says what is wrong with them', () => {
    const hash = 'ab'.repeat(32);
    expect(wouldFail(config, { QUIVER_API_KEYS: `svc:${hash}:predict` })).toHaveLength(2);
    const [, , malformed] = wouldFail(config, { QUIVER_API_KEYS: 'svc:nothex:predict' });
    expect(malformed).toMatch(/^auth: .*QUIVER_API_KEYS.* \(serve would fail\)$/);
  });
});
