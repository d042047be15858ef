/**
 * The JobBroker contract, run against every implementation (memory-broker.test.ts,
 * rabbitmq-broker.test.ts). Each case gets a fresh broker on its own queue and cleans up after.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { BrokerDelivery, JobBroker, Settlement } from './broker.ts';
import type { JobEnvelope } from './job.ts';

export interface BrokerUnderTest {
  readonly broker: JobBroker;
  /** Jobs in the dead-letter queue (removing them). */
  deadLetters(): Promise<JobEnvelope[]>;
  /** A second broker on the same queue (a new process after a crash); undefined if not durable. */
  reopen?(): Promise<JobBroker>;
  cleanup(): Promise<void>;
}

/** Polls `condition` every 10 ms until it holds; fails after timeoutMs. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function job(label: string, priority = 2): JobEnvelope {
  return {
    id: randomUUID(),
    model: 'm',
    kind: 'predict',
    body: { label },
    priority,
    createdAtMs: Date.now(),
  };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

export function runBrokerContract(name: string, create: () => Promise<BrokerUnderTest>): void {
  describe(`JobBroker contract: ${name}`, () => {
    const opened: BrokerUnderTest[] = [];
    const open = async (): Promise<BrokerUnderTest> => {
      const b = await create();
      opened.push(b);
      return b;
    };
    afterEach(async () => {
      for (const b of opened.splice(0)) await b.cleanup();
    });

    it('delivers a published job as it was sent, attempt 1, and an ack settles it', async () => {
      const { broker } = await open();
      const deliveries: BrokerDelivery[] = [];
      const first = job('first');
      await broker.publish(first, { priority: 1 });
      await broker.consume(
        async (d) => {
          deliveries.push(d);
          return { kind: 'ack' };
        },
        { prefetch: 4 },
      );
      await waitFor(() => deliveries.length === 1, 5000, 'the delivery');
      expect(deliveries[0]).toEqual({ job: first, attempt: 1, redelivered: false });
      // A later job arrives alone: the acked one is not delivered again.
      const marker = job('marker');
      await broker.publish(marker, { priority: 1 });
      await waitFor(() => deliveries.length === 2, 5000, 'the marker');
      expect(deliveries.map((d) => d.job.id)).toEqual([first.id, marker.id]);
    });

    it('delivers waiting jobs highest priority first (1 = highest), FIFO within a priority', async () => {
      const { broker } = await open();
      const low = job('low', 3);
      const high1 = job('high1', 1);
      const mid = job('mid', 2);
      const high2 = job('high2', 1);
      for (const j of [low, high1, mid, high2]) await broker.publish(j, { priority: j.priority });
      const order: string[] = [];
      await broker.consume(
        async (d) => {
          order.push(String(d.job.body.label));
          return { kind: 'ack' };
        },
        { prefetch: 1 },
      );
      await waitFor(() => order.length === 4, 5000, 'four deliveries');
      expect(order).toEqual(['high1', 'high2', 'mid', 'low']);
    });

    it('never has more than `prefetch` deliveries unsettled at once', async () => {
      const { broker } = await open();
      for (let i = 0; i < 8; i++) await broker.publish(job(`j${i}`), { priority: 2 });
      let inFlight = 0;
      let maxInFlight = 0;
      let done = 0;
      const gates: (() => void)[] = [];
      await broker.consume(
        async () => {
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          const g = gate();
          gates.push(g.open);
          await g.promise;
          inFlight--;
          done++;
          return { kind: 'ack' };
        },
        { prefetch: 3 },
      );
      while (done < 8) {
        await waitFor(() => gates.length > 0, 5000, 'a delivery');
        expect(inFlight).toBeLessThanOrEqual(3);
        gates.shift()!();
        await waitFor(() => inFlight < 3 || gates.length > 0, 5000, 'progress');
      }
      expect(maxInFlight).toBe(3);
    });

    it('retry publishes the job again with attempt + 1', async () => {
      const { broker } = await open();
      const attempts: number[] = [];
      const j = job('retried');
      await broker.publish(j, { priority: 2 });
      await broker.consume(
        async (d): Promise<Settlement> => {
          attempts.push(d.attempt);
          expect(d.job).toEqual(j);
          return d.attempt < 3 ? { kind: 'retry' } : { kind: 'ack' };
        },
        { prefetch: 1 },
      );
      await waitFor(() => attempts.length === 3, 5000, 'three attempts');
      expect(attempts).toEqual([1, 2, 3]);
    });

    it('a handler that throws has its job redelivered unchanged (same attempt, redelivered)', async () => {
      const { broker } = await open();
      const seen: BrokerDelivery[] = [];
      const j = job('thrown');
      await broker.publish(j, { priority: 2 });
      await broker.consume(
        async (d) => {
          seen.push(d);
          if (seen.length === 1) throw new Error('boom');
          return { kind: 'ack' };
        },
        { prefetch: 1 },
      );
      await waitFor(() => seen.length === 2, 5000, 'the redelivery');
      expect(seen[1]).toEqual({ job: j, attempt: 1, redelivered: true });
    });

    it('dead moves the job to the dead-letter queue, and it is not delivered again', async () => {
      const b = await open();
      const seen: string[] = [];
      const poison = job('poison');
      const after = job('after');
      await b.broker.publish(poison, { priority: 1 });
      await b.broker.consume(
        async (d): Promise<Settlement> => {
          seen.push(d.job.id);
          return d.job.id === poison.id ? { kind: 'dead', reason: 'poison' } : { kind: 'ack' };
        },
        { prefetch: 1 },
      );
      await waitFor(() => seen.length === 1, 5000, 'the poison delivery');
      await b.broker.publish(after, { priority: 1 });
      await waitFor(() => seen.length === 2, 5000, 'the next job');
      expect(seen).toEqual([poison.id, after.id]);
      let dead: JobEnvelope[] = [];
      await waitFor(
        async () => (dead = [...dead, ...(await b.deadLetters())]).length > 0,
        5000,
        'the dead letter',
      );
      expect(dead).toEqual([poison]);
    });

    it('stop() waits for deliveries in flight and settles them; nothing more is delivered after', async () => {
      const { broker } = await open();
      const started: string[] = [];
      const g = gate();
      const j = job('in-flight');
      await broker.publish(j, { priority: 2 });
      const consumption = await broker.consume(
        async (d) => {
          started.push(d.job.id);
          await g.promise;
          return { kind: 'ack' };
        },
        { prefetch: 1 },
      );
      await waitFor(() => started.length === 1, 5000, 'the delivery');
      let stopped = false;
      const stopping = consumption.stop().then(() => (stopped = true));
      for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
      expect(stopped).toBe(false);
      g.open();
      await stopping;
      // Acked on stop: a new consumer gets only what is published afterwards.
      const later: string[] = [];
      const marker = job('marker');
      await broker.publish(marker, { priority: 2 });
      await broker.consume(
        async (d) => {
          later.push(d.job.id);
          return { kind: 'ack' };
        },
        { prefetch: 1 },
      );
      await waitFor(() => later.length === 1, 5000, 'the marker');
      expect(later).toEqual([marker.id]);
    });

    it('publish after close() is refused with a typed error', async () => {
      const { broker } = await open();
      await broker.close();
      await expect(broker.publish(job('late'), { priority: 1 })).rejects.toMatchObject({
        code: 'QUIVER_ERR_CLOSED',
      });
    });

    it('a job left unsettled by a broker that went away is delivered to the next one', async (context) => {
      const b = await open();
      if (b.reopen === undefined) {
        context.skip(); // Not durable (the in-process broker): its jobs die with the process.
        return;
      }
      const j = job('orphan');
      await b.broker.publish(j, { priority: 2 });
      const started: string[] = [];
      await b.broker.consume(
        async (d) => {
          started.push(d.job.id);
          return new Promise<Settlement>(() => undefined); // never settles: the process "dies" mid-job
        },
        { prefetch: 1 },
      );
      await waitFor(() => started.length === 1, 5000, 'the first delivery');
      await b.broker.destroy();
      const next = await b.reopen();
      const redelivered: BrokerDelivery[] = [];
      await next.consume(
        async (d) => {
          redelivered.push(d);
          return { kind: 'ack' };
        },
        { prefetch: 1 },
      );
      await waitFor(() => redelivered.length === 1, 10_000, 'the redelivery');
      expect(redelivered[0]).toEqual({ job: j, attempt: 1, redelivered: true });
      await next.close();
    });
  });
}
