import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isQuiverError, type QuiverError } from '../errors.ts';
import type { ResolvedConfig } from './resolved.ts';
import { validateConfig } from './validate.ts';

type Obj = Record<string, unknown>;

/** A minimal valid config; each call returns a fresh object (validation freezes what it keeps). */
function base(): Obj {
  return {
    project: 'p',
    entities: [
      { name: 'user', joinKeys: ['user_id'] },
      { name: 'merchant', joinKeys: ['merchant_id', 'country'] },
    ],
    featureViews: [
      {
        name: 'user_stats',
        entities: ['user'],
        ttlSeconds: 60,
        schema: { clicks: 'int64', score: 'float32' },
      },
      { name: 'merchant_stats', entities: ['merchant'], schema: { sales: 'float64' } },
    ],
    featureServices: [{ name: 'svc', features: ['user_stats:*'] }],
  };
}

function invalid(raw: unknown, configPath = '/repo/quiver.config.ts'): QuiverError {
  try {
    validateConfig(raw, configPath);
  } catch (err) {
    if (isQuiverError(err)) return err;
    throw err;
  }
  throw new Error('expected validateConfig to throw');
}

/** The list of problems reported (details.issues). */
function issuesOf(raw: unknown): string[] {
  const err = invalid(raw);
  expect(err.code).toBe('QUIVER_ERR_CONFIG_INVALID');
  expect(err.kind).toBe('config');
  return (err.details as { issues: string[] }).issues;
}

function withView(patch: Obj): Obj {
  const c = base();
  const views = c.featureViews as Obj[];
  views[0] = { ...views[0], ...patch };
  return c;
}

describe('validateConfig — messages', () => {
  it('names the field, what was expected and what was got', () => {
    const err = invalid(withView({ ttlSeconds: -5 }));
    expect((err.details as { issues: string[] }).issues).toEqual([
      'expected a number of seconds ≥ 0 (0 = never expire), got number -5 at featureViews[0].ttlSeconds',
    ]);
    expect(err.message).toBe(
      'Invalid config /repo/quiver.config.ts: 1 problem:\n' +
        '  - expected a number of seconds ≥ 0 (0 = never expire), got number -5 at featureViews[0].ttlSeconds',
    );
  });

  it('a string where a number belongs', () => {
    expect(issuesOf(withView({ ttlSeconds: '3600' }))).toEqual([
      'expected a number of seconds ≥ 0 (0 = never expire), got string "3600" at featureViews[0].ttlSeconds',
    ]);
  });

  it('maxFutureSeconds: seconds ≥ 0, default 900', () => {
    expect(issuesOf(withView({ maxFutureSeconds: -1 }))).toEqual([
      'expected a number of seconds ≥ 0, got number -1 at featureViews[0].maxFutureSeconds',
    ]);
    expect(validateConfig(withView({}), '').featureViews[0]!.maxFutureSeconds).toBe(900);
    expect(validateConfig(withView({ maxFutureSeconds: 0 }), '').featureViews[0]!.maxFutureSeconds).toBe(0);
  });

  it('reports every problem at once, not just the first', () => {
    const c = withView({ ttlSeconds: -1, schema: { clicks: 'int32' } });
    c.server = { port: 70_000 };
    (c.featureServices as Obj[]).push({ name: 'svc2', features: ['nope:x'] });
    const err = invalid(c);
    expect((err.details as { issues: string[] }).issues).toEqual([
      'expected a number of seconds ≥ 0 (0 = never expire), got number -1 at featureViews[0].ttlSeconds',
      'expected one of int64, float32, float64, bool, string, float32[], got string "int32" at featureViews[0].schema.clicks',
      'expected a reference to a declared feature view, got string "nope:x" at featureServices[1].features[0]',
      'expected an integer in [0, 65535], got number 70000 at server.port',
    ]);
    expect(err.message).toContain('4 problems:');
  });

  it('names the inline config when there is no file', () => {
    const err = invalid(withView({ ttlSeconds: -1 }), '');
    expect(err.message).toMatch(/^Invalid config \(inline config\): 1 problem/);
  });

  it('rejects a default export that is not an object', () => {
    for (const raw of [undefined, null, 'config', [base()], 42]) {
      const err = invalid(raw);
      expect(err.code).toBe('QUIVER_ERR_CONFIG_INVALID');
      expect(err.message).toMatch(/expected the default export to be a config object, got /);
    }
  });

  it('missing required top-level fields', () => {
    expect(issuesOf({})).toEqual([
      'expected a non-empty string, got nothing at config.project',
      'expected an array, got nothing at config.entities',
      'expected an array, got nothing at config.featureViews',
    ]);
  });
});

