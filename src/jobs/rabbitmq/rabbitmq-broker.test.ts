/**
 * The broker contract against the real RabbitMQ (127.0.0.1:5672), one fresh queue per case (deleted
 * after), plus what only RabbitMQ has: the declared topology, persistent messages, publish failing
 * fast with 503 while disconnected, and the circuit breaker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteTopology, drainDeadLetters, testQueue, withAdmin } from '../../../test/jobs/rabbit-admin.ts';
import { TcpProxy } from '../../../test/jobs/tcp-proxy.ts';
import { RABBITMQ, RABBITMQ_URL, serviceAvailable } from '../../../test/support/services.ts';
import { job, runBrokerContract, waitFor } from '../broker.contract.ts';
import { decodeEnvelope } from '../job.ts';
import { RabbitMqBroker } from './rabbitmq-broker.ts';

const up = await serviceAvailable(RABBITMQ);

describe.skipIf(!up)('RabbitMqBroker', () => {
  runBrokerContract('rabbitmq', async () => {
    const queue = testQueue('contract');
    const options = { url: RABBITMQ_URL, queue, reconnectMinMs: 50 };
    const broker = await RabbitMqBroker.create(options);
    const extra: RabbitMqBroker[] = [];
    return {
      broker,
      deadLetters: () => drainDeadLetters(queue),
      async reopen() {
        const next = await RabbitMqBroker.create(options);
        extra.push(next);
        return next;
      },
      async cleanup() {
        await broker.destroy();
        for (const b of extra) await b.destroy();
        await deleteTopology(queue);
      },
    };
  });

  describe('RabbitMQ specifics', () => {
    const queue = testQueue('specifics');
    let broker: RabbitMqBroker;

    beforeAll(async () => {
      broker = await RabbitMqBroker.create({ url: RABBITMQ_URL, queue });
    });
    afterAll(async () => {
      await broker.destroy();
      await deleteTopology(queue);
    });

    it('declares a durable priority queue with a dead-letter exchange, and publishes persistent messages', async () => {
      const j = job('persisted', 1);
      await broker.publish(j, { priority: 1 });
      await withAdmin(async (ch) => {
        // Declaring with the same arguments succeeds; different arguments would close the channel.
        const ok = await ch.assertQueue(queue, {
          durable: true,
          arguments: {
            'x-max-priority': 10,
            'x-dead-letter-exchange': `${queue}.dlx`,
            'x-dead-letter-routing-key': `${queue}.dead`,
          },
        });
        expect(ok.messageCount).toBe(1);
        const message = await ch.get(queue, { noAck: true });
        expect(message).not.toBe(false);
        if (message === false) return;
        expect(message.properties.deliveryMode).toBe(2); // persistent
        expect(message.properties.priority).toBe(10); // Quiver priority 1 → AMQP 10
        expect(message.properties.messageId).toBe(j.id);
        expect(message.properties.headers?.['x-quiver-attempt']).toBe(1);
        expect(decodeEnvelope(message.content)).toEqual(j);
      });
    });
  });

  it('publish fails fast with QUIVER_ERR_BROKER_UNAVAILABLE (retry-after) while it cannot connect', async () => {
    // Nothing listens on port 1: every connection attempt is refused.
    const broker = await RabbitMqBroker.create({ url: 'amqp://guest:guest@127.0.0.1:1', queue: 'never' });
    try {
      expect(broker.connected).toBe(false);
      const started = performance.now();
      const err = await broker.publish(job('x'), { priority: 1 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(performance.now() - started).toBeLessThan(100);
      expect(err).toMatchObject({ code: 'QUIVER_ERR_BROKER_UNAVAILABLE', retryAfterS: 1 });
    } finally {
      await broker.destroy();
    }
  });

  it('a publish to a queue deleted behind its back is refused (returned unroutable), never confirmed as accepted', async () => {
    const q = testQueue('deleted');
    const broker = await RabbitMqBroker.create({ url: RABBITMQ_URL, queue: q });
    try {
      await broker.publish(job('before'), { priority: 1 });
      await withAdmin((ch) => ch.deleteQueue(q));
      await expect(broker.publish(job('after'), { priority: 1 })).rejects.toMatchObject({
        code: 'QUIVER_ERR_BROKER_UNAVAILABLE',
      });
    } finally {
      await broker.destroy();
      await deleteTopology(q);
    }
  });

  it('a broker that stops answering: publishes time out, then the circuit opens and calls fail at once', async () => {
    const q = testQueue('breaker');
    const proxy = await TcpProxy.start(RABBITMQ.port);
    const broker = await RabbitMqBroker.create({
      url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      queue: q,
      publishTimeoutMs: 200,
      breakerFailureThreshold: 2,
      breakerOpenMs: 60_000,
      heartbeatS: 60, // keep the frozen connection "up": this is the hung-broker case, not a dead socket
    });
    try {
      await broker.publish(job('ok'), { priority: 1 });
      proxy.freeze(true);
      for (let i = 0; i < 2; i++) {
        const started = performance.now();
        await expect(broker.publish(job(`f${i}`), { priority: 1 })).rejects.toMatchObject({
          code: 'QUIVER_ERR_BROKER_UNAVAILABLE',
        });
        expect(performance.now() - started).toBeGreaterThanOrEqual(190);
      }
      const started = performance.now();
      const err = await broker.publish(job('fast'), { priority: 1 }).catch((e: unknown) => e);
      expect(performance.now() - started).toBeLessThan(50);
      expect(err).toMatchObject({ code: 'QUIVER_ERR_BROKER_UNAVAILABLE' });
      expect((err as Error).message).toContain('circuit open');
      expect((err as { retryAfterS: number }).retryAfterS).toBeGreaterThan(1);
    } finally {
      await broker.destroy();
      await proxy.close();
      await deleteTopology(q);
    }
  });

  it('declares the queue again when it was deleted behind its back', async () => {
    const q = testQueue('redeclare');
    const broker = await RabbitMqBroker.create({ url: RABBITMQ_URL, queue: q, reconnectMinMs: 20 });
    try {
      await withAdmin((ch) => ch.deleteQueue(q));
      await expect(broker.publish(job('lost'), { priority: 1 })).rejects.toMatchObject({
        code: 'QUIVER_ERR_BROKER_UNAVAILABLE',
      });
      await waitFor(
        async () =>
          broker.publish(job('again'), { priority: 1 }).then(
            () => true,
            () => false,
          ),
        10_000,
        'a confirmed publish after the queue was declared again',
      );
      const count = await withAdmin(async (ch) => (await ch.checkQueue(q)).messageCount);
      expect(count).toBe(1);
    } finally {
      await broker.destroy();
      await deleteTopology(q);
    }
  });

  it('reconnects after its connections were cut, publishing and consuming again', async () => {
    const q = testQueue('reconnect');
    const proxy = await TcpProxy.start(RABBITMQ.port);
    const broker = await RabbitMqBroker.create({
      url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
      queue: q,
      reconnectMinMs: 20,
    });
    try {
      const got: string[] = [];
      await broker.consume(
        async (d) => {
          got.push(d.job.id);
          return { kind: 'ack' };
        },
        { prefetch: 4 },
      );
      const before = job('before');
      await broker.publish(before, { priority: 1 });
      await waitFor(() => got.length === 1, 5000, 'the first job');
      proxy.cut();
      const err = await broker.publish(job('during'), { priority: 1 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'QUIVER_ERR_BROKER_UNAVAILABLE' });
      await waitFor(() => broker.connected, 10_000, 'the publisher to reconnect');
      expect(await broker.whenConsuming(10_000)).toBe(true);
      const after = job('after');
      await broker.publish(after, { priority: 1 });
      await waitFor(() => got.includes(after.id), 10_000, 'the job published after the reconnect');
      // At-least-once: if the cut landed while the first ack was in flight, RabbitMQ redelivers
      // `before` (the job service dedupes by id). Nothing else may appear, and `after` exactly once.
      expect(got[0]).toBe(before.id);
      expect(got.filter((id) => id !== before.id)).toEqual([after.id]);
    } finally {
      await broker.destroy();
      await proxy.close();
      await deleteTopology(q);
    }
  });
});
