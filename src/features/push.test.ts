import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Registry } from '../config/registry.ts';
import { validateConfig } from '../config/validate.ts';
import { isQuiverError, type QuiverError } from '../errors.ts';
import { MemoryStore } from '../stores/memory/memory-store.ts';
import { pushColumns, pushFile } from './push.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'quiver-push-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const registry = new Registry(
  validateConfig(
    {
      project: 'push',
      entities: [{ name: 'user', joinKeys: ['user_id'] }],
      featureViews: [
        {
          name: 'user_stats',
          entities: ['user'],
          schema: { clicks_7d: 'int64', avg_amount_30d: 'float32', emb: 'float32[]' },
          source: { type: 'csv', path: 'unused.csv', timestampField: 'event_ts' },
          pushSourceName: 'user_stats_push',
        },
      ],
    },
    '',
  ),
);

const T = (s: string): number => Date.parse(`2024-05-01T${s}Z`);

async function caught(p: Promise<unknown>): Promise<QuiverError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isQuiverError(err)) throw new Error(`expected a QuiverError, got ${String(err)}`);
  return err;
}

/** `df` with every feature it lacks sent as explicit nulls, as a push must (a row is stored whole). */
function withNulls(df: Record<string, ArrayLike<unknown>>): Record<string, ArrayLike<unknown>> {
  const n = Object.values(df)[0]!.length;
  const out = { ...df };
  for (const f of ['clicks_7d', 'avg_amount_30d', 'emb']) out[f] ??= new Array<null>(n).fill(null);
  return out;
}

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

