/**
 * The behaviour every OnlineStore implementation must show. Each implementation's test file calls
 * runOnlineStoreContract with a factory that gives a fresh, empty store per test.
 *
 * @example
 *   runOnlineStoreContract('memory', async () => {
 *     const store = new MemoryStore();
 *     return { store, cleanup: () => store.close(), syncReads: true };
 *   });
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { joinKeyParts, MAX_KEY_BYTES } from '../features/entity-key.ts';
import type { OnlineStore, ReadResult, WriteRow } from './online-store.ts';

export type ContractSubject = {
  store: OnlineStore;
  /** Removes what the test stored and closes the store; must tolerate an already closed store. */
  cleanup: () => Promise<void>;
} & (
  | { syncReads: true }
  /** A store whose read is a network round trip cannot answer synchronously; say why. */
  | { syncReads: false; asyncReadsReason: string }
);

const TS_MS = Date.UTC(2025, 0, 1, 12, 0, 0, 123);

export function runOnlineStoreContract(name: string, make: () => Promise<ContractSubject>): void {
  describe(`OnlineStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: OnlineStore;

    beforeEach(async () => {
      subject = await make();
      store = subject.store;
      await store.ready();
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    const read = async (view: string, keys: readonly string[]): Promise<ReadResult> => store.read(view, keys);
    const row = (key: string, eventTsMs: number, ...values: unknown[]): WriteRow => ({
      key,
      eventTsMs,
      values,
    });

    it('returns undefined at the positions of absent keys', async () => {
      await store.write('v', [row('u1', TS_MS, 1), row('u3', TS_MS, 3)]);
      expect(await read('v', ['u0', 'u1', 'u2', 'u3'])).toEqual([
        undefined,
        [TS_MS, 1],
        undefined,
        [TS_MS, 3],
      ]);
      expect(await read('never_written', ['u1'])).toEqual([undefined]);
      expect(await read('v', [])).toEqual([]);
    });

    it('lines results up with the input order, duplicates included', async () => {
      await store.write('v', [row('a', TS_MS, 'A'), row('b', TS_MS, 'B')]);
      const result = await read('v', ['b', 'a', 'b', 'zz', 'a', 'a']);
      expect(result).toEqual([
        [TS_MS, 'B'],
        [TS_MS, 'A'],
        [TS_MS, 'B'],
        undefined,
        [TS_MS, 'A'],
        [TS_MS, 'A'],
      ]);
    });

    it('round-trips every value type exactly', async () => {
      const values = [
        Number.MAX_SAFE_INTEGER,
        -Number.MAX_SAFE_INTEGER,
        0,
        -1,
        Math.fround(0.1),
        Math.fround(-3.4e38),
        0.1 + 0.2,
        1e300,
        Number.MIN_VALUE,
        true,
        false,
        'ünïcödé 日本語 🚀 "quoted" \\ \n',
        '',
        [Math.fround(0.5), Math.fround(-1.25), Math.fround(Math.PI)],
        [],
        null,
      ];
      await store.write('types', [row('k', TS_MS, ...values)]);
      const [stored] = await read('types', ['k']);
      expect(stored).toEqual([TS_MS, ...values]);
      // toEqual compares numbers with Object.is, but spell out the ones a codec is likely to bend.
      expect(stored![1]).toBe(Number.MAX_SAFE_INTEGER);
      expect(stored![5]).toBe(Math.fround(0.1));
      expect(stored![7]).toBe(0.30000000000000004);
    });

    it('keeps keys with separators and unicode distinct', async () => {
      const keys = ['user:42', 'user:42|eu', 'ü:1', 'a b'];
      await store.write(
        'v',
        keys.map((key, i) => row(key, TS_MS, i)),
      );
      expect(await read('v', [...keys].reverse())).toEqual([3, 2, 1, 0].map((i) => [TS_MS, i]));
    });

    it('holds the longest entity key there is (MAX_KEY_BYTES of UTF-8), in one part and composite', async () => {
      const long = 'é'.repeat(MAX_KEY_BYTES / 2);
      const composite = joinKeyParts(['a'.repeat(MAX_KEY_BYTES / 2 - 1), 'b'.repeat(MAX_KEY_BYTES / 2)]);
      expect(Buffer.byteLength(composite!)).toBe(MAX_KEY_BYTES);
      await store.write('v', [row(long, TS_MS, 1), row(composite!, TS_MS, 2)]);
      expect(await read('v', [composite!, long])).toEqual([
        [TS_MS, 2],
        [TS_MS, 1],
      ]);
    });

    it('skips an older write across calls and counts it', async () => {
      expect(await store.write('v', [row('u', TS_MS + 1000, 'new')])).toEqual({
        written: 1,
        skippedStale: 0,
      });
      expect(await store.write('v', [row('u', TS_MS, 'old')])).toEqual({ written: 0, skippedStale: 1 });
      expect(await read('v', ['u'])).toEqual([[TS_MS + 1000, 'new']]);
    });

    it('skips an older row within the same write call', async () => {
      const result = await store.write('v', [row('u', TS_MS + 1000, 'new'), row('u', TS_MS, 'old')]);
      expect(result).toEqual({ written: 1, skippedStale: 1 });
      expect(await read('v', ['u'])).toEqual([[TS_MS + 1000, 'new']]);

      const ascending = await store.write('v', [row('w', TS_MS, 'first'), row('w', TS_MS + 1, 'second')]);
      expect(ascending).toEqual({ written: 2, skippedStale: 0 });
      expect(await read('v', ['w'])).toEqual([[TS_MS + 1, 'second']]);
    });

    it('overwrites on an equal timestamp, so re-runs are idempotent', async () => {
      await store.write('v', [row('u', TS_MS, 1)]);
      expect(await store.write('v', [row('u', TS_MS, 2)])).toEqual({ written: 1, skippedStale: 0 });
      expect(await read('v', ['u'])).toEqual([[TS_MS, 2]]);
    });

    it('overwrites with a newer write', async () => {
      await store.write('v', [row('u', TS_MS, 1, 'a')]);
      expect(await store.write('v', [row('u', TS_MS + 1, 2, 'b')])).toEqual({ written: 1, skippedStale: 0 });
      expect(await read('v', ['u'])).toEqual([[TS_MS + 1, 2, 'b']]);
    });

    it('mixes new, stale and newer rows in one call with exact counts', async () => {
      await store.write('v', [row('a', TS_MS, 0), row('b', TS_MS, 0)]);
      const result = await store.write('v', [
        row('a', TS_MS - 1, 1),
        row('b', TS_MS + 1, 1),
        row('c', TS_MS, 1),
        row('a', TS_MS - 2, 2),
      ]);
      expect(result).toEqual({ written: 2, skippedStale: 2 });
      expect(await read('v', ['a', 'b', 'c'])).toEqual([
        [TS_MS, 0],
        [TS_MS + 1, 1],
        [TS_MS, 1],
      ]);
    });

    it('isolates views: the same key in two views holds two records', async () => {
      await store.write('left', [row('u', TS_MS + 5, 'L')]);
      await store.write('right', [row('u', TS_MS, 'R')]);
      expect(await read('left', ['u'])).toEqual([[TS_MS + 5, 'L']]);
      expect(await read('right', ['u'])).toEqual([[TS_MS, 'R']]);
      expect(await read('other', ['u'])).toEqual([undefined]);
    });

    it('stores a copy: changing the written values array afterwards changes nothing', async () => {
      const values = [1, 2];
      await store.write('v', [{ key: 'u', eventTsMs: TS_MS, values }]);
      values[0] = 99;
      expect(await read('v', ['u'])).toEqual([[TS_MS, 1, 2]]);
    });

    it('writes 5,000 rows in one call', async () => {
      const rows = Array.from({ length: 5000 }, (_, i) => row(`e${i}`, TS_MS + i, i, `s${i}`));
      expect(await store.write('bulk', rows)).toEqual({ written: 5000, skippedStale: 0 });
      const result = await read(
        'bulk',
        rows.map((r) => r.key),
      );
      expect(result).toEqual(rows.map((r, i) => [TS_MS + i, i, `s${i}`]));
    });

    it('reads 10,000 keys in one call, in any order', async () => {
      const count = 10_000;
      for (let start = 0; start < count; start += 1000) {
        const chunk = Array.from({ length: 1000 }, (_, j) =>
          row(`k${start + j}`, TS_MS, start + j, Math.fround(j / 7)),
        );
        await store.write('wide', chunk);
      }
      // A fixed permutation (7919 is prime, coprime with 10,000), plus a few absent keys.
      const order = Array.from({ length: count }, (_, i) => (i * 7919) % count);
      const keys = order.map((i) => `k${i}`);
      keys.push('absent-1', 'absent-2');
      const result = await read('wide', keys);
      expect(result).toHaveLength(count + 2);
      const expected = order.map((i) => [TS_MS, i, Math.fround((i % 1000) / 7)]);
      expect(result.slice(0, count)).toEqual(expected);
      expect(result.slice(count)).toEqual([undefined, undefined]);
    });

    it('writes nothing for an empty write', async () => {
      expect(await store.write('v', [])).toEqual({ written: 0, skippedStale: 0 });
    });

    it('round-trips meta and answers undefined for a missing name', async () => {
      expect(await store.getMeta('watermark:v')).toBeUndefined();
      await store.setMeta('watermark:v', '1735732800123');
      await store.setMeta('other', 'ünï');
      expect(await store.getMeta('watermark:v')).toBe('1735732800123');
      await store.setMeta('watermark:v', '1735732800999');
      expect(await store.getMeta('watermark:v')).toBe('1735732800999');
      expect(await store.getMeta('other')).toBe('ünï');
    });

    it('fails every call after close() with QUIVER_ERR_CLOSED, and close() twice is harmless', async () => {
      await store.write('v', [row('u', TS_MS, 1)]);
      await store.close();
      await expectClosed(() => store.read('v', ['u']));
      await expectClosed(() => store.write('v', [row('u', TS_MS + 1, 2)]));
      await expectClosed(() => store.getMeta('x'));
      await expectClosed(() => store.setMeta('x', 'y'));
      await expectClosed(() => store.ready());
      await expect(store.close()).resolves.toBeUndefined();
    });

    it('close() waits for a write in flight', async () => {
      const rows = Array.from({ length: 2000 }, (_, i) => row(`d${i}`, TS_MS, i));
      const writing = store.write('drain', rows);
      await store.close();
      await expect(writing).resolves.toEqual({ written: 2000, skippedStale: 0 });
    });

    it('answers read() synchronously (no promise) where the store is in-process', (ctx) => {
      if (!subject.syncReads) ctx.skip(subject.asyncReadsReason);
      const result = store.read('v', ['u']);
      expect(isPromiseLike(result)).toBe(false);
      expect(result).toEqual([undefined]);
    });
  });
}

async function expectClosed(call: () => unknown): Promise<void> {
  let error: unknown;
  try {
    await call();
  } catch (err) {
    error = err;
  }
  expect(error).toMatchObject({ code: 'QUIVER_ERR_CLOSED', kind: 'closed' });
}

function isPromiseLike(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
