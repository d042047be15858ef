/** The `jobs` section of the config: defaults, and problems reported as "expected X, got Y at path". */
import { describe, expect, it } from 'vitest';
import type { QuiverConfig } from '../../src/config/types.ts';
import { validateConfig } from '../../src/config/validate.ts';

function base(jobs: unknown): QuiverConfig {
  return {
    project: 'p',
    entities: [{ name: 'u', joinKeys: ['id'] }],
    featureViews: [{ name: 'v', entities: ['u'], schema: { x: 'float32' } }],
    jobs: jobs as QuiverConfig['jobs'],
  };
}

function issues(jobs: unknown): string[] {
  try {
    validateConfig(base(jobs), '/r/quiver.config.ts');
    return [];
  } catch (err) {
    return ((err as { details?: { issues?: string[] } }).details?.issues ?? []).filter((i) =>
      i.includes('jobs'),
    );
  }
}

describe('jobs config', () => {
  it('without a broker: the in-process broker and memory results, consumed by the server', () => {
    expect(validateConfig(base(undefined), '').jobs).toEqual({
      broker: { type: 'memory', maxAttempts: 3 },
      results: { type: 'memory' },
      resultTtlSeconds: 3600,
      consumeInServer: true,
      prefetch: 16,
      callbackTimeoutMs: 5000,
    });
  });

  it('rabbitmq: queue, attempts and confirm timeout defaults; results in Redis; not consumed by the server', () => {
    expect(validateConfig(base({ broker: { type: 'rabbitmq', url: 'amqp://h:5672' } }), '').jobs).toEqual({
      broker: {
        type: 'rabbitmq',
        url: 'amqp://h:5672',
        queue: 'quiver.jobs',
        maxAttempts: 3,
        publishTimeoutMs: 5000,
      },
      results: { type: 'redis', url: 'redis://127.0.0.1:6379', keyPrefix: 'q' },
      resultTtlSeconds: 3600,
      consumeInServer: false,
      prefetch: 16,
      callbackTimeoutMs: 5000,
    });
  });

  it('explicit settings are kept', () => {
    const jobs = validateConfig(
      base({
        broker: {
          type: 'rabbitmq',
          url: 'amqps://h',
          queue: 'jobs.x',
          maxAttempts: 5,
          publishTimeoutMs: 200,
        },
        results: { type: 'redis', url: 'redis://r:6380', keyPrefix: 'z' },
        resultTtlSeconds: 60,
        consumeInServer: true,
        prefetch: 4,
        callbackTimeoutMs: 100,
      }),
      '',
    ).jobs;
    expect(jobs).toMatchObject({
      broker: { queue: 'jobs.x', maxAttempts: 5, publishTimeoutMs: 200 },
      results: { url: 'redis://r:6380', keyPrefix: 'z' },
      resultTtlSeconds: 60,
      consumeInServer: true,
      prefetch: 4,
      callbackTimeoutMs: 100,
    });
  });

  it('reports every problem with its path', () => {
    expect(issues('yes')).toEqual(['expected an object, got string "yes" at jobs']);
    expect(issues({ broker: { type: 'kafka' } })).toEqual([
      'expected "rabbitmq" or "memory", got string "kafka" at jobs.broker.type',
    ]);
    expect(
      issues({
        broker: { type: 'rabbitmq', url: 'http://x', maxAttempts: 0 },
        resultTtlSeconds: -1,
        prefetch: 0,
        consumeInServer: 'no',
      }),
    ).toEqual([
      'expected an integer in [1, 100], got number 0 at jobs.broker.maxAttempts',
      'expected an amqp:// or amqps:// URL, got string "http://x" at jobs.broker.url',
      'expected a boolean, got string "no" at jobs.consumeInServer',
      'expected an integer in [1, ∞], got number -1 at jobs.resultTtlSeconds',
      'expected an integer in [1, 10000], got number 0 at jobs.prefetch',
    ]);
    expect(issues({ broker: { type: 'rabbitmq' } })).toEqual([
      'expected a non-empty string, got nothing at jobs.broker.url',
    ]);
    expect(issues({ broker: { type: 'rabbitmq', url: 'amqp://x' }, results: { type: 'memory' } })).toEqual([
      'a memory result store is visible to one process only; use "redis" with rabbitmq at jobs.results',
    ]);
  });
});