describe('pushColumns', () => {
  it('writes a column-oriented df through the push source name', async () => {
    const store = new MemoryStore();
    const result = await pushColumns(registry, store, 'user_stats_push', {
      user_id: [1001, '1002'],
      event_timestamp: ['2024-05-01T10:00:00Z', T('10:00:00')],
      clicks_7d: [3, '4'],
      avg_amount_30d: [1.5, null],
      emb: [[1, 2], '[3]'],
    });
    expect(result).toEqual({ rows: 2, written: 2, skippedStale: 0 });
    expect(store.read('user_stats', ['1001', '1002'])).toEqual([
      [T('10:00:00'), 3, 1.5, [1, 2]],
      [T('10:00:00'), 4, null, [3]],
    ]);
  });

  it('accepts typed-array columns and ignores Feast\'s "created" column', async () => {
    const store = new MemoryStore();
    const result = await pushColumns(
      registry,
      store,
      'user_stats',
      withNulls({
        user_id: [1, 2],
        event_timestamp: [T('10:00:00'), T('10:00:00')],
        created: [T('10:00:01'), T('10:00:01')],
        avg_amount_30d: new Float32Array([0.5, 1.5]),
      }),
    );
    expect(result).toEqual({ rows: 2, written: 2, skippedStale: 0 });
    expect(store.read('user_stats', ['2'])).toEqual([[T('10:00:00'), null, 1.5, null]]);
  });

  it('accepts the source timestamp field, or uses now when there is none', async () => {
    const store = new MemoryStore();
    await pushColumns(registry, store, 'user_stats', withNulls({ user_id: [1], event_ts: [T('09:00:00')] }));
    expect(store.read('user_stats', ['1'])[0]![0]).toBe(T('09:00:00'));
    const before = Date.now();
    await pushColumns(registry, store, 'user_stats', withNulls({ user_id: [2] }));
    expect(store.read('user_stats', ['2'])[0]![0]).toBeGreaterThanOrEqual(before);
  });

  it('is all-or-nothing: one bad value writes nothing', async () => {
    const store = new MemoryStore();
    const err = await caught(
      pushColumns(
        registry,
        store,
        'user_stats',
        withNulls({
          user_id: [1, 2, 3],
          event_timestamp: [T('10:00:00'), T('10:00:00'), 'soon'],
          clicks_7d: [1, 'many', 3],
        }),
      ),
    );
    expect(err.code).toBe('QUIVER_ERR_INVALID_VALUE');
    expect(err.message).toBe('Invalid value for "clicks_7d": expected int64, got string "many"');
    expect(err.details).toEqual({
      view: 'user_stats',
      badRowCount: 2,
      badRows: [
        { row: 1, reason: 'column "clicks_7d": expected int64, got string "many"' },
        {
          row: 2,
          reason:
            'column "event_timestamp": expected timestamp (ISO-8601, epoch number or Date), got string "soon"',
        },
      ],
    });
    expect(store.read('user_stats', ['1', '2', '3'])).toEqual([undefined, undefined, undefined]);
  });

  it('skips a push older than the stored event', async () => {
    const store = new MemoryStore();
    await pushColumns(
      registry,
      store,
      'user_stats',
      withNulls({ user_id: [1], event_timestamp: [T('10:00:00')], clicks_7d: [5] }),
    );
    const result = await pushColumns(
      registry,
      store,
      'user_stats',
      withNulls({ user_id: [1], event_timestamp: [T('09:00:00')], clicks_7d: [1] }),
    );
    expect(result).toEqual({ rows: 1, written: 0, skippedStale: 1 });
    expect(store.read('user_stats', ['1'])).toEqual([[T('10:00:00'), 5, null, null]]);
  });

  it('refuses unknown columns, so a typo never drops data silently', async () => {
    const err = await caught(
      pushColumns(registry, new MemoryStore(), 'user_stats', {
        user_id: [1],
        clicks7d: [3],
        event_timestamp: [1],
      }),
    );
    expect(err.code).toBe('QUIVER_ERR_UNKNOWN_FEATURE');
    expect(err.message).toBe('Unknown feature "clicks7d" in view "user_stats"');
    expect(err.details).toMatchObject({ unknown: ['clicks7d'] });
  });

  it('refuses malformed dfs with QUIVER_ERR_INVALID_REQUEST', async () => {
    const store = new MemoryStore();
    for (const df of [null, [1, 2], {}, { user_id: 1 }, { user_id: [1, 2], clicks_7d: [1] }]) {
      expect((await caught(pushColumns(registry, store, 'user_stats', df))).code).toBe(
        'QUIVER_ERR_INVALID_REQUEST',
      );
    }
    const lengths = await caught(
      pushColumns(registry, store, 'user_stats', { user_id: [1, 2], clicks_7d: [1] }),
    );
    expect(lengths.message).toBe('df columns must have equal lengths: "user_id" has 2, "clicks_7d" has 1');
  });

  it('refuses a df that leaves out a join key or feature, naming them all, and writes nothing', async () => {
    const store = new MemoryStore();
    const err = await caught(
      pushColumns(registry, store, 'user_stats', { user_id: [1], clicks_7d: [3], event_timestamp: [1] }),
    );
    expect(err.code).toBe('QUIVER_ERR_MISSING_COLUMNS');
    expect(err.message).toBe(
      'Push to feature view "user_stats" lacks columns "avg_amount_30d", "emb": a push writes whole rows, ' +
        'so send every join key and feature (null where a value is unknown)',
    );
    expect(err.details).toEqual({ missing: ['avg_amount_30d', 'emb'] });
    expect(store.read('user_stats', ['1'])).toEqual([undefined]);
    const noKey = await caught(pushColumns(registry, store, 'user_stats', withNulls({ clicks_7d: [1] })));
    expect(noKey.code).toBe('QUIVER_ERR_MISSING_COLUMNS');
    expect(noKey.details).toEqual({ missing: ['user_id'] });
  });

  it('refuses an unknown target', async () => {
    const err = await caught(pushColumns(registry, new MemoryStore(), 'nope', { user_id: [1] }));
    expect(err.code).toBe('QUIVER_ERR_UNKNOWN_FEATURE_VIEW');
  });
});

