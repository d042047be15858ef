/**
 * One AMQP connection that keeps itself up: connects (bounded by connectTimeoutMs), runs `setup` on
 * the new connection (channels, topology, consumers), and when the connection or one of its channels
 * goes away, reconnects with exponential backoff and jitter, running `setup` again. While it is down,
 * `session` is undefined, so callers fail fast instead of queueing work behind a dead socket.
 */
import amqp, { type ChannelModel } from 'amqplib';
import type { Logger } from '../../metrics/logger.ts';
import { withTimeout } from '../../timeout.ts';

export interface AmqpLinkOptions<S> {
  /** amqp://user:pass@host:port/vhost */
  readonly url: string;
  /** Shown in RabbitMQ's connection list and in logs, e.g. "quiver-publisher". */
  readonly name: string;
  readonly connectTimeoutMs: number;
  readonly heartbeatS: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  /** Builds the session on a fresh connection; a failure closes the connection and retries. */
  readonly setup: (connection: ChannelModel) => Promise<S>;
  readonly logger?: Logger;
}

export class AmqpLink<S> {
  #connection: ChannelModel | undefined;
  #session: S | undefined;
  #closed = false;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #attempt: Promise<void> | undefined;
  #lastError: string | undefined;
  #waiters: (() => void)[] = [];

  constructor(private readonly options: AmqpLinkOptions<S>) {}

  /** The live session, or undefined while disconnected. */
  get session(): S | undefined {
    return this.#session;
  }

  /** Why the last connection attempt or connection failed. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  /** Makes the first connection attempt; on failure keeps retrying in the background. */
  start(): Promise<void> {
    return this.#connect();
  }

  /** Resolves once connected, or after timeoutMs (check `session`). */
  whenConnected(timeoutMs: number): Promise<void> {
    if (this.#session !== undefined || this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#waiters.push(done);
    });
  }

  /** Drops the current connection (it reconnects): used when a channel failed in a way setup can fix. */
  reset(reason: string): void {
    const connection = this.#connection;
    if (connection === undefined) return;
    this.#down(connection, reason);
    void closeQuietly(connection, 1000);
  }

  /** Stops reconnecting and closes the connection (gracefully, bounded by timeoutMs). */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#attempt?.catch(() => undefined);
    const connection = this.#connection;
    this.#connection = undefined;
    this.#session = undefined;
    this.#wake();
    if (connection !== undefined) await closeQuietly(connection, timeoutMs);
  }

  /** Stops reconnecting and drops the socket at once. */
  destroy(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    const connection = this.#connection;
    this.#connection = undefined;
    this.#session = undefined;
    this.#wake();
    if (connection !== undefined) destroySocket(connection);
  }

  #connect(): Promise<void> {
    this.#attempt = this.#tryConnect().finally(() => (this.#attempt = undefined));
    return this.#attempt;
  }

  async #tryConnect(): Promise<void> {
    const { options } = this;
    let connection: ChannelModel | undefined;
    try {
      const url = new URL(options.url);
      if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(options.heartbeatS));
      connection = await withTimeout(
        amqp.connect(url.toString(), {
          timeout: options.connectTimeoutMs,
          clientProperties: { connection_name: options.name },
        }),
        options.connectTimeoutMs,
        'connecting to RabbitMQ',
      );
      const live = connection;
      // Without an 'error' listener a broker-side close would crash the process.
      live.on('error', (err: Error) => (this.#lastError = err.message));
      live.on('close', () => this.#down(live, 'connection closed'));
      if (this.#closed) throw new Error('closed while connecting');
      const session = await withTimeout(options.setup(live), options.connectTimeoutMs, 'setting up channels');
      if (this.#closed) throw new Error('closed while connecting');
      this.#connection = live;
      this.#session = session;
      this.#failures = 0;
      this.#lastError = undefined;
      options.logger?.info({ link: options.name }, 'RabbitMQ connected');
      this.#wake();
    } catch (err) {
      this.#lastError = err instanceof Error ? err.message : String(err);
      if (connection !== undefined) destroySocket(connection);
      if (!this.#closed) {
        options.logger?.warn({ link: options.name, err: this.#lastError }, 'RabbitMQ connection failed');
        this.#schedule();
      }
    }
  }

  #down(connection: ChannelModel, reason: string): void {
    if (this.#connection !== connection) return;
    this.#connection = undefined;
    this.#session = undefined;
    this.#lastError ??= reason;
    if (this.#closed) return;
    this.options.logger?.warn(
      { link: this.options.name, reason: this.#lastError },
      'RabbitMQ connection lost',
    );
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#timer !== undefined) return;
    const { reconnectMinMs, reconnectMaxMs } = this.options;
    const base = Math.min(reconnectMaxMs, reconnectMinMs * 2 ** this.#failures);
    this.#failures++;
    const delay = base / 2 + Math.random() * (base / 2);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#connect();
    }, delay);
  }

  #wake(): void {
    for (const wake of this.#waiters.splice(0)) wake();
  }
}

/** amqplib keeps the socket on the connection object without typing it. */
function destroySocket(connection: ChannelModel): void {
  const stream = (connection.connection as unknown as { stream?: { destroy(): void } }).stream;
  stream?.destroy();
}

async function closeQuietly(connection: ChannelModel, timeoutMs: number): Promise<void> {
  try {
    await withTimeout(connection.close(), timeoutMs, 'closing the RabbitMQ connection');
  } catch {
    destroySocket(connection);
  }
}
