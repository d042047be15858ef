import { setImmediate as turnEnd } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import type { StoredRow } from '../online-store.ts';
import { ReadCoalescer } from './read-coalescer.ts';

/** A key-value map behind a fetch that records each call (the Redis side is tested in redis-store.test.ts). */
function backend(values: Record<string, string>) {
  const calls: string[][] = [];
  let failNext: Error | undefined;
  const fetch = (keys: string[]): Promise<(Buffer | null)[]> => {
    calls.push(keys);
    if (failNext !== undefined) {
      const err = failNext;
      failNext = undefined;
      return Promise.reject(err);
    }
    return Promise.resolve(keys.map((key) => (key in values ? Buffer.from(values[key]!) : null)));
  };
  return {
    calls,
    fetch,
    failNextWith: (err: Error) => {
      failNext = err;
    },
  };
}

/** Values are JSON arrays here; 'bad' is not a record. */
const decode = (value: Buffer): StoredRow => JSON.parse(value.toString()) as StoredRow;

describe('ReadCoalescer', () => {
  it('sends the reads of one event-loop turn as one fetch and gives each its own rows', async () => {
    const redis = backend({ a: '[1,"a"]', b: '[2,"b"]', c: '[3,"c"]' });
    const reads = new ReadCoalescer(redis.fetch, decode);
    const results = await Promise.all([
      reads.read('', ['a']),
      reads.read('', ['b', 'missing', 'c']),
      reads.read('', ['a', 'a']),
      reads.read('', ['missing']),
    ]);
    expect(redis.calls).toEqual([['a', 'b', 'missing', 'c', 'a', 'a', 'missing']]);
    expect(results).toEqual([
      [[1, 'a']],
      [[2, 'b'], undefined, [3, 'c']],
      [
        [1, 'a'],
        [1, 'a'],
      ],
      [undefined],
    ]);
  });

  it('waits for nothing but the end of the turn, and starts a new batch in the next one', async () => {
    const redis = backend({ a: '[1]' });
    const reads = new ReadCoalescer(redis.fetch, decode);
    const first = reads.read('', ['a']);
    expect(redis.calls).toEqual([]); // still this turn: more reads may join
    await turnEnd();
    expect(redis.calls).toEqual([['a']]);
    await first;
    await reads.read('', ['a']);
    expect(redis.calls).toEqual([['a'], ['a']]);
  });

  it('sends a batch as soon as it holds maxKeys keys', async () => {
    const redis = backend({ a: '[1]', b: '[2]' });
    const reads = new ReadCoalescer(redis.fetch, decode, { maxKeys: 4 });
    const first = reads.read('', ['a', 'b']);
    const second = reads.read('', ['a', 'b', 'a']);
    expect(redis.calls).toEqual([['a', 'b', 'a', 'b', 'a']]); // at once, not at the turn's end
    const third = reads.read('', ['b']);
    expect(redis.calls).toHaveLength(1);
    expect(await Promise.all([first, second, third])).toEqual([[[1], [2]], [[1], [2], [1]], [[2]]]);
    expect(redis.calls).toEqual([['a', 'b', 'a', 'b', 'a'], ['b']]);
  });

  it('reads prefix + key', async () => {
    const redis = backend({ 'v:a': '[1]' });
    const reads = new ReadCoalescer(redis.fetch, decode);
    expect(await reads.read('v:', ['a', 'b'])).toEqual([[1], undefined]);
    expect(redis.calls).toEqual([['v:a', 'v:b']]);
  });

  it('fails every read of a failed fetch with the mapped error, and only those', async () => {
    const redis = backend({ a: '[1]' });
    const reads = new ReadCoalescer(redis.fetch, decode, {
      fetchError: (err) => new Error(`store unavailable: ${(err as Error).message}`),
    });
    redis.failNextWith(new Error('connection lost'));
    const failed = [reads.read('', ['a']), reads.read('', ['b'])];
    for (const read of failed) await expect(read).rejects.toThrow('store unavailable: connection lost');
    expect(await reads.read('', ['a'])).toEqual([[1]]);
  });

  it('fails every read of the batch when the fetch throws instead of rejecting', async () => {
    const reads = new ReadCoalescer(() => {
      throw new Error('not connected');
    }, decode);
    const failed = [reads.read('', ['a']), reads.read('', ['b'])];
    for (const read of failed) await expect(read).rejects.toThrow('not connected');
  });

  it('fails only the read whose value is not a record', async () => {
    const redis = backend({ a: '[1]', bad: '{not json' });
    const reads = new ReadCoalescer(redis.fetch, decode);
    const [good, bad, alsoGood] = [
      reads.read('', ['a']),
      reads.read('', ['a', 'bad']),
      reads.read('', ['a']),
    ];
    await expect(bad).rejects.toThrow(SyntaxError);
    expect(await good).toEqual([[1]]);
    expect(await alsoGood).toEqual([[1]]);
  });

  it('sends what is queued when flushed before the turn ends (a closing store)', async () => {
    const redis = backend({ a: '[1]' });
    const reads = new ReadCoalescer(redis.fetch, decode);
    const pending = reads.read('', ['a']);
    reads.flush();
    expect(redis.calls).toEqual([['a']]);
    expect(await pending).toEqual([[1]]);
    await turnEnd(); // the scheduled flush finds nothing to send
    expect(redis.calls).toHaveLength(1);
  });
});