describe('pushFile', () => {
  it('streams a CSV file: good rows written, bad rows reported by line', async () => {
    const store = new MemoryStore();
    const csv = file(
      'users.csv',
      'user_id,event_timestamp,clicks_7d,avg_amount_30d,emb\n1,2024-05-01T10:00:00Z,3,1.5,\n2,2024-05-01T10:00:00Z,x,1,\n3,2024-05-01T10:00:00Z,4,,[2]\n',
    );
    const summary = await pushFile(registry, store, 'user_stats_push', csv);
    expect(summary).toMatchObject({ view: 'user_stats', rowsRead: 3, written: 2, bad: 1 });
    expect(summary.badRows).toEqual([
      { line: 3, reason: 'column "clicks_7d": expected int64, got string "x"' },
    ]);
    expect(summary.warnings).toEqual([]);
    expect(store.read('user_stats', ['1', '3'])).toEqual([
      [T('10:00:00'), 3, 1.5, null],
      [T('10:00:00'), 4, null, [2]],
    ]);
  });

  it('refuses a CSV file with an unknown column before writing anything', async () => {
    const store = new MemoryStore();
    const csv = file('typo.csv', 'user_id,clicks7d\n1,3\n');
    expect((await caught(pushFile(registry, store, 'user_stats', csv))).code).toBe(
      'QUIVER_ERR_UNKNOWN_FEATURE',
    );
    expect(store.read('user_stats', ['1'])).toEqual([undefined]);
  });

  it('refuses a CSV file that leaves out a feature before writing anything', async () => {
    const store = new MemoryStore();
    const csv = file('partial.csv', 'user_id,clicks_7d,avg_amount_30d\n1,3,1.5\n');
    const err = await caught(pushFile(registry, store, 'user_stats', csv));
    expect(err.code).toBe('QUIVER_ERR_MISSING_COLUMNS');
    expect(err.details).toEqual({ missing: ['emb'] });
    expect(store.read('user_stats', ['1'])).toEqual([undefined]);
  });

  it('streams a JSONL file: malformed lines, unknown keys and left-out keys are bad rows with their line', async () => {
    const store = new MemoryStore();
    const nulls = '"avg_amount_30d": null, "emb": null';
    const jsonl = file(
      'users.jsonl',
      [
        '{"user_id": 1, "event_timestamp": "2024-05-01T10:00:00Z", "clicks_7d": 3, "avg_amount_30d": null, "emb": [0.5]}',
        '{"user_id": 2, "clicks_7d": 4',
        '',
        `{"user_id": 3, "event_ts": 1714557600, "clicks_7d": 5, ${nulls}}`,
        `{"user_id": 4, "clicks7d": 6, ${nulls}}`,
        '[1, 2]',
        `{"user_id": 5, "clicks_7d": 7, ${nulls}}`,
        '{"user_id": 6, "clicks_7d": 8, "emb": [1]}',
      ].join('\n'),
    );
    const before = Date.now();
    const summary = await pushFile(registry, store, 'user_stats', jsonl);
    expect(summary).toMatchObject({ rowsRead: 7, written: 3, bad: 4 });
    expect(summary.badRows.map((b) => b.line)).toEqual([2, 5, 6, 8]);
    expect(summary.badRows[0]!.reason).toContain('malformed JSON');
    expect(summary.badRows[1]!.reason).toBe(
      'unknown column "clicks7d" (not a join key, feature or timestamp of "user_stats")',
    );
    expect(summary.badRows[2]!.reason).toBe('expected a JSON object, got an array');
    expect(summary.badRows[3]!.reason).toBe(
      'column "avg_amount_30d" missing (a row is stored whole: send null where a value is unknown)',
    );
    const [one, three, five, six] = store.read('user_stats', ['1', '3', '5', '6']);
    expect(one).toEqual([T('10:00:00'), 3, null, [0.5]]);
    expect(three).toEqual([1714557600000, 5, null, null]);
    expect(five![0]).toBeGreaterThanOrEqual(before);
    expect(six).toBeUndefined();
  });

  it('refuses other file types', async () => {
    const err = await caught(pushFile(registry, new MemoryStore(), 'user_stats', file('x.parquet', '')));
    expect(err.code).toBe('QUIVER_ERR_INVALID_REQUEST');
  });
});
