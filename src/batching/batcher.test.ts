import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isQuiverError } from '../errors.ts';
import type { AdmissionRejectEvent } from '../metrics/events.ts';
import { Batcher, type BatchExecutor, type BatcherOptions, type Cancellation } from './batcher.ts';

interface Call {
  payloads: string[];
  rows: number;
  /** Set by tests that walk through calls in order. */
  done?: boolean;
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

  it('refuseIfFull tells, before any submit, the queue-full rejection a level would give', () => {
    const { executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    const rejections: unknown[] = [];
    const listener = (message: unknown): void => void rejections.push(message);
    diagnostics.subscribe('quiver:admission:reject', listener);
    try {
      void batcher.submit('running', 1);
      expect(batcher.refuseIfFull()).toBeUndefined();
      for (const p of ['q1', 'q2', 'q3']) void batcher.submit(p, 1).catch(() => undefined);
      expect(batcher.refuseIfFull()).toMatchObject({ code: 'QUIVER_ERR_QUEUE_FULL', retryAfterS: 1 });
      expect(batcher.refuseIfFull({ priority: 1 })).toBeUndefined(); // the other level has room
      expect(rejections).toEqual([{ model: 'm', priority: 2, reason: 'queue_full' }]);
      expect(batcher.stats.queued).toBe(3); // asking changed nothing
    } finally {
      diagnostics.unsubscribe('quiver:admission:reject', listener);
    }
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
    const cancellation: Cancellation = {};
    const gone = batcher.submit('gone', 1, { cancellation });
    const stays = batcher.submit('stays', 1);
    batcher.cancel(cancellation);
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

describe('Batcher admission', () => {
  it('estimates Retry-After of a full queue from the drain rate', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher, advanceMs } = makeBatcher(executor, {
      policy: { maxBatchSize: 1, preferredBatchSizes: [], maxQueueDelayUs: 0 },
      queue: { priorityLevels: 2, defaultPriority: 2, maxQueueSize: 3, defaultTimeoutMs: 60_000 },
    });
    // Two requests, each running for 1.5 s on the only runner: the queue drains at 2/3 request/s.
    void batcher.submit('a', 1);
    void batcher.submit('b', 1);
    advanceMs(1500);
    calls[0]!.finish();
    await flushMicrotasks();
    advanceMs(1500);
    calls[1]!.finish();
    await flushMicrotasks();
    void batcher.submit('running', 1);
    for (const p of ['q1', 'q2', 'q3']) void batcher.submit(p, 1);
    // 3 queued ahead at 2/3 per second: 4.5 s → 5.
    await expect(batcher.submit('q4', 1)).rejects.toMatchObject({
      code: 'QUIVER_ERR_QUEUE_FULL',
      retryAfterS: 5,
    });
    // At priority 1 nothing is ahead: the level is not full, so it is accepted.
    expect(batcher.depths()).toEqual([0, 3]);
  });

  it('rejects a queued request at its deadline, wherever it waits, without running it', async () => {
    vi.useFakeTimers();
    const { calls, executor } = controlledExecutor();
    const { batcher, advanceMs } = makeBatcher(executor);
    void batcher.submit('running', 1);
    const first = batcher.submit('first', 1); // 100 ms default deadline, at the head
    let settled: unknown;
    batcher.submit('late', 1, { timeoutMs: 10 }).catch((err: unknown) => (settled = err));
    advanceMs(9);
    await vi.advanceTimersByTimeAsync(9);
    expect(settled).toBeUndefined();
    advanceMs(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toMatchObject({ code: 'QUIVER_ERR_DEADLINE_EXCEEDED', details: { timeoutMs: 10 } });
    expect(batcher.depths()).toEqual([0, 1]);
    calls[0]!.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.payloads)).toEqual([['running'], ['first']]);
    calls[1]!.finish();
    await expect(first).resolves.toBe('done:first');
  });

  it('a client disconnect frees its queue slot at once', async () => {
    const { executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    void batcher.submit('running', 1);
    const cancellation: Cancellation = {};
    void batcher.submit('q1', 1);
    const gone = batcher.submit('q2', 1, { cancellation });
    void batcher.submit('q3', 1);
    await expect(batcher.submit('q4', 1)).rejects.toMatchObject({ code: 'QUIVER_ERR_QUEUE_FULL' });
    batcher.cancel(cancellation);
    await expect(gone).rejects.toMatchObject({ code: 'QUIVER_ERR_CLIENT_CLOSED_REQUEST' });
    void batcher.submit('q5', 1);
    expect(batcher.depths()).toEqual([0, 3]);
  });

  it('rejects a request cancelled before it was submitted, without queueing it', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    const cancellation: Cancellation = {};
    batcher.cancel(cancellation);
    await expect(batcher.submit('a', 1, { cancellation })).rejects.toMatchObject({
      code: 'QUIVER_ERR_CLIENT_CLOSED_REQUEST',
    });
    expect(calls).toHaveLength(0);
  });

  it('cancelling a request a runner already took changes nothing: it completes', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    const cancellation: Cancellation = {};
    const running = batcher.submit('running', 1, { cancellation });
    batcher.cancel(cancellation);
    calls[0]!.finish();
    await expect(running).resolves.toBe('done:running');
  });
});