describe('validateConfig — unknown keys', () => {
  it('refuses a misspelt key with the likely intended one, wherever it is', () => {
    const c = withView({ ttlSecond: 60 });
    c.featureService = [];
    c.server = { prot: 9000 };
    c.onlineStore = { type: 'redis', url: 'redis://127.0.0.1:6379', breaker: { openMS: 5 } };
    c.models = [{ name: 'm', path: 'm.onnx', queue: { maxQueueSise: 5 } }];
    expect(issuesOf(c)).toEqual([
      'unknown key "featureService", did you mean "featureServices"? at featureService',
      'unknown key "ttlSecond", did you mean "ttlSeconds"? at featureViews[0].ttlSecond',
      'unknown key "maxQueueSise", did you mean "maxQueueSize"? at models[0].queue.maxQueueSise',
      'unknown key "openMS", did you mean "openMs"? at onlineStore.breaker.openMS',
      'unknown key "prot", did you mean "port"? at server.prot',
    ]);
  });

  it('lists the known keys when nothing is close', () => {
    const c = base();
    (c.entities as Obj[])[0]!.banana = 1;
    expect(issuesOf(c)).toEqual([
      'unknown key "banana" (known: name, joinKeys, description) at entities[0].banana',
    ]);
  });

  it('checks keys against the variant chosen by "type"', () => {
    const c = base();
    c.onlineStore = { type: 'lmdb', path: './x', keyPrefix: 'q:' };
    expect(issuesOf(c)).toEqual(['unknown key "keyPrefix" (known: type, path) at onlineStore.keyPrefix']);
  });
});

