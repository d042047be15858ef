/**
 * A redis-server child process of one test file, on its own port, persisting nothing, that the test
 * may crash (SIGKILL), freeze (SIGSTOP) and restart on the same port.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';

export const redisServerInstalled = spawnSync('redis-server', ['--version']).status === 0;

export class PrivateRedisServer {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #exited: Promise<unknown>;

  private constructor(
    readonly port: number,
    child: ChildProcess,
  ) {
    this.url = `redis://127.0.0.1:${port}`;
    this.#child = child;
    this.#exited = once(child, 'exit');
  }

  /** `extraArgs`: more redis-server options, e.g. to make it a cluster node. */
  static async start(port: number, extraArgs: readonly string[] = []): Promise<PrivateRedisServer> {
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...extraArgs],
      { stdio: 'ignore' },
    );
    const server = new PrivateRedisServer(port, child);
    await until(() => connects(port), 10_000, `redis-server on port ${port} to accept connections`);
    return server;
  }

  /** SIGSTOP: connections stay open but nothing answers, like a hung host. */
  freeze(): void {
    this.#child.kill('SIGSTOP');
  }

  thaw(): void {
    this.#child.kill('SIGCONT');
  }

  /** kill -9: clients see a crash, not a clean shutdown. */
  async kill(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
    await this.#exited;
  }
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  server.close();
  await once(server, 'close');
  return port;
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Polls `condition` (every 10 ms) until it holds; fails after `timeoutMs` naming what it waited for.
 * A bounded wait for a state, never a fixed sleep.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await condition())) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
