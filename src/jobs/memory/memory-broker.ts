/**
 * The in-process broker: the same contract as RabbitMQ (priorities, prefetch, retry with attempt + 1,
 * requeue, dead-letter list), inside one process. NOT durable: queued and in-flight jobs are gone
 * when the process exits, and only consumers in the same process see them. For a laptop and tests;
 * docs/jobs.md says so.
 *
 * @example
 *   const broker = new MemoryBroker();
 *   await broker.publish(envelope, { priority: 1 });
 */
import { RingBuffer } from '../../admission/ring-buffer.ts';
import { quiverError } from '../../errors.ts';
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
import type { JobEnvelope } from '../job.ts';

interface Message {
  readonly job: JobEnvelope;
  readonly priority: number;
  readonly attempt: number;
  redelivered: boolean;
}

interface Consumer {
  readonly handler: DeliveryHandler;
  readonly prefetch: number;
  inFlight: number;
  stopped: boolean;
  idle: (() => void)[];
}

export interface DeadLetter {
  readonly job: JobEnvelope;
  readonly attempt: number;
  readonly reason: string;
}

export class MemoryBroker implements JobBroker {
  readonly kind = 'memory';
  /** Index = AMQP priority (0..MAX): higher drains first, FIFO within one. */
  private readonly levels = Array.from(
    { length: MAX_BROKER_PRIORITY + 1 },
    () => new RingBuffer<Message>(16),
  );
  private readonly consumers: Consumer[] = [];
  private readonly dead: DeadLetter[] = [];
  private queued = 0;
  private next = 0;
  private closed = false;

  /** Messages waiting (not delivered). */
  get depth(): number {
    return this.queued;
  }

  /** Messages settled with `dead`, oldest first (the dead-letter queue). */
  deadLetters(): readonly DeadLetter[] {
    return this.dead;
  }

  publish(job: JobEnvelope, options: PublishOptions): Promise<void> {
    if (this.closed) return Promise.reject(quiverError('QUIVER_ERR_CLOSED', { component: 'job broker' }));
    this.enqueue({ job, priority: brokerPriority(options.priority), attempt: 1, redelivered: false });
    return Promise.resolve();
  }

  consume(handler: DeliveryHandler, options: ConsumeOptions): Promise<Consumption> {
    if (this.closed) return Promise.reject(quiverError('QUIVER_ERR_CLOSED', { component: 'job broker' }));
    const consumer: Consumer = {
      handler,
      prefetch: Math.max(1, options.prefetch),
      inFlight: 0,
      stopped: false,
      idle: [],
    };
    this.consumers.push(consumer);
    queueMicrotask(() => this.dispatch());
    return Promise.resolve({ stop: () => this.stopConsumer(consumer) });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.consumers.map((c) => this.stopConsumer(c)));
  }

  destroy(): Promise<void> {
    this.closed = true;
    for (const c of this.consumers) {
      c.stopped = true;
      for (const resolve of c.idle.splice(0)) resolve();
    }
    return Promise.resolve();
  }

  private stopConsumer(consumer: Consumer): Promise<void> {
    consumer.stopped = true;
    const index = this.consumers.indexOf(consumer);
    if (index !== -1) this.consumers.splice(index, 1);
    if (consumer.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => consumer.idle.push(resolve));
  }

  private enqueue(message: Message): void {
    this.levels[message.priority]!.push(message);
    this.queued++;
    queueMicrotask(() => this.dispatch());
  }

  private take(): Message | undefined {
    for (let p = MAX_BROKER_PRIORITY; p >= 0; p--) {
      const message = this.levels[p]!.shift();
      if (message !== undefined) {
        this.queued--;
        return message;
      }
    }
    return undefined;
  }

  /** Hands waiting messages to consumers with free prefetch slots, round robin. */
  private dispatch(): void {
    while (this.queued > 0) {
      const count = this.consumers.length;
      let consumer: Consumer | undefined;
      for (let i = 0; i < count; i++) {
        const candidate = this.consumers[(this.next + i) % count]!;
        if (!candidate.stopped && candidate.inFlight < candidate.prefetch) {
          consumer = candidate;
          this.next = (this.next + i + 1) % count;
          break;
        }
      }
      if (consumer === undefined) return;
      void this.deliver(consumer, this.take()!);
    }
  }

  private async deliver(consumer: Consumer, message: Message): Promise<void> {
    consumer.inFlight++;
    let settlement: Settlement;
    try {
      settlement = await consumer.handler({
        job: message.job,
        attempt: message.attempt,
        redelivered: message.redelivered,
      });
    } catch {
      settlement = { kind: 'requeue' };
    }
    switch (settlement.kind) {
      case 'ack':
        break;
      case 'retry':
        this.enqueue({ ...message, attempt: message.attempt + 1, redelivered: false });
        break;
      case 'requeue':
        message.redelivered = true;
        this.enqueue(message);
        break;
      case 'dead':
        this.dead.push({ job: message.job, attempt: message.attempt, reason: settlement.reason });
        break;
    }
    consumer.inFlight--;
    if (consumer.inFlight === 0) for (const resolve of consumer.idle.splice(0)) resolve();
    this.dispatch();
  }
}