describe('validateConfig — names and references', () => {
  it('duplicate entity, feature view, feature service and model names', () => {
    const c = base();
    (c.entities as Obj[]).push({ name: 'user', joinKeys: ['uid'] });
    (c.featureViews as Obj[]).push({ name: 'user_stats', entities: ['user'], schema: { x: 'int64' } });
    (c.featureServices as Obj[]).push({ name: 'svc', features: ['user_stats:clicks'] });
    c.models = [
      { name: 'm', path: './m.onnx' },
      { name: 'm', path: './m2.onnx' },
    ];
    const issues = issuesOf(c);
    expect(issues).toContain('duplicate entity "user" at entities[2]');
    expect(issues).toContain('duplicate feature view "user_stats" at featureViews[2]');
    expect(issues).toContain('duplicate feature service "svc" at featureServices[1]');
    expect(issues).toContain('duplicate model "m" at models[1]');
  });

  it('an on-demand view may not reuse a feature view name', () => {
    const c = base();
    c.onDemandFeatureViews = [
      {
        name: 'user_stats',
        inputs: { user_stats: ['clicks'] },
        schema: { y: 'float64' },
        transform: () => ({}),
      },
    ];
    expect(issuesOf(c)).toEqual(['duplicate feature view "user_stats" at onDemandFeatureViews[0]']);
  });

  it('duplicate push source names', () => {
    const c = base();
    (c.featureViews as Obj[])[0]!.pushSourceName = 'events';
    (c.featureViews as Obj[])[1]!.pushSourceName = 'events';
    expect(issuesOf(c)).toEqual(['duplicate push source name "events" at featureViews[1].pushSourceName']);
  });

  it('an unknown entity in a feature view', () => {
    expect(issuesOf(withView({ entities: ['usr'] }))).toEqual([
      'expected a declared entity (user, merchant), got string "usr" at featureViews[0].entities[0]',
    ]);
  });

  it('an unknown view or feature in a feature service', () => {
    const c = base();
    c.featureServices = [
      { name: 'svc', features: ['user_stat:clicks', 'user_stats:click', 'nocolon', 'user_stats:*'] },
    ];
    expect(issuesOf(c)).toEqual([
      'expected a reference to a declared feature view, got string "user_stat:clicks" at featureServices[0].features[0]',
      'expected a feature of "user_stats", got string "user_stats:click" at featureServices[0].features[1]',
      'expected "view:feature" or "view:*", got string "nocolon" at featureServices[0].features[2]',
    ]);
  });

  it('an empty feature service', () => {
    const c = base();
    c.featureServices = [{ name: 'svc', features: [] }];
    expect(issuesOf(c)).toEqual([
      'expected at least one feature reference, got array of 0 at featureServices[0].features',
    ]);
  });

  it('on-demand inputs must name declared views and their features', () => {
    const c = base();
    c.onDemandFeatureViews = [
      {
        name: 'odfv',
        inputs: { user_stats: ['clicks', 'nope'], ghosts: ['x'] },
        schema: { y: 'float64' },
        transform: 'not a function',
      },
    ];
    expect(issuesOf(c)).toEqual([
      'expected features of "user_stats", got string "nope" at onDemandFeatureViews[0].inputs.user_stats',
      'expected names of declared feature views, got string "ghosts" at onDemandFeatureViews[0].inputs',
      'expected a function (batch) => columns, got string "not a function" at onDemandFeatureViews[0].transform',
    ]);
  });

  it('a feature service may reference an on-demand view', () => {
    const c = base();
    c.onDemandFeatureViews = [
      {
        name: 'odfv',
        inputs: { user_stats: ['clicks'] },
        request: { amount: 'float64' },
        schema: { y: 'float64' },
        transform: () => ({}),
      },
    ];
    c.featureServices = [{ name: 'svc', features: ['odfv:y', 'odfv:*'] }];
    expect(validateConfig(c, '').featureServices[0]!.features).toEqual(['odfv:y', 'odfv:*']);
  });

  it('names with a colon are refused (they would break "view:feature" refs)', () => {
    const c = base();
    (c.featureViews as Obj[]).push({ name: 'user:stats', entities: ['user'], schema: { x: 'int64' } });
    expect(issuesOf(c)).toEqual([
      'expected a name of letters, digits, _ . - (no ":"), got string "user:stats" at featureViews[2].name',
    ]);
  });

  it("a feature named like one of the view's join keys", () => {
    expect(issuesOf(withView({ schema: { user_id: 'string' } }))).toEqual([
      'feature "user_id" has the same name as a join key at featureViews[0].schema.user_id',
    ]);
  });

  it('a model fed by a feature service with text or list features (by name or by view:*)', () => {
    const c = withView({ schema: { clicks: 'int64', country: 'string', emb: 'float32[]' } });
    c.featureServices = [
      { name: 'svc', features: ['user_stats:*'] },
      { name: 'numbers', features: ['user_stats:clicks', 'merchant_stats:sales'] },
      { name: 'named', features: ['user_stats:clicks', 'user_stats:country'] },
    ];
    c.models = [
      { name: 'all', path: 'm.onnx', featureService: 'svc' },
      { name: 'ok', path: 'm.onnx', featureService: 'numbers' },
      { name: 'one', path: 'm.onnx', featureService: 'named' },
    ];
    expect(issuesOf(c)).toEqual([
      'feature service "svc" has features a model cannot take: user_stats:country (string), user_stats:emb (float32[]) ' +
        "(a model's features must be numbers: int64, float32, float64, bool) at models[0].featureService",
      'feature service "named" has features a model cannot take: user_stats:country (string) ' +
        "(a model's features must be numbers: int64, float32, float64, bool) at models[2].featureService",
    ]);
  });
});

