/**
 * A TCP proxy for fault tests: clients connect to it instead of the real service, and the test can
 * cut every connection (as a network failure or a broker restart would), refuse new ones for a
 * while, or freeze traffic (a broker that accepts but never answers).
 *
 * @example
 *   const proxy = await TcpProxy.start(5672);
 *   const url = `amqp://guest:guest@127.0.0.1:${proxy.port}`;
 *   proxy.cut();            // every proxied connection dies now
 *   proxy.refuse(true);     // new connections are dropped at once until refuse(false)
 */
import net from 'node:net';

export class TcpProxy {
  readonly #server: net.Server;
  readonly #pairs = new Set<[net.Socket, net.Socket]>();
  #refusing = false;
  #frozen = false;
  /** Connections accepted so far. */
  accepted = 0;

  private constructor(
    server: net.Server,
    readonly port: number,
  ) {
    this.#server = server;
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (client) => proxy.#accept(client, targetPort, targetHost));
    return proxy;
  }

  /** Open proxied connections. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Destroys every proxied connection (both sides). */
  cut(): void {
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
  }

  /** While true, new connections are closed as soon as they arrive. */
  refuse(on: boolean): void {
    this.#refusing = on;
  }

  /** While true, bytes are swallowed in both directions (connections stay open). */
  freeze(on: boolean): void {
    this.#frozen = on;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: net.Socket, port: number, host: string): void {
    if (this.#refusing) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = net.connect(port, host);
    const pair: [net.Socket, net.Socket] = [client, upstream];
    this.#pairs.add(pair);
    const forward = (from: net.Socket, to: net.Socket): void => {
      from.on('data', (chunk: Buffer) => {
        if (!this.#frozen && !to.destroyed) to.write(chunk);
      });
    };
    forward(client, upstream);
    forward(upstream, client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      this.#pairs.delete(pair);
    };
    for (const s of pair) {
      s.on('error', end);
      s.on('close', end);
    }
  }
}
