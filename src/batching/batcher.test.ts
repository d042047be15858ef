import { afterEach, describe, expect, it, vi } from 'vitest';
import { isQuiverError } from '../errors.ts';
import { Batcher, type BatchExecutor, type BatcherOptions } from './batcher.ts';

interface Call {
  payloads: string[];
  rows: number;
  finish(): void;
  fail(err: Error): void;
}

/**
 * An executor that records each batch and lets the test decide when it finishes, so "runner busy"
 * is a state the test controls rather than a timing accident. Results echo the payload, and a
 * payload starting with "bad" fails on its own.
 */
function controlledExecutor(options: { failWholeBatchOn?: string } = {}) {
  const calls: Call[] = [];
  const executor: BatchExecutor<string, string> = {
    execute(payloads, rows) {
      return new Promise((resolve, reject) => {
        const run = () => {
          if (options.failWholeBatchOn !== undefined && payloads.includes(options.failWholeBatchOn)) {
            reject(new Error(`batch with ${options.failWholeBatchOn} failed`));
            return;
          }
          resolve(payloads.map((p) => (p.startsWith('bad') ? new Error(`bad input ${p}`) : `done:${p}`)));
        };
        calls.push({ payloads: [...payloads], rows, finish: run, fail: reject });
      });
    },
  };
  return { calls, executor };
}

function makeBatcher(
  executor: BatchExecutor<string, string>,
  overrides: Partial<BatcherOptions<string, string>> = {},
) {
  let now = 0;
  const batcher = new Batcher<string, string>({
    name: 'm',
    policy: { maxBatchSize: 4, preferredBatchSizes: [], maxQueueDelayUs: 0 },
    queue: { priorityLevels: 2, defaultPriority: 2, maxQueueSize: 3, defaultTimeoutMs: 100 },
    concurrency: 1,
    executor,
    nowNs: () => now,
    ...overrides,
  });
  return { batcher, advanceMs: (ms: number) => (now += ms * 1e6) };
}

const flushMicrotasks = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
  vi.useRealTimers();
});

