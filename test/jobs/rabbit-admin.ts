/** Test helpers on the shared RabbitMQ: unique queue names, inspection and clean-up of a test's topology. */
import amqp from 'amqplib';
import { Redis } from 'ioredis';
import { decodeEnvelope, type JobEnvelope } from '../../src/jobs/job.ts';
import { topologyNames } from '../../src/jobs/rabbitmq/rabbitmq-broker.ts';
import { RABBITMQ_URL, REDIS_URL } from '../support/services.ts';

/** A short-lived admin connection for inspecting and deleting a test's queues. */
export async function withAdmin<T>(use: (channel: amqp.Channel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(RABBITMQ_URL);
  try {
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    return await use(channel);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

export async function deleteTopology(queue: string): Promise<void> {
  const names = topologyNames(queue);
  await withAdmin(async (ch) => {
    await ch.deleteQueue(names.queue);
    await ch.deleteQueue(names.dead);
    await ch.deleteExchange(names.dlx);
  });
}

export async function drainDeadLetters(queue: string): Promise<JobEnvelope[]> {
  return withAdmin(async (ch) => {
    const out: JobEnvelope[] = [];
    for (;;) {
      const message = await ch.get(topologyNames(queue).dead, { noAck: true });
      if (message === false) return out;
      out.push(decodeEnvelope(message.content));
    }
  });
}

export function testQueue(label: string): string {
  return `quiver.test.${label}.${process.pid}.${Math.random().toString(36).slice(2, 10)}`;
}

/** Deletes a test's Redis keys (job records) by pattern. */
export async function deleteKeys(pattern: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length > 0) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
