/**
 * A real Redis Cluster of one test file: `masters` redis-server children in cluster mode on free
 * ports (each with its bus port, port + 10000, free too), joined by `redis-cli --cluster create`
 * with the 16384 slots split evenly and no replicas. A test may kill a node to see how clients
 * behave when part of the cluster is gone.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { PrivateRedisServer, freePort, until } from './private-redis.ts';

const run = promisify(execFile);

export class PrivateRedisCluster {
  private constructor(
    readonly nodes: PrivateRedisServer[],
    readonly dir: string,
  ) {}

  /** Seed URLs as a client config takes them. */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  static async start(masters = 3): Promise<PrivateRedisCluster> {
    const dir = await mkdtemp(path.join(tmpdir(), 'quiver-redis-cluster-'));
    const nodes: PrivateRedisServer[] = [];
    try {
      for (const port of await clusterPorts(masters)) {
        nodes.push(await PrivateRedisServer.start(port, nodeArgs(dir, port)));
      }
      const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
      await run('redis-cli', [
        '--cluster',
        'create',
        ...addresses,
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ]);
      const cluster = new PrivateRedisCluster(nodes, dir);
      await until(() => cluster.#allAgree(), 20_000, 'every cluster node to report cluster_state:ok');
      return cluster;
    } catch (err) {
      await Promise.all(nodes.map((n) => n.kill()));
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** The node serving `key`'s slot (as the cluster itself answers). */
  async nodeOf(key: string): Promise<PrivateRedisServer> {
    const probe = new Redis(this.nodes[0]!.url);
    try {
      const slot = await probe.cluster('KEYSLOT', key);
      const shards = await probe.cluster('SLOTS');
      const owner = shards.find(([from, to]) => slot >= from && slot <= to)![2]![1];
      return this.nodes.find((n) => n.port === owner)!;
    } finally {
      probe.disconnect();
    }
  }

  /**
   * Starts a killed node again on its port with its saved cluster state (node id, slots), so it
   * rejoins as the same master; resolves once the whole cluster reports ok again.
   */
  async restart(node: PrivateRedisServer): Promise<void> {
    const index = this.nodes.indexOf(node);
    this.nodes[index] = await PrivateRedisServer.start(node.port, nodeArgs(this.dir, node.port));
    await until(() => this.#allAgree(), 20_000, 'every cluster node to report cluster_state:ok');
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    await rm(this.dir, { recursive: true, force: true });
  }

  async #allAgree(): Promise<boolean> {
    const states = await Promise.all(
      this.nodes.map(async (n) => {
        const client = new Redis(n.url, { lazyConnect: true, maxRetriesPerRequest: 0 });
        try {
          await client.connect();
          return ((await client.cluster('INFO')) as string).includes('cluster_state:ok');
        } catch {
          return false;
        } finally {
          client.disconnect();
        }
      }),
    );
    return states.every(Boolean);
  }
}

function nodeArgs(dir: string, port: number): string[] {
  return [
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    path.join(dir, `nodes-${port}.conf`),
    '--cluster-node-timeout',
    '2000',
    '--dir',
    dir,
  ];
}

/** `count` distinct free ports whose cluster bus ports (port + 10000) are free too. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (port + 10000 > 65535 || ports.includes(port)) continue;
    if (await isFree(port + 10000)) ports.push(port);
  }
  return ports;
}

async function isFree(port: number): Promise<boolean> {
  const net = await import('node:net');
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