describe('Batcher', () => {
  it('runs a lone request at once, as a batch of one', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    const result = batcher.submit('a', 1);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.payloads).toEqual(['a']);
    calls[0]!.finish();
    await expect(result).resolves.toBe('done:a');
  });

  it('batches what piles up while the runner is busy, in priority order, up to maxBatchSize rows', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    const first = batcher.submit('first', 1);
    const low = [batcher.submit('l1', 1), batcher.submit('l2', 2)];
    const high = [batcher.submit('h1', 1, { priority: 1 }), batcher.submit('h2', 1, { priority: 1 })];
    expect(calls).toHaveLength(1);
    calls[0]!.finish();
    await first;
    await flushMicrotasks();
    expect(calls).toHaveLength(2);
    // 4-row limit: h1 + h2 + l1 = 3 rows; l2 (2 rows) would overflow and waits for the next batch.
    expect(calls[1]!.payloads).toEqual(['h1', 'h2', 'l1']);
    expect(calls[1]!.rows).toBe(3);
    calls[1]!.finish();
    await flushMicrotasks();
    expect(calls[2]!.payloads).toEqual(['l2']);
    calls[2]!.finish();
    await expect(Promise.all([...high, ...low])).resolves.toEqual([
      'done:h1',
      'done:h2',
      'done:l1',
      'done:l2',
    ]);
    expect(batcher.stats).toMatchObject({ batches: 3, requests: 5, rows: 6, queued: 0, inFlight: 0 });
  });

  it('runs up to `concurrency` batches at once', () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor, { concurrency: 2 });
    void batcher.submit('a', 1);
    void batcher.submit('b', 1);
    void batcher.submit('c', 1);
    expect(calls.map((c) => c.payloads)).toEqual([['a'], ['b']]);
    expect(batcher.stats.queued).toBe(1);
  });

  it('rejects at once with QUEUE_FULL and Retry-After when the level is full, other levels unaffected', async () => {
    const { executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    void batcher.submit('running', 1);
    const queued = [batcher.submit('q1', 1), batcher.submit('q2', 1), batcher.submit('q3', 1)];
    const rejected = batcher.submit('q4', 1);
    await expect(rejected).rejects.toMatchObject({ code: 'QUIVER_ERR_QUEUE_FULL', retryAfterS: 1 });
    const high = batcher.submit('h', 1, { priority: 1 });
    expect(batcher.depths()).toEqual([1, 3]);
    void queued;
    void high;
  });

  it('drops a request whose deadline passed while queued (504) without running it', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher, advanceMs } = makeBatcher(executor);
    void batcher.submit('running', 1);
    const late = batcher.submit('late', 1, { timeoutMs: 10 });
    const onTime = batcher.submit('on-time', 1);
    advanceMs(20);
    calls[0]!.finish();
    await expect(late).rejects.toMatchObject({
      code: 'QUIVER_ERR_DEADLINE_EXCEEDED',
      kind: 'deadline_exceeded',
    });
    await flushMicrotasks();
    expect(calls[1]!.payloads).toEqual(['on-time']);
    calls[1]!.finish();
    await expect(onTime).resolves.toBe('done:on-time');
    expect(calls.flatMap((c) => c.payloads)).not.toContain('late');
  });

  it('a request timeout can only shorten the model default', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher, advanceMs } = makeBatcher(executor);
    void batcher.submit('running', 1);
    const r = batcher.submit('long', 1, { timeoutMs: 10_000 });
    advanceMs(150); // past the 100 ms default
    calls[0]!.finish();
    await expect(r).rejects.toMatchObject({ code: 'QUIVER_ERR_DEADLINE_EXCEEDED' });
  });

  it('cancels queued work when the client disconnects', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    void batcher.submit('running', 1);
    const abort = new AbortController();
    const gone = batcher.submit('gone', 1, { signal: abort.signal });
    const stays = batcher.submit('stays', 1);
    abort.abort();
    calls[0]!.finish();
    await expect(gone).rejects.toMatchObject({ code: 'QUIVER_ERR_CLIENT_CLOSED_REQUEST' });
    await flushMicrotasks();
    expect(calls[1]!.payloads).toEqual(['stays']);
    calls[1]!.finish();
    await expect(stays).resolves.toBe('done:stays');
  });

  it('one request failing in a batch fails alone', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    void batcher.submit('x', 1);
    const results = [batcher.submit('ok1', 1), batcher.submit('bad1', 1), batcher.submit('ok2', 1)].map((p) =>
      p.then(
        (v) => v,
        (e: Error) => e.message,
      ),
    );
    calls[0]!.finish();
    await flushMicrotasks();
    calls[1]!.finish();
    expect(await Promise.all(results)).toEqual(['done:ok1', 'bad input bad1', 'done:ok2']);
  });

  it('a whole batch that throws is re-run request by request, so only the culprit fails', async () => {
    const { calls, executor } = controlledExecutor({ failWholeBatchOn: 'poison' });
    const { batcher } = makeBatcher(executor);
    void batcher.submit('x', 1);
    const results = [batcher.submit('a', 1), batcher.submit('poison', 1), batcher.submit('b', 1)].map((p) =>
      p.then(
        (v) => v,
        (e: Error) => `error:${e.message}`,
      ),
    );
    calls[0]!.finish();
    await flushMicrotasks();
    calls[1]!.finish(); // the batch [a, poison, b] throws
    for (let i = 2; i < 5; i++) {
      await flushMicrotasks();
      calls[i]!.finish();
    }
    expect(await Promise.all(results)).toEqual(['done:a', 'error:batch with poison failed', 'done:b']);
    expect(calls.slice(2).map((c) => c.payloads)).toEqual([['a'], ['poison'], ['b']]);
  });

  it('waits up to maxQueueDelayUs for a fuller batch, then flushes', async () => {
    vi.useFakeTimers();
    const { calls, executor } = controlledExecutor();
    const { batcher, advanceMs } = makeBatcher(executor, {
      policy: { maxBatchSize: 4, preferredBatchSizes: [], maxQueueDelayUs: 2000 },
    });
    void batcher.submit('a', 1);
    void batcher.submit('b', 1);
    expect(calls).toHaveLength(0);
    advanceMs(2);
    await vi.advanceTimersByTimeAsync(2);
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
  });

  it('with a delay, flushes at once when the batch is full', () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor, {
      policy: { maxBatchSize: 2, preferredBatchSizes: [], maxQueueDelayUs: 1_000_000 },
    });
    void batcher.submit('a', 1);
    expect(calls).toHaveLength(0);
    void batcher.submit('b', 1);
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
  });

  it('close() stops admitting, runs everything admitted, then resolves', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    const running = batcher.submit('running', 1);
    const queued = batcher.submit('queued', 1);
    let closed = false;
    const closing = batcher.close().then(() => (closed = true));
    const refused = batcher.submit('late', 1);
    await expect(refused).rejects.toMatchObject({ code: 'QUIVER_ERR_SHUTTING_DOWN' });
    calls[0]!.finish();
    await flushMicrotasks();
    expect(closed).toBe(false);
    calls[1]!.finish();
    await closing;
    await expect(Promise.all([running, queued])).resolves.toEqual(['done:running', 'done:queued']);
  });

  it('destroy() fails queued requests with SHUTTING_DOWN', async () => {
    const { executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    void batcher.submit('running', 1);
    const queued = batcher.submit('queued', 1);
    batcher.destroy();
    const err: unknown = await queued.catch((e: unknown) => e);
    expect(isQuiverError(err) && err.code).toBe('QUIVER_ERR_SHUTTING_DOWN');
  });

  it('clamps out-of-range priorities', () => {
    const { executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    void batcher.submit('running', 1);
    void batcher.submit('p0', 1, { priority: 0 });
    void batcher.submit('p9', 1, { priority: 9 });
    expect(batcher.depths()).toEqual([1, 1]);
  });
});
