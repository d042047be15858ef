import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../config/validate.ts';
import { describePlan } from './apply.ts';

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