describe('Batcher adaptive shedding', () => {
  /** Records what is published on quiver:admission:reject while the test runs. */
  function recordRejects(): { events: AdmissionRejectEvent[]; stop(): void } {
    const events: AdmissionRejectEvent[] = [];
    const listener = (message: unknown): void => void events.push(message as AdmissionRejectEvent);
    diagnostics.subscribe('quiver:admission:reject', listener);
    return { events, stop: () => diagnostics.unsubscribe('quiver:admission:reject', listener) };
  }

  function sheddingBatcher() {
    const { calls, executor } = controlledExecutor();
    const made = makeBatcher(executor, {
      policy: { maxBatchSize: 1, preferredBatchSizes: [], maxQueueDelayUs: 0 },
      queue: {
        priorityLevels: 2,
        defaultPriority: 2,
        maxQueueSize: 10,
        defaultTimeoutMs: 60_000,
        shedding: { targetDelayMs: 5, intervalMs: 100 },
      },
    });
    const outcomes = new Map<string, string>();
    const submit = (payload: string, priority?: number): void => {
      made.batcher.submit(payload, 1, { priority }).then(
        () => outcomes.set(payload, 'done'),
        (err: { code: string; retryAfterS?: number }) => outcomes.set(payload, err.code),
      );
    };
    /** Advances the clock, finishes the running batch, lets the next one start. */
    const finishAfter = async (ms: number): Promise<void> => {
      made.advanceMs(ms);
      calls.find((c) => !c.done)!.finish();
      calls.find((c) => !c.done)!.done = true;
      await flushMicrotasks();
    };
    return { ...made, calls, outcomes, submit, finishAfter };
  }

  it('sheds the lowest non-empty priority level first once the delay stays above target', async () => {
    const rejects = recordRejects();
    try {
      const { batcher, calls, outcomes, submit, finishAfter } = sheddingBatcher();
      submit('r0');
      for (const p of ['l1', 'l2', 'l3', 'l4', 'l5', 'l6']) submit(p, 2);
      submit('h1', 1);
      submit('h2', 1);
      await finishAfter(50); // t=50: h1 starts after 50 ms (above the 5 ms target): the interval begins
      await finishAfter(50); // t=100: h2 starts; still within the first interval
      expect(batcher.stats.shed).toBe(0);
      await finishAfter(50); // t=150: l1 starts; above target for a whole interval → shed l2
      expect(outcomes.get('l2')).toBe('QUIVER_ERR_SHED');
      expect(batcher.stats.shed).toBe(1);
      await finishAfter(50); // t=200: l3 starts; next shed due at 250
      expect(batcher.stats.shed).toBe(1);
      await finishAfter(50); // t=250: l4 starts, l5 shed; next due at 250 + 100/√2 ≈ 320.7
      expect(outcomes.get('l5')).toBe('QUIVER_ERR_SHED');
      submit('h3', 1);
      submit('h4', 1);
      await finishAfter(80); // t=330: h3 starts; l6 is shed, not h4: lower levels go first
      expect(outcomes.get('l6')).toBe('QUIVER_ERR_SHED');
      expect(batcher.depths()).toEqual([1, 0]);
      submit('h5', 1);
      await finishAfter(70); // t=400: h4 starts; only priority 1 is left, so h5 is shed
      expect(outcomes.get('h5')).toBe('QUIVER_ERR_SHED');
      expect(calls.map((c) => c.payloads[0])).toEqual(['r0', 'h1', 'h2', 'l1', 'l3', 'l4', 'h3', 'h4']);
      expect(rejects.events).toEqual([
        { model: 'm', priority: 2, reason: 'shed' },
        { model: 'm', priority: 2, reason: 'shed' },
        { model: 'm', priority: 2, reason: 'shed' },
        { model: 'm', priority: 1, reason: 'shed' },
      ]);
      expect(batcher.stats.shed).toBe(4);
    } finally {
      rejects.stop();
    }
  });

  it('high-priority requests served at once do not hide a standing low-priority queue', async () => {
    const { batcher, submit, advanceMs, finishAfter, outcomes } = sheddingBatcher();
    submit('r0');
    for (const p of ['l1', 'l2', 'l3', 'l4']) submit(p, 2);
    // Every 20 ms a high-priority request arrives just as the runner frees up, so it runs without
    // waiting (sojourn 0), while l1..l4 keep waiting behind it.
    for (let i = 1; i <= 6; i++) {
      advanceMs(20);
      submit(`h${i}`, 1);
      await finishAfter(0);
    }
    // The low-priority queue has stood for 120 ms ≥ 5 ms target over a 100 ms interval: its
    // longest-waiting request is shed, though each dequeued (high) request waited ~0 ms.
    expect(outcomes.get('l1')).toBe('QUIVER_ERR_SHED');
    expect(batcher.stats.shed).toBe(1);
    expect(batcher.depths()).toEqual([0, 3]);
  });

  it('a shed request gets 503 material: QUIVER_ERR_SHED with Retry-After and its priority', async () => {
    const { batcher, submit, finishAfter } = sheddingBatcher();
    const victims: unknown[] = [];
    submit('r0');
    batcher.submit('h1', 1, { priority: 1 }).catch(() => undefined);
    batcher.submit('l1', 1).catch(() => undefined);
    batcher.submit('l2', 1).catch((err: unknown) => victims.push(err));
    await finishAfter(120); // h1 starts after 120 ms: the interval begins (firstAbove = 220)
    await finishAfter(120); // t=240: l1 starts, past the interval: l2 is shed
    expect(victims).toHaveLength(1);
    expect(victims[0]).toMatchObject({
      code: 'QUIVER_ERR_SHED',
      kind: 'unavailable',
      retryAfterS: 1,
      details: { model: 'm', priority: 2 },
    });
  });

  it('stops shedding as soon as a dequeued request waited less than the target', async () => {
    const { batcher, submit, finishAfter, outcomes } = sheddingBatcher();
    submit('r0');
    for (const p of ['a', 'b', 'c']) submit(p);
    await finishAfter(120); // a starts after 120 ms (interval begins)
    await finishAfter(120); // b starts; c is shed
    expect(outcomes.get('c')).toBe('QUIVER_ERR_SHED');
    await finishAfter(1); // queue empty; b done
    submit('fresh'); // runs at once: sojourn 0 ends the shedding state
    for (const p of ['x', 'y']) submit(p);
    await finishAfter(1); // x starts after 1 ms: below target
    await finishAfter(1);
    expect(outcomes.get('x')).toBe('done');
    expect(batcher.stats.shed).toBe(1);
  });

  it('is off without a shedding policy: a standing queue is only bounded by its size and deadlines', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher, advanceMs } = makeBatcher(executor, {
      policy: { maxBatchSize: 1, preferredBatchSizes: [], maxQueueDelayUs: 0 },
      queue: { priorityLevels: 2, defaultPriority: 2, maxQueueSize: 10, defaultTimeoutMs: 60_000 },
    });
    const all = ['r', 'a', 'b', 'c', 'd'].map((p) => batcher.submit(p, 1));
    for (let i = 0; i < 5; i++) {
      advanceMs(200);
      calls[i]!.finish();
      await flushMicrotasks();
    }
    await expect(Promise.all(all)).resolves.toHaveLength(5);
    expect(batcher.stats.shed).toBe(0);
  });
});

