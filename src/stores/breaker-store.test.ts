import { describe, expect, it } from 'vitest';
import { quiverError } from '../errors.ts';
import { BreakerStore, type BreakerStoreOptions } from './breaker-store.ts';
import { MemoryStore } from './memory/memory-store.ts';
import { runOnlineStoreContract } from './online-store.contract.ts';
import { isStaleCache, type OnlineStore, type ReadResult, type WriteRow } from './online-store.ts';

const POLICY: Omit<BreakerStoreOptions, 'nowMs'> = {
  consecutiveFailures: 3,
  failureRate: 0.5,
  windowMs: 10_000,
  minimumCalls: 20,
  openMs: 1_000,
  hotCacheEntriesPerView: 100,
};

/**
 * A store standing in for Redis: a MemoryStore behind promise-returning calls that can be switched
 * "down" (every call fails with QUIVER_ERR_STORE_UNAVAILABLE, as the Redis adapter does) and that
 * counts the calls that reached it.
 */
class SwitchableStore implements OnlineStore {
  readonly kind = 'remote';
  readonly memory = new MemoryStore();
  down = false;
  calls = 0;

  async read(view: string, keys: readonly string[]): Promise<ReadResult> {
    this.#enter();
    return this.memory.read(view, keys);
  }
  async write(view: string, rows: readonly WriteRow[]) {
    this.#enter();
    return this.memory.write(view, rows);
  }
  async getMeta(name: string) {
    this.#enter();
    return this.memory.getMeta(name);
  }
  async setMeta(name: string, value: string) {
    this.#enter();
    return this.memory.setMeta(name, value);
  }
  ready() {
    return this.memory.ready();
  }
  close() {
    return this.memory.close();
  }
  #enter(): void {
    this.calls++;
    if (this.down)
      throw quiverError('QUIVER_ERR_STORE_UNAVAILABLE', { store: 'remote', reason: 'connection refused' });
  }
}

runOnlineStoreContract('breaker over memory (synchronous reads)', async () => {
  const store = new BreakerStore(new MemoryStore(), POLICY);
  return { store, cleanup: () => store.close(), syncReads: true };
});

runOnlineStoreContract('breaker over a remote store', async () => {
  const store = new BreakerStore(new SwitchableStore(), POLICY);
  return {
    store,
    cleanup: () => store.close(),
    syncReads: false,
    asyncReadsReason: 'the inner store stands in for Redis and answers with promises',
  };
});

function setUp(overrides: Partial<BreakerStoreOptions> = {}) {
  let now = 0;
  const inner = new SwitchableStore();
  const states: string[] = [];
  const store = new BreakerStore(inner, {
    ...POLICY,
    ...overrides,
    nowMs: () => now,
    onStateChange: (from, to) => states.push(`${from}→${to}`),
  });
  return { inner, store, states, advance: (ms: number) => (now += ms) };
}

const row = (key: string, value: number): WriteRow => ({ key, eventTsMs: 1000, values: [value] });

async function failure(call: () => unknown): Promise<{ code: string; retryAfterS?: number }> {
  return Promise.resolve()
    .then(call)
    .then(
      () => {
        throw new Error('expected the call to fail');
      },
      (err: { code: string; retryAfterS?: number }) => err,
    );
}

async function openCircuit(store: BreakerStore, inner: SwitchableStore): Promise<void> {
  inner.down = true;
  for (let i = 0; i < 3; i++) {
    // Before the circuit opens: the store's own error, with a Retry-After added.
    expect(await failure(() => store.read('v', ['u1']))).toMatchObject({
      code: 'QUIVER_ERR_STORE_UNAVAILABLE',
      message: 'Online store (remote) is unavailable: connection refused',
      retryAfterS: 1,
    });
  }
  expect(store.breaker.state).toBe('open');
}

