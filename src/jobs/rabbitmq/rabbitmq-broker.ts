/**
 * The durable broker on RabbitMQ. Topology (declared on every connect, idempotent):
 * - `<queue>`: durable, `x-max-priority` 10, dead-letters to exchange `<queue>.dlx`;
 * - `<queue>.dlx` (direct) → `<queue>.dead`: durable, where poison jobs end up.
 * Messages are persistent, published `mandatory` on a confirm channel: `publish()` resolves only on
 * the broker's ack (for a persistent message on a durable queue, RabbitMQ acks once it is on disk),
 * and rejects on nack, on return (unroutable), on a closed channel or after publishTimeoutMs. While
 * disconnected it fails at once; after repeated failures a circuit breaker fails calls fast. Either
 * way: QUIVER_ERR_BROKER_UNAVAILABLE (503 + Retry-After), never a silent acceptance.
 *
 * Publishing and consuming use separate connections (RabbitMQ's flow control blocks publishers; it
 * must not stall acks). The attempt number travels in the `x-quiver-attempt` header; a `retry`
 * settlement republishes with attempt + 1 (confirmed) before acking the original, so a crash in
 * between duplicates a job rather than losing it (the consumer skips a job already done).
 */
import type { ChannelModel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { quiverError, type QuiverError } from '../../errors.ts';
import type { Logger } from '../../metrics/logger.ts';
import {
  MAX_BROKER_PRIORITY,
  brokerPriority,
  type ConsumeOptions,
  type Consumption,
  type DeliveryHandler,
  type JobBroker,
  type PublishOptions,
  type Settlement,
} from '../broker.ts';
import { CircuitBreaker, type Permit } from '../../resilience/circuit-breaker.ts';
import { decodeEnvelope, encodeEnvelope, type JobEnvelope } from '../job.ts';
import { AmqpLink } from './amqp-link.ts';
import { withTimeout } from '../../timeout.ts';

export const ATTEMPT_HEADER = 'x-quiver-attempt';

export interface RabbitMqBrokerOptions {
  readonly url: string;
  /** Work queue name; `<queue>.dead` and `<queue>.dlx` are derived from it. */
  readonly queue: string;
  /** Default 3000. */
  readonly connectTimeoutMs?: number;
  /** How long publish() waits for the confirm. Default 5000. */
  readonly publishTimeoutMs?: number;
  /** Bound on every other call (cancel, close). Default 5000. */
  readonly operationTimeoutMs?: number;
  /** Default 5. */
  readonly heartbeatS?: number;
  /** Reconnect backoff bounds. Defaults 100 and 5000. */
  readonly reconnectMinMs?: number;
  readonly reconnectMaxMs?: number;
  /** Consecutive publish failures that open the breaker (default 5), and how long it stays open (default 2000). */
  readonly breakerFailureThreshold?: number;
  readonly breakerOpenMs?: number;
  readonly logger?: Logger;
}

/** Names derived from the work queue. */
export function topologyNames(queue: string): { queue: string; dlx: string; dead: string } {
  return { queue, dlx: `${queue}.dlx`, dead: `${queue}.dead` };
}

/** Declares the work queue, the dead-letter exchange and queue. Idempotent. */
export async function declareTopology(channel: ConfirmChannel, queue: string): Promise<void> {
  const names = topologyNames(queue);
  await channel.assertExchange(names.dlx, 'direct', { durable: true });
  await channel.assertQueue(names.dead, { durable: true });
  await channel.bindQueue(names.dead, names.dlx, names.dead);
  await channel.assertQueue(names.queue, {
    durable: true,
    arguments: {
      'x-max-priority': MAX_BROKER_PRIORITY,
      'x-dead-letter-exchange': names.dlx,
      'x-dead-letter-routing-key': names.dead,
    },
  });
}

interface PublisherSession {
  readonly channel: ConfirmChannel;
  /** messageIds the broker returned as unroutable (basic.return precedes the confirm). */
  readonly returned: Set<string>;
}

interface ConsumerSession {
  readonly channel: ConfirmChannel;
  readonly consumerTag: string;
}

interface ActiveConsumer {
  readonly handler: DeliveryHandler;
  readonly prefetch: number;
  readonly link: AmqpLink<ConsumerSession>;
  readonly inFlight: Set<Promise<void>>;
  stopping: Promise<void> | undefined;
}

export class RabbitMqBroker implements JobBroker {
  readonly kind = 'rabbitmq';
  readonly #options: Required<Omit<RabbitMqBrokerOptions, 'logger'>> & { logger?: Logger };
  readonly #publisher: AmqpLink<PublisherSession>;
  readonly #breaker: CircuitBreaker;
  readonly #pending = new Set<Promise<unknown>>();
  readonly #consumers = new Set<ActiveConsumer>();
  #closed = false;

  private constructor(options: RabbitMqBrokerOptions) {
    this.#options = {
      connectTimeoutMs: 3000,
      publishTimeoutMs: 5000,
      operationTimeoutMs: 5000,
      heartbeatS: 5,
      reconnectMinMs: 100,
      reconnectMaxMs: 5000,
      breakerFailureThreshold: 5,
      breakerOpenMs: 2000,
      ...options,
    };
    this.#breaker = new CircuitBreaker({
      consecutiveFailures: this.#options.breakerFailureThreshold,
      // Consecutive failures only: a failure-rate window needs no tuning for a broker that either
      // confirms or does not.
      failureRate: 1,
      windowMs: this.#options.breakerOpenMs,
      minimumCalls: Number.MAX_SAFE_INTEGER,
      openMs: this.#options.breakerOpenMs,
      openError: (retryAfterS) =>
        this.#unavailable('recent publishes failed; failing fast (circuit open)', retryAfterS * 1000),
    });
    this.#publisher = this.#link('quiver-publisher', async (connection) => {
      const channel = await connection.createConfirmChannel();
      const returned = new Set<string>();
      watchChannel(channel, this.#publisher, () => this.#closed);
      channel.on('return', (message: ConsumeMessage) => {
        const id: unknown = message.properties.messageId;
        if (typeof id === 'string') returned.add(id);
        // Unroutable: the queue is gone (deleted behind our back). Reconnect, which declares it again.
        this.#publisher.reset('the work queue is missing (message returned)');
      });
      await declareTopology(channel, this.#options.queue);
      return { channel, returned };
    });
  }

  /**
   * Connects the publisher (first attempt only: if RabbitMQ is down the broker is still returned,
   * publishes fail with 503 and it keeps reconnecting in the background).
   */
  static async create(options: RabbitMqBrokerOptions): Promise<RabbitMqBroker> {
    const broker = new RabbitMqBroker(options);
    await broker.#publisher.start();
    return broker;
  }

  /** True while the publishing connection is up. */
  get connected(): boolean {
    return this.#publisher.session !== undefined;
  }

  /** Resolves once publishing is possible, or after timeoutMs. */
  async whenConnected(timeoutMs: number): Promise<boolean> {
    await this.#publisher.whenConnected(timeoutMs);
    return this.connected;
  }

  /** Resolves once every consumer is subscribed, or after timeoutMs. */
  async whenConsuming(timeoutMs: number): Promise<boolean> {
    await Promise.all([...this.#consumers].map((c) => c.link.whenConnected(timeoutMs)));
    return [...this.#consumers].every((c) => c.link.session !== undefined);
  }

  publish(job: JobEnvelope, options: PublishOptions): Promise<void> {
    if (this.#closed) return Promise.reject(quiverError('QUIVER_ERR_CLOSED', { component: 'job broker' }));
    const session = this.#publisher.session;
    if (session === undefined) {
      return Promise.reject(
        this.#unavailable(`not connected (${this.#publisher.lastError ?? 'connecting'})`),
      );
    }
    let permit: Permit;
    try {
      permit = this.#breaker.acquire();
    } catch (err) {
      return Promise.reject(err);
    }
    const pending = this.#confirmPublish(session, job, brokerPriority(options.priority), 1).then(
      () => this.#breaker.succeeded(permit),
      (err: unknown) => {
        this.#breaker.failed(permit);
        throw this.#unavailable(err instanceof Error ? err.message : String(err));
      },
    );
    this.#track(pending);
    return pending;
  }

  async consume(handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumption> {
    if (this.#closed) throw quiverError('QUIVER_ERR_CLOSED', { component: 'job broker' });
    const consumer: ActiveConsumer = {
      handler,
      prefetch: Math.max(1, options.prefetch),
      inFlight: new Set(),
      stopping: undefined,
      link: this.#link('quiver-consumer', async (connection) => {
        // Stopping: a reconnect must not subscribe again (the link is closed once in-flight settle).
        if (consumer.stopping !== undefined) throw new Error('consumer is stopping');
        const channel = await connection.createConfirmChannel();
        watchChannel(channel, consumer.link, () => consumer.stopping !== undefined);
        await declareTopology(channel, this.#options.queue);
        await channel.prefetch(consumer.prefetch);
        const { consumerTag } = await channel.consume(this.#options.queue, (message) => {
          // null: the broker cancelled the consumer (queue deleted): reconnect to declare it again.
          if (message === null) consumer.link.reset('consumer cancelled by the broker');
          else this.#deliver(consumer, channel, message);
        });
        return { channel, consumerTag };
      }),
    };
    this.#consumers.add(consumer);
    await consumer.link.start();
    return { stop: () => this.#stopConsumer(consumer) };
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#consumers].map((c) => this.#stopConsumer(c)));
    await Promise.allSettled([...this.#pending]);
    await this.#publisher.close(this.#options.operationTimeoutMs);
  }

  destroy(): Promise<void> {
    this.#closed = true;
    for (const c of this.#consumers) c.link.destroy();
    this.#consumers.clear();
    this.#publisher.destroy();
    return Promise.resolve();
  }

  #link<S>(name: string, setup: (connection: ChannelModel) => Promise<S>): AmqpLink<S> {
    const o = this.#options;
    return new AmqpLink<S>({
      url: o.url,
      name,
      connectTimeoutMs: o.connectTimeoutMs,
      heartbeatS: o.heartbeatS,
      reconnectMinMs: o.reconnectMinMs,
      reconnectMaxMs: o.reconnectMaxMs,
      setup,
      logger: o.logger,
    });
  }

  #unavailable(reason: string, retryInMs = 1000): QuiverError {
    return quiverError(
      'QUIVER_ERR_BROKER_UNAVAILABLE',
      { reason },
      { retryAfterS: Math.max(1, Math.ceil(retryInMs / 1000)) },
    );
  }

  #track(promise: Promise<unknown>): void {
    const settled = promise.catch(() => undefined);
    this.#pending.add(settled);
    void settled.then(() => this.#pending.delete(settled));
  }

  /** Publishes on a confirm channel and waits for the broker's ack; any other outcome rejects. */
  #confirmPublish(
    session: { readonly channel: ConfirmChannel; readonly returned?: Set<string> },
    job: JobEnvelope,
    priority: number,
    attempt: number,
  ): Promise<void> {
    const options: Options.Publish = {
      persistent: true,
      mandatory: true,
      priority,
      messageId: job.id,
      contentType: 'application/json',
      timestamp: Math.floor(job.createdAtMs / 1000),
      headers: { [ATTEMPT_HEADER]: attempt },
    };
    const confirmed = new Promise<void>((resolve, reject) => {
      try {
        session.channel.publish('', this.#options.queue, encodeEnvelope(job), options, (err) => {
          const returned = session.returned?.delete(job.id) ?? false;
          if (err) reject(new Error(`the broker did not confirm the message: ${messageOf(err)}`));
          else if (returned)
            reject(new Error(`queue "${this.#options.queue}" does not exist (message returned)`));
          else resolve();
        });
      } catch (err) {
        reject(new Error(`publish failed: ${messageOf(err)}`));
      }
    });
    return withTimeout(confirmed, this.#options.publishTimeoutMs, 'the publisher confirm');
  }

  #deliver(consumer: ActiveConsumer, channel: ConfirmChannel, message: ConsumeMessage): void {
    let job: JobEnvelope;
    try {
      job = decodeEnvelope(message.content);
    } catch {
      // Not a job at all: straight to the dead-letter queue.
      settleQuietly(() => channel.nack(message, false, false));
      return;
    }
    const header: unknown = message.properties.headers?.[ATTEMPT_HEADER];
    const attempt = typeof header === 'number' && header >= 1 ? header : 1;
    const run = consumer
      .handler({ job, attempt, redelivered: message.fields.redelivered })
      .catch((): Settlement => ({ kind: 'requeue' }))
      .then((settlement) => this.#settle(channel, message, job, attempt, settlement));
    consumer.inFlight.add(run);
    void run.finally(() => consumer.inFlight.delete(run));
  }

  async #settle(
    channel: ConfirmChannel,
    message: ConsumeMessage,
    job: JobEnvelope,
    attempt: number,
    settlement: Settlement,
  ): Promise<void> {
    // A closed channel cannot settle: the broker redelivers the message to a live consumer.
    switch (settlement.kind) {
      case 'ack':
        return settleQuietly(() => channel.ack(message));
      case 'requeue':
        return settleQuietly(() => channel.nack(message, false, true));
      case 'dead':
        return settleQuietly(() => channel.nack(message, false, false));
      case 'retry': {
        const priority = typeof message.properties.priority === 'number' ? message.properties.priority : 0;
        try {
          await this.#confirmPublish({ channel }, job, priority, attempt + 1);
        } catch {
          return settleQuietly(() => channel.nack(message, false, true));
        }
        return settleQuietly(() => channel.ack(message));
      }
    }
  }

  #stopConsumer(consumer: ActiveConsumer): Promise<void> {
    consumer.stopping ??= (async () => {
      const session = consumer.link.session;
      if (session !== undefined) {
        try {
          await withTimeout(
            session.channel.cancel(session.consumerTag),
            this.#options.operationTimeoutMs,
            'cancelling the consumer',
          );
        } catch {
          // The connection is gone: nothing more will be delivered on it anyway.
        }
      }
      // Deliveries already handed over finish and settle on the channel they came on.
      while (consumer.inFlight.size > 0) await Promise.allSettled([...consumer.inFlight]);
      // Close the channel before the connection: the broker handles a channel's frames in order, so
      // the acks above are processed first (a bare connection close may overtake them).
      const live = consumer.link.session;
      if (live !== undefined) {
        await withTimeout(
          live.channel.close(),
          this.#options.operationTimeoutMs,
          'closing the channel',
        ).catch(() => undefined);
      }
      await consumer.link.close(this.#options.operationTimeoutMs);
      this.#consumers.delete(consumer);
    })();
    return consumer.stopping;
  }
}

/**
 * A channel the broker closed (a channel error, e.g. a failed declare or a deleted queue) cannot be
 * used again: drop the connection and rebuild everything, unless we are closing it ourselves.
 */
function watchChannel(channel: ConfirmChannel, link: AmqpLink<unknown>, closing: () => boolean): void {
  channel.on('error', () => undefined);
  channel.on('close', () => {
    if (!closing()) link.reset('channel closed');
  });
}

function settleQuietly(settle: () => void): void {
  try {
    settle();
  } catch {
    // Channel already closed: the message is redelivered.
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
