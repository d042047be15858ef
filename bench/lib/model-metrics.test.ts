import { afterEach, describe, expect, it } from 'vitest';
import { Metrics } from '../../src/metrics/metrics.ts';
import { channels, type BatchDoneEvent, type BatchFlushEvent } from '../../src/metrics/events.ts';
import { modelChannels, type ModelRunEvent } from '../../src/models/events.ts';
import {
  EVENT_LOOP_RESOLUTION_US,
  combineObservations,
  observeModel,
  type ModelObservation,
} from './model-metrics.ts';
import { parsePromText } from './prom-text.ts';

let metrics: Metrics | undefined;
afterEach(() => {
  metrics?.unsubscribe();
  metrics = undefined;
});

const flush = (e: BatchFlushEvent): void => channels.batchFlush.publish(e);
const done = (e: BatchDoneEvent): void => channels.batchDone.publish(e);
const run = (e: ModelRunEvent): void => modelChannels.run.publish(e);

describe('observeModel', () => {
  // The server's own Metrics, fed through the real channels: catches renamed metrics.
  it("reads the server's batch and model histograms between two scrapes, for one model", async () => {
    metrics = new Metrics();
    flush({ model: 'gbdt', requests: 1, rows: 1, queueDelayUs: 5 });
    const before = parsePromText(await metrics.registry.metrics());
    flush({ model: 'gbdt', requests: 3, rows: 3, queueDelayUs: 40 });
    flush({ model: 'gbdt', requests: 5, rows: 7, queueDelayUs: 60 });
    flush({ model: 'other', requests: 100, rows: 100, queueDelayUs: 1 });
    done({ model: 'gbdt', rows: 3, durationUs: 300, failed: false });
    done({ model: 'gbdt', rows: 7, durationUs: 500, failed: true });
    run({ model: 'gbdt', runner: 0, threadId: 1, computeUs: 100, roundTripUs: 180, failed: false });
    run({ model: 'gbdt', runner: 0, threadId: 1, computeUs: 120, roundTripUs: 160, failed: false });
    channels.admissionReject.publish({ model: 'gbdt', priority: 1, reason: 'queue_full' });
    channels.admissionReject.publish({ model: 'gbdt', priority: 2, reason: 'cancelled' });
    channels.admissionReject.publish({ model: 'gbdt', priority: 1, reason: 'cancelled' });
    channels.admissionReject.publish({ model: 'other', priority: 1, reason: 'shed' });
    const after = parsePromText(await metrics.registry.metrics());

    const o = observeModel('gbdt', before, after);
    expect(o.batchRows).toEqual({ sum: 10, count: 2, mean: 5 });
    expect(o.batchRequests.mean).toBe(4);
    expect(o.queueDelayUs.mean).toBe(50);
    expect(o.batchDurationUs.mean).toBe(400); // failed and not, together
    expect(o.computeUs.mean).toBe(110);
    expect(o.handoffUs.mean).toBe(60);
    expect(o.rejected).toEqual({ queue_full: 1, cancelled: 2 });
    // prom-client's default metrics are there, with the server's prefix.
    expect(o.eventLoop.p99Us).toBeGreaterThanOrEqual(0);
  });

  it('subtracts the 10 ms sampling resolution from the event-loop gauges', () => {
    const scrape = parsePromText(
      [
        'quiver_nodejs_eventloop_lag_p50_seconds 0.0101',
        'quiver_nodejs_eventloop_lag_p99_seconds 0.0125',
        'quiver_nodejs_eventloop_lag_max_seconds 0.04',
        'quiver_nodejs_eventloop_lag_mean_seconds 0.0099',
      ].join('\n'),
    );
    const loop = observeModel('gbdt', [], scrape).eventLoop;
    expect(EVENT_LOOP_RESOLUTION_US).toBe(10_000);
    expect(loop.p50Us).toBeCloseTo(100, 6);
    expect(loop.p99Us).toBeCloseTo(2500, 6);
    expect(loop.maxUs).toBeCloseTo(30_000, 6);
    expect(loop.meanUs).toBe(0);
    expect(observeModel('gbdt', [], []).eventLoop.p99Us).toBeNaN();
  });
});

describe('combineObservations', () => {
  const obs = (rows: number, batches: number, p99Us: number, maxUs: number): ModelObservation => {
    const d = (sum: number, count: number) => ({ sum, count, mean: count > 0 ? sum / count : NaN });
    return {
      batchRows: d(rows, batches),
      batchRequests: d(rows, batches),
      queueDelayUs: d(0, 0),
      batchDurationUs: d(batches * 100, batches),
      computeUs: d(batches * 50, batches),
      handoffUs: d(batches * 20, batches),
      rejected: { cancelled: 1 },
      eventLoop: { p50Us: 1, p99Us, maxUs, meanUs: 1 },
    };
  };
  it('pools sums over runs (a ratio of totals, not a mean of means) and takes medians of the loop delay', () => {
    const s = combineObservations([obs(100, 10, 300, 900), obs(10, 10, 100, 5000), obs(30, 10, 200, 100)]);
    expect(s.batches).toBe(30);
    expect(s.meanBatchRows).toBeCloseTo(140 / 30, 10);
    expect(s.meanQueueDelayUs).toBeNaN();
    expect(s.meanComputeUs).toBe(50);
    expect(s.rejected).toEqual({ cancelled: 3 });
    expect(s.eventLoop.p99Us).toBe(200);
    expect(s.eventLoop.maxUs).toBe(5000);
  });
});