describe('BreakerStore', () => {
  it('passes calls through while the store answers', async () => {
    const { inner, store } = setUp();
    await store.write('v', [row('u1', 1)]);
    await store.setMeta('m', 'x');
    expect(await store.read('v', ['u1', 'u2'])).toEqual([[1000, 1], undefined]);
    expect(await store.getMeta('m')).toBe('x');
    expect(inner.calls).toBe(4);
    expect(store.kind).toBe('remote');
  });

  it('opens after repeated outages, then refuses every call without reaching the store', async () => {
    const { inner, store, states } = setUp({ hotCacheEntriesPerView: 0 });
    await openCircuit(store, inner);
    expect(states).toEqual(['closed→open']);
    const before = inner.calls;
    for (const call of [
      () => store.read('v', ['u1']),
      () => store.write('v', [row('u1', 2)]),
      () => store.getMeta('m'),
      () => store.setMeta('m', 'y'),
    ]) {
      expect(await failure(call)).toMatchObject({ code: 'QUIVER_ERR_STORE_UNAVAILABLE', retryAfterS: 1 });
    }
    expect(inner.calls).toBe(before);
  });

  it('while open, answers reads of recently read keys from the hot cache, marked stale', async () => {
    const { inner, store } = setUp();
    await store.write('v', [row('u1', 1), row('u2', 2)]);
    const fresh = await store.read('v', ['u1', 'u2', 'u3']);
    expect(isStaleCache(fresh)).toBe(false);
    await openCircuit(store, inner);
    const cached = store.read('v', ['u2', 'u3']) as ReadResult; // synchronous: no I/O
    expect(cached).toEqual([[1000, 2], undefined]);
    expect(isStaleCache(cached)).toBe(true);
    // Any key not read before: the read fails rather than calling it absent.
    expect(await failure(() => store.read('v', ['u1', 'u9']))).toMatchObject({
      code: 'QUIVER_ERR_STORE_UNAVAILABLE',
    });
    expect(await failure(() => store.read('other_view', ['u1']))).toMatchObject({
      code: 'QUIVER_ERR_STORE_UNAVAILABLE',
    });
  });

  it('after openMs lets one probe through; when the store is back it closes and reads are fresh again', async () => {
    const { inner, store, states, advance } = setUp();
    await store.write('v', [row('u1', 1)]);
    await store.read('v', ['u1']);
    await openCircuit(store, inner);
    advance(1_000);
    expect(await failure(() => store.read('v', ['u7']))).toMatchObject({
      code: 'QUIVER_ERR_STORE_UNAVAILABLE',
    });
    expect(store.breaker.state).toBe('open'); // the probe failed: open again
    inner.down = false;
    advance(1_000);
    const probe = await store.read('v', ['u1']);
    expect(isStaleCache(probe)).toBe(false);
    expect(store.breaker.state).toBe('closed');
    expect(states).toEqual([
      'closed→open',
      'open→half-open',
      'half-open→open',
      'open→half-open',
      'half-open→closed',
    ]);
  });

  it('a write can be the probe too', async () => {
    const { inner, store, advance } = setUp();
    await openCircuit(store, inner);
    inner.down = false;
    advance(1_000);
    await expect(store.write('v', [row('u1', 5)])).resolves.toEqual({ written: 1, skippedStale: 0 });
    expect(store.breaker.state).toBe('closed');
  });

  it('errors that are not outages do not open the circuit', async () => {
    const { store } = setUp();
    await store.close();
    for (let i = 0; i < 5; i++) {
      expect(await failure(() => store.read('v', ['u1']))).toMatchObject({ code: 'QUIVER_ERR_CLOSED' });
      expect(await failure(() => store.write('v', [row('u', 1)]))).toMatchObject({
        code: 'QUIVER_ERR_CLOSED',
      });
    }
    expect(store.breaker.state).toBe('closed');
  });

  it('counts synchronous failures of a synchronous store', async () => {
    const inner = new MemoryStore();
    const store = new BreakerStore(inner, { ...POLICY, hotCacheEntriesPerView: 0 });
    const outage = quiverError('QUIVER_ERR_STORE_UNAVAILABLE', { store: 'memory', reason: 'test' });
    inner.read = () => {
      throw outage;
    };
    for (let i = 0; i < 3; i++) {
      let thrown: unknown;
      try {
        store.read('v', ['u']);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toMatchObject({ message: outage.message, retryAfterS: 1 });
      expect((thrown as Error).cause).toBe(outage);
    }
    expect(store.breaker.state).toBe('open');
    expect(() => store.read('v', ['u'])).toThrow(/circuit open/);
  });

  it('ready() asks the store itself', async () => {
    const { inner, store } = setUp();
    await openCircuit(store, inner);
    await expect(store.ready()).resolves.toBeUndefined();
  });

  it("keeps the store's own Retry-After when its error has one", async () => {
    const inner = new MemoryStore();
    const store = new BreakerStore(inner, POLICY);
    const outage = quiverError(
      'QUIVER_ERR_STORE_UNAVAILABLE',
      { store: 'memory', reason: 'x' },
      { retryAfterS: 7 },
    );
    inner.read = () => {
      throw outage;
    };
    expect(() => store.read('v', ['u'])).toThrow(outage);
    let thrown: unknown;
    try {
      store.read('v', ['u']);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBe(outage);
  });
});