describe('validateConfig — types and values', () => {
  it('a bad feature type', () => {
    expect(issuesOf(withView({ schema: { clicks: 'integer', emb: 'float[]' } }))).toEqual([
      'expected one of int64, float32, float64, bool, string, float32[], got string "integer" at featureViews[0].schema.clicks',
      'expected one of int64, float32, float64, bool, string, float32[], got string "float[]" at featureViews[0].schema.emb',
    ]);
  });

  it('an empty schema', () => {
    expect(issuesOf(withView({ schema: {} }))).toEqual([
      'expected an object of feature name → type, got object at featureViews[0].schema',
    ]);
  });

  it('every feature type is accepted', () => {
    const types = ['int64', 'float32', 'float64', 'bool', 'string', 'float32[]'];
    const schema = Object.fromEntries(types.map((t, i) => [`f${i}`, t]));
    const config = validateConfig(withView({ schema }), '');
    expect(config.featureViews[0]!.schema).toEqual(schema);
  });

  it('a bad keySha256 and an unknown scope', () => {
    const c = base();
    c.auth = {
      apiKeys: [
        { id: 'a', keySha256: 'abc', scopes: ['predict'] },
        { id: 'b', keySha256: 'g'.repeat(64), scopes: ['features:read'] },
        { id: 'c', keySha256: 'A'.repeat(64), scopes: ['everything'] },
      ],
    };
    expect(issuesOf(c)).toEqual([
      // The value is not echoed: it could be a key pasted by mistake.
      'expected a 64-hex-digit SHA-256 of the key (not the key), got a 3-character string at auth.apiKeys[0].keySha256',
      'expected a 64-hex-digit SHA-256 of the key (not the key), got a 64-character string at auth.apiKeys[1].keySha256',
      'expected features:read, features:write, predict, admin, got string "everything" at auth.apiKeys[2].scopes[0]',
    ]);
  });

  it('a good keySha256 passes', () => {
    const c = base();
    c.auth = { apiKeys: [{ id: 'a', keySha256: 'ab'.repeat(32), scopes: ['features:read', 'predict'] }] };
    expect(validateConfig(c, '').auth.apiKeys).toHaveLength(1);
  });

  it('an unknown online store type', () => {
    const c = base();
    c.onlineStore = { type: 'sqlite' };
    expect(issuesOf(c)).toEqual([
      'expected "lmdb", "redis" or "memory", got string "sqlite" at onlineStore.type',
    ]);
  });

  it('an unknown source type and a source without timestampField', () => {
    expect(
      issuesOf(withView({ source: { type: 'csvfile', path: './x.csv', timestampField: 'ts' } })),
    ).toEqual([
      'expected "csv", "parquet" or "postgres", got string "csvfile" at featureViews[0].source.type',
    ]);
    expect(issuesOf(withView({ source: { type: 'csv', path: './x.csv' } }))).toEqual([
      'expected a non-empty string, got nothing at featureViews[0].source.timestampField',
    ]);
  });

  it('server limits below their minimum', () => {
    const c = base();
    c.server = { maxBodyBytes: 10, maxEntitiesPerRequest: 0 };
    expect(issuesOf(c)).toEqual([
      'expected an integer in [1024, ∞], got number 10 at server.maxBodyBytes',
      'expected an integer in [1, ∞], got number 0 at server.maxEntitiesPerRequest',
    ]);
  });

  it('model queue settings out of range', () => {
    const c = base();
    c.models = [
      {
        name: 'm',
        path: './m.onnx',
        featureService: 'nope',
        queue: { priorityLevels: 2, defaultPriority: 3 },
      },
    ];
    expect(issuesOf(c)).toEqual([
      'expected a declared feature service, got string "nope" at models[0].featureService',
      'expected an integer in [1, 2], got number 3 at models[0].queue.defaultPriority',
    ]);
  });

  it('model queue shedding settings', () => {
    const c = base();
    c.models = [
      { name: 'a', path: './a.onnx', queue: { shedding: { targetDelayMs: 0, intervalMs: '100' } } },
      { name: 'b', path: './b.onnx', queue: { shedding: true } },
      { name: 'c', path: './c.onnx', queue: { shedding: { targetDelayMs: 2.5, intervalMs: 50 } } },
    ];
    expect(issuesOf(c)).toEqual([
      'expected a positive number of milliseconds, got number 0 at models[0].queue.shedding.targetDelayMs',
      'expected a positive number of milliseconds, got string "100" at models[0].queue.shedding.intervalMs',
      'expected an object {targetDelayMs, intervalMs}, got boolean at models[1].queue.shedding',
    ]);
    c.models = [{ name: 'c', path: './c.onnx', queue: { shedding: { targetDelayMs: 2.5, intervalMs: 50 } } }];
    expect(validateConfig(c, '/r/quiver.config.ts').models[0]!.queue.shedding).toEqual({
      targetDelayMs: 2.5,
      intervalMs: 50,
    });
  });
});

