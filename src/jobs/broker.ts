/**
 * The job broker port: a durable, prioritised work queue with acknowledgements. `publish` resolves
 * only once the broker has taken responsibility for the message (RabbitMQ: the publisher confirm);
 * a consumer settles each delivery (ack, retry with attempt + 1, requeue, or dead-letter) and the
 * broker redelivers anything unsettled when a consumer goes away. Implementations: rabbitmq/
 * (durable) and memory/ (in-process, not durable). Both run broker.contract.ts.
 *
 * @example
 *   await broker.publish(envelope, { priority: 1 });          // confirmed: safe to answer 202
 *   const consumption = await broker.consume(async (d) => ({ kind: 'ack' }), { prefetch: 16 });
 *   await consumption.stop();                                  // in-flight deliveries settle first
 */
import type { JobEnvelope } from './job.ts';

export interface PublishOptions {
  /** Quiver priority, 1 = highest. */
  readonly priority: number;
}

export interface BrokerDelivery {
  readonly job: JobEnvelope;
  /** 1 on the first publish; each `retry` settlement republishes with attempt + 1. */
  readonly attempt: number;
  /** True when the broker delivered this message before without a settlement (consumer died). */
  readonly redelivered: boolean;
}

/**
 * How a consumer settles a delivery:
 * - ack: done with it (succeeded, or failed for good and recorded so);
 * - retry: publish it again with attempt + 1 (confirmed), then ack this copy;
 * - requeue: give it back unchanged (an infrastructure failure, e.g. the result store is down);
 * - dead: move it to the dead-letter queue.
 */
export type Settlement =
  | { readonly kind: 'ack' }
  | { readonly kind: 'retry' }
  | { readonly kind: 'requeue' }
  | { readonly kind: 'dead'; readonly reason: string };

export type DeliveryHandler = (delivery: BrokerDelivery) => Promise<Settlement>;

export interface ConsumeOptions {
  /** Deliveries in flight (unsettled) at once for this consumer. */
  readonly prefetch: number;
}

export interface Consumption {
  /** Stops receiving; resolves when every delivery in flight has been settled. */
  stop(): Promise<void>;
}

export interface JobBroker {
  readonly kind: string;
  /** Resolves once the broker confirmed the message; rejects (QUIVER_ERR_BROKER_UNAVAILABLE) otherwise. */
  publish(job: JobEnvelope, options: PublishOptions): Promise<void>;
  /** A handler that throws is treated as `requeue`. */
  consume(handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumption>;
  /** Stops consumers (waiting for in-flight settlements), waits for pending publishes, disconnects. */
  close(): Promise<void>;
  /** Disconnects at once; unsettled deliveries go back to the queue (durable brokers). */
  destroy(): Promise<void>;
}

/** Highest AMQP priority used (the queue's x-max-priority). RabbitMQ advises at most 10. */
export const MAX_BROKER_PRIORITY = 10;

/** Quiver priority (1 = highest) → AMQP priority (higher = sooner): 1 → 10, 2 → 9, …, ≥ 11 → 0. */
export function brokerPriority(priority: number): number {
  return Math.max(0, Math.min(MAX_BROKER_PRIORITY, MAX_BROKER_PRIORITY + 1 - Math.trunc(priority)));
}
