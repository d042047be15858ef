import { describe, expect, it } from 'vitest';
import { decide, type BatchingPolicy, type QueueView } from './policy.ts';

/** A queue of [rows, enqueuedAtUs] in dispatch order, with a fake clock in µs. */
function queueOf(entries: readonly (readonly [rows: number, atUs: number])[]): QueueView {
  return {
    length: entries.length,
    rowsAt: (i) => entries[i]![0],
    enqueuedAtNs: (i) => entries[i]![1] * 1000,
  };
}

const policy = (overrides: Partial<BatchingPolicy> = {}): BatchingPolicy => ({
  maxBatchSize: 8,
  preferredBatchSizes: [],
  maxQueueDelayUs: 0,
  ...overrides,
});

const nowUs = (us: number): number => us * 1000;

describe('decide', () => {
  it('is idle with an empty queue or without a free runner', () => {
    expect(decide(queueOf([]), 0, true, policy())).toEqual({ kind: 'idle' });
    expect(decide(queueOf([[1, 0]]), 0, false, policy())).toEqual({ kind: 'idle' });
  });

  describe('with maxQueueDelayUs = 0 (never wait)', () => {
    it('runs a lone request at once: batching adds nothing when idle', () => {
      expect(decide(queueOf([[1, 0]]), nowUs(0), true, policy())).toEqual({
        kind: 'flush',
        requests: 1,
        rows: 1,
      });
    });

    it('takes everything that piled up while runners were busy, up to maxBatchSize rows', () => {
      const q = queueOf([
        [3, 0],
        [2, 1],
        [2, 2],
        [4, 3],
      ]);
      expect(decide(q, nowUs(10), true, policy())).toEqual({ kind: 'flush', requests: 3, rows: 7 });
    });

    it('counts rows, not requests', () => {
      const q = queueOf(Array.from({ length: 20 }, (_, i) => [1, i] as const));
      expect(decide(q, nowUs(100), true, policy())).toEqual({ kind: 'flush', requests: 8, rows: 8 });
    });

    it('never splits a request: one larger than maxBatchSize runs alone', () => {
      expect(
        decide(
          queueOf([
            [20, 0],
            [1, 1],
          ]),
          0,
          true,
          policy(),
        ),
      ).toEqual({ kind: 'flush', requests: 1, rows: 20 });
    });

    it('stops before a request that would overflow, keeping order (no reordering to fill gaps)', () => {
      const q = queueOf([
        [5, 0],
        [4, 1],
        [1, 2],
      ]);
      expect(decide(q, 0, true, policy())).toEqual({ kind: 'flush', requests: 1, rows: 5 });
    });

    it('cuts a full batch at the largest preferred size reached', () => {
      const q = queueOf(Array.from({ length: 12 }, (_, i) => [1, i] as const));
      expect(decide(q, 0, true, policy({ preferredBatchSizes: [2, 4] }))).toEqual({
        kind: 'flush',
        requests: 4,
        rows: 4,
      });
    });

    it('does not cut a batch that is not full', () => {
      const q = queueOf([
        [1, 0],
        [1, 0],
        [1, 0],
        [1, 0],
        [1, 0],
      ]);
      expect(decide(q, 0, true, policy({ preferredBatchSizes: [4] }))).toEqual({
        kind: 'flush',
        requests: 5,
        rows: 5,
      });
    });
  });

  describe('with a queue delay', () => {
    const delayed = policy({ maxQueueDelayUs: 500 });

    it('waits for more requests while below maxBatchSize and younger than the delay', () => {
      expect(decide(queueOf([[1, 100]]), nowUs(300), true, delayed)).toEqual({ kind: 'wait', waitUs: 300 });
    });

    it('flushes what it has once the oldest request has waited the delay', () => {
      expect(
        decide(
          queueOf([
            [1, 100],
            [2, 400],
          ]),
          nowUs(600),
          true,
          delayed,
        ),
      ).toEqual({
        kind: 'flush',
        requests: 2,
        rows: 3,
      });
    });

    it('flushes at once when the batch is full', () => {
      const q = queueOf([
        [4, 100],
        [4, 200],
        [1, 300],
      ]);
      expect(decide(q, nowUs(300), true, delayed)).toEqual({ kind: 'flush', requests: 2, rows: 8 });
    });

    it('flushes at once when the batch reaches a preferred size exactly', () => {
      const q = queueOf([
        [2, 100],
        [2, 150],
      ]);
      expect(
        decide(q, nowUs(200), true, policy({ maxQueueDelayUs: 500, preferredBatchSizes: [4, 8] })),
      ).toEqual({
        kind: 'flush',
        requests: 2,
        rows: 4,
      });
    });

    it('keeps waiting when past a preferred size but below the next one', () => {
      const q = queueOf([
        [2, 100],
        [2, 150],
        [1, 160],
      ]);
      expect(
        decide(q, nowUs(200), true, policy({ maxQueueDelayUs: 500, preferredBatchSizes: [4, 8] })),
      ).toEqual({
        kind: 'wait',
        waitUs: 400,
      });
    });

    it('on timeout sends everything queued when it is not full', () => {
      const q = queueOf([
        [2, 100],
        [2, 150],
        [1, 160],
      ]);
      expect(
        decide(q, nowUs(700), true, policy({ maxQueueDelayUs: 500, preferredBatchSizes: [4, 8] })),
      ).toEqual({
        kind: 'flush',
        requests: 3,
        rows: 5,
      });
    });

    it('cuts a full batch at a preferred size even before the delay', () => {
      const q = queueOf([
        [2, 100],
        [2, 110],
        [3, 120],
        [3, 130],
      ]);
      expect(decide(q, nowUs(150), true, policy({ maxQueueDelayUs: 500, preferredBatchSizes: [4] }))).toEqual(
        {
          kind: 'flush',
          requests: 2,
          rows: 4,
        },
      );
    });

    it('never asks to wait less than 1 µs', () => {
      const q = queueOf([[1, 0]]);
      expect(decide(q, 499_999.5, true, delayed)).toEqual({ kind: 'wait', waitUs: 1 });
    });
  });
});