describe('validateConfig — defaults and paths', () => {
  const configPath = '/srv/features/quiver.config.ts';

  it('fills server defaults', () => {
    const config = validateConfig(base(), configPath);
    expect(config.server).toEqual({
      port: 8080,
      host: '127.0.0.1',
      maxBodyBytes: 1_048_576,
      maxEntitiesPerRequest: 10_000,
      drainTimeoutMs: 10_000,
      writeHoldMicros: 500,
    });
  });

  it('keeps given server values', () => {
    const c = base();
    c.server = { port: 0, maxBodyBytes: 2048, writeHoldMicros: 0 };
    expect(validateConfig(c, configPath).server).toMatchObject({
      port: 0,
      maxBodyBytes: 2048,
      host: '127.0.0.1',
      writeHoldMicros: 0,
    });
  });

  it('refuses a write hold that is not a whole number of microseconds up to 100 ms', () => {
    for (const writeHoldMicros of [-1, 0.5, 100_001, '500']) {
      const c = base();
      c.server = { writeHoldMicros };
      expect(issuesOf(c)).toEqual([
        `expected an integer in [0, 100000], got ${typeof writeHoldMicros} ${JSON.stringify(writeHoldMicros)} at server.writeHoldMicros`,
      ]);
    }
  });

  it("defaults to LMDB at ./data/online, absolute against the config file's directory", () => {
    const config = validateConfig(base(), configPath);
    expect(config.onlineStore).toEqual({ type: 'lmdb', path: '/srv/features/data/online' });
    expect(config.configPath).toBe(configPath);
    expect(config.baseDir).toBe('/srv/features');
  });

  it('makes a relative LMDB path and source paths absolute; keeps absolute ones', () => {
    const c = withView({ source: { type: 'csv', path: 'data/users.csv', timestampField: 'ts' } });
    c.onlineStore = { type: 'lmdb', path: '../shared/online' };
    (c.featureViews as Obj[])[1]!.source = { type: 'parquet', path: '/data/m.parquet', timestampField: 'ts' };
    const config = validateConfig(c, configPath);
    expect(config.onlineStore).toEqual({ type: 'lmdb', path: '/srv/shared/online' });
    expect(config.featureViews[0]!.source).toEqual({
      type: 'csv',
      path: '/srv/features/data/users.csv',
      timestampField: 'ts',
    });
    expect(config.featureViews[1]!.source).toEqual({
      type: 'parquet',
      path: '/data/m.parquet',
      timestampField: 'ts',
    });
  });

  it('without a config file, paths resolve against the working directory', () => {
    const config = validateConfig(base(), '');
    expect(config.onlineStore).toEqual({ type: 'lmdb', path: path.resolve('data/online') });
  });

  it('fills redis defaults', () => {
    const c = base();
    c.onlineStore = { type: 'redis' };
    expect(validateConfig(c, configPath).onlineStore).toEqual({
      type: 'redis',
      url: 'redis://127.0.0.1:6379',
      keyPrefix: 'q',
      commandTimeoutMs: 1000,
      hotCacheEntries: 2000,
      breaker: { consecutiveFailures: 5, failureRate: 0.5, windowMs: 10_000, minimumCalls: 20, openMs: 1000 },
    });
    c.onlineStore = { type: 'redis', breaker: { openMs: 250, failureRate: 1 } };
    expect(validateConfig(c, configPath).onlineStore).toMatchObject({
      breaker: { consecutiveFailures: 5, failureRate: 1, windowMs: 10_000, minimumCalls: 20, openMs: 250 },
    });
    c.onlineStore = { type: 'redis', breaker: { consecutiveFailures: 0, failureRate: 1.5, windowMs: 5 } };
    expect(issuesOf(c)).toEqual([
      'expected a number in (0, 1], got number 1.5 at onlineStore.breaker.failureRate',
      'expected an integer in [1, ∞], got number 0 at onlineStore.breaker.consecutiveFailures',
      'expected an integer in [10, ∞], got number 5 at onlineStore.breaker.windowMs',
    ]);
    c.onlineStore = { type: 'redis', hotCacheEntries: 0 };
    expect(validateConfig(c, configPath).onlineStore).toMatchObject({ hotCacheEntries: 0 });
    c.onlineStore = { type: 'redis', hotCacheEntries: -1 };
    expect(issuesOf(c)).toEqual([
      'expected an integer in [0, 1000000], got number -1 at onlineStore.hotCacheEntries',
    ]);
  });

  it('takes a Redis Cluster by its seed nodes, for the store, the limiters and job results alike', () => {
    const nodes = ['redis://10.0.0.1:7000', 'rediss://:secret@10.0.0.2:7000'];
    const c = {
      ...base(),
      onlineStore: { type: 'redis', cluster: nodes },
      rateLimits: [{ key: 'ip', tokensPerSecond: 1, burst: 1, store: 'redis' }],
      jobs: { results: { type: 'redis', cluster: nodes.slice(0, 1) } },
    };
    const config = validateConfig(c, configPath);
    expect(config.onlineStore).toEqual({
      type: 'redis',
      cluster: nodes,
      keyPrefix: 'q',
      commandTimeoutMs: 1000,
      hotCacheEntries: 2000,
      breaker: { consecutiveFailures: 5, failureRate: 0.5, windowMs: 10_000, minimumCalls: 20, openMs: 1000 },
    });
    // A Redis limiter follows the online store onto the cluster.
    expect(config.rateLimits[0]!.redis).toEqual({ cluster: nodes });
    expect(config.jobs.results).toEqual({ type: 'redis', cluster: nodes.slice(0, 1), keyPrefix: 'q' });
  });

  it('refuses a cluster without nodes, a node that is not a redis:// URL, and url beside cluster', () => {
    const issues = (onlineStore: unknown): string[] => issuesOf({ ...base(), onlineStore });
    expect(issues({ type: 'redis', cluster: [] })).toEqual([
      'expected at least one node URL (redis://host:port), got array of 0 at onlineStore.cluster',
    ]);
    expect(issues({ type: 'redis', cluster: ['10.0.0.1:7000', 7000] })).toEqual([
      'expected a node URL redis://host:port, got string "10.0.0.1:7000" at onlineStore.cluster[0]',
      'expected a node URL redis://host:port, got number 7000 at onlineStore.cluster[1]',
    ]);
    expect(issues({ type: 'redis', url: 'redis://a:6379', cluster: ['redis://b:7000'] })).toEqual([
      'set url (one server) or cluster (a Redis Cluster), not both at onlineStore',
    ]);
    expect(issues({ type: 'redis', cluster: 'redis://b:7000' })).toEqual([
      'expected an array, got string "redis://b:7000" at onlineStore.cluster',
    ]);
  });

  it('ttlSeconds defaults to 0 (never expire); optional lists default to empty', () => {
    const config = validateConfig(base(), configPath);
    expect(config.featureViews.map((v) => v.ttlSeconds)).toEqual([60, 0]);
    expect(config.onDemandFeatureViews).toEqual([]);
    expect(config.models).toEqual([]);
    expect(config.rateLimits).toEqual([]);
    expect(config.jobs).toEqual({
      broker: { type: 'memory', maxAttempts: 3 },
      results: { type: 'memory' },
      resultTtlSeconds: 3600,
      consumeInServer: true,
      prefetch: 16,
      callbackTimeoutMs: 5000,
    });
  });

  it('fills model defaults and resolves the model path', () => {
    const c = base();
    c.models = [{ name: 'm', path: 'models/m.onnx', batching: { preferredBatchSizes: [32, 8] } }];
    expect(validateConfig(c, configPath).models[0]).toEqual({
      name: 'm',
      path: '/srv/features/models/m.onnx',
      runners: 1,
      intraOpThreads: 1,
      batching: { maxBatchSize: 64, maxQueueDelayUs: 0, preferredBatchSizes: [8, 32] },
      queue: {
        priorityLevels: 2,
        defaultPriority: 2,
        maxQueueSize: 1024,
        defaultTimeoutMs: 1000,
        shedding: undefined,
      },
    });
  });
});