describe('Batcher events and edge cases', () => {
  it('publishes quiver:batch:flush and quiver:batch:done with sizes, queue delay and duration', async () => {
    const flushes: unknown[] = [];
    const dones: unknown[] = [];
    const onFlush = (m: unknown): void => void flushes.push(m);
    const onDone = (m: unknown): void => void dones.push(m);
    diagnostics.subscribe('quiver:batch:flush', onFlush);
    diagnostics.subscribe('quiver:batch:done', onDone);
    try {
      const { calls, executor } = controlledExecutor();
      const { batcher, advanceMs } = makeBatcher(executor);
      void batcher.submit('a', 1);
      advanceMs(1);
      void batcher.submit('b', 2);
      advanceMs(2);
      void batcher.submit('c', 1);
      advanceMs(4);
      calls[0]!.finish();
      await flushMicrotasks();
      advanceMs(5);
      calls[1]!.finish();
      await flushMicrotasks();
      expect(flushes).toEqual([
        { model: 'm', requests: 1, rows: 1, queueDelayUs: 0 },
        // b waited 6 ms (the oldest of the batch), c 4 ms.
        { model: 'm', requests: 2, rows: 3, queueDelayUs: 6000 },
      ]);
      expect(dones).toEqual([
        { model: 'm', rows: 1, durationUs: 7000, failed: false },
        { model: 'm', rows: 3, durationUs: 5000, failed: false },
      ]);
    } finally {
      diagnostics.unsubscribe('quiver:batch:flush', onFlush);
      diagnostics.unsubscribe('quiver:batch:done', onDone);
    }
  });

  it('a lone request whose batch throws gets that error, and the batch counts as failed', async () => {
    const dones: { failed: boolean }[] = [];
    const onDone = (m: unknown): void => void dones.push(m as { failed: boolean });
    diagnostics.subscribe('quiver:batch:done', onDone);
    try {
      const { calls, executor } = controlledExecutor();
      const { batcher } = makeBatcher(executor);
      const lone = batcher.submit('x', 1);
      calls[0]!.fail(new Error('runner died'));
      await expect(lone).rejects.toThrow('runner died');
      expect(dones).toEqual([expect.objectContaining({ failed: true })]);
      // The batcher carries on.
      const next = batcher.submit('y', 1);
      await flushMicrotasks();
      calls[1]!.finish();
      await expect(next).resolves.toBe('done:y');
    } finally {
      diagnostics.unsubscribe('quiver:batch:done', onDone);
    }
  });

  it('close() does not wait for a fuller batch: what is queued runs at once', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor, {
      policy: { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayUs: 1_000_000 },
    });
    const a = batcher.submit('a', 1);
    const b = batcher.submit('b', 1);
    expect(calls).toHaveLength(0); // waiting up to 1 s for more
    const closing = batcher.close();
    expect(calls.map((c) => c.payloads)).toEqual([['a', 'b']]);
    calls[0]!.finish();
    await closing;
    await expect(Promise.all([a, b])).resolves.toEqual(['done:a', 'done:b']);
  });

  it('close() on an idle batcher resolves at once', async () => {
    const { executor } = controlledExecutor();
    const { batcher } = makeBatcher(executor);
    await expect(batcher.close()).resolves.toBeUndefined();
  });

  it('when shedding is due but the batch took everything queued, nothing is shed', async () => {
    const { calls, executor } = controlledExecutor();
    const { batcher, advanceMs } = makeBatcher(executor, {
      policy: { maxBatchSize: 8, preferredBatchSizes: [], maxQueueDelayUs: 0 },
      queue: {
        priorityLevels: 2,
        defaultPriority: 2,
        maxQueueSize: 10,
        defaultTimeoutMs: 60_000,
        shedding: { targetDelayMs: 5, intervalMs: 100 },
      },
    });
    const all = [batcher.submit('r', 1), batcher.submit('a', 1)];
    advanceMs(150);
    calls[0]!.finish();
    await flushMicrotasks(); // 'a' starts after 150 ms: the interval begins
    all.push(batcher.submit('b', 1));
    advanceMs(150);
    calls[1]!.finish();
    await flushMicrotasks(); // 'b' starts after 150 ms, past the interval: due, but nothing is left
    calls[2]!.finish();
    await expect(Promise.all(all)).resolves.toEqual(['done:r', 'done:a', 'done:b']);
    expect(batcher.stats.shed).toBe(0);
  });
});