describe('validateConfig — the result is deeply frozen', () => {
  const config: ResolvedConfig = validateConfig(
    {
      ...withView({ source: { type: 'csv', path: 'u.csv', timestampField: 'ts' } }),
      models: [{ name: 'm', path: 'm.onnx' }],
    },
    '/r/quiver.config.ts',
  );

  it.each([
    ['the config', config],
    ['server', config.server],
    ['onlineStore', config.onlineStore],
    ['entities', config.entities],
    ["an entity's joinKeys", config.entities[1]!.joinKeys],
    ['featureViews', config.featureViews],
    ['a view', config.featureViews[0]],
    ["a view's schema", config.featureViews[0]!.schema],
    ["a view's source", config.featureViews[0]!.source],
    ['featureServices[0].features', config.featureServices[0]!.features],
    ["a model's batching", config.models[0]!.batching],
    ["a model's preferredBatchSizes", config.models[0]!.batching.preferredBatchSizes],
  ])('%s is frozen', (_what, value) => {
    expect(Object.isFrozen(value)).toBe(true);
  });

  it('writes throw (ES modules are strict)', () => {
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
    expect(() => {
      (config.featureViews[0]!.schema as Record<string, string>).extra = 'int64';
    }).toThrow(TypeError);
    expect(() => {
      (config.entities as unknown[]).push({});
    }).toThrow(TypeError);
    expect(config.server.port).toBe(8080);
  });
});
