/**
 * The networked online store: one Redis string per record, key `{prefix}:{project}:{view}:{entityKey}`,
 * value msgpack of `[eventTsMs, ...values]` (record-codec.ts). The reads of one event-loop turn
 * share one MGET whatever their number of keys (read-coalescer.ts); a write sends chunks of rows to
 * one Lua script that skips stale rows atomically.
 * On a Redis Cluster both are split by hash slot (slot-groups.ts), since a multi-key command must stay
 * within one slot: a read is one MGET per slot, sent to each node as one pipeline. Keys carry no hash
 * tag, so one view's records spread over the whole cluster.
 * When Redis is down, calls fail within `commandTimeoutMs` with QUIVER_ERR_STORE_UNAVAILABLE instead
 * of queueing, and the client reconnects in the background.
 *
 * @example
 *   const store = await RedisStore.create({ url: 'redis://127.0.0.1:6379', project: 'demo' });
 *   await store.read('user_stats', ['u1', 'u2']); // [[<ts>, 3, 0.5], undefined]
 */
import { readFile } from 'node:fs/promises';
import type { ChainableCommander, Cluster } from 'ioredis';
import type { Packr } from 'msgpackr';
import { quiverError } from '../../errors.ts';
import {
  createRedisClient,
  describeTarget,
  isCluster,
  stopOfflineQueue,
  waitUntilReady,
  type RedisClient,
  type RedisTarget,
} from '../../redis/client.ts';
import { connectFailure, storeUnavailable } from '../../redis/errors.ts';
import type { OnlineStore, ReadResult, WriteResult, WriteRow } from '../online-store.ts';
import { createRecordPackr, RecordDecoder, toRecord } from '../record-codec.ts';
import { ReadCoalescer } from './read-coalescer.ts';
import { chunkGroups, groupBySlot, pipelinePerNode } from './slot-groups.ts';

/** `url`: `redis://[user:password@]host:port[/db]`; or `cluster`: seed node URLs of a Redis Cluster. */
export type RedisStoreOptions = RedisTarget & {
  /** Names the deployment's keys apart from other projects on the same Redis. */
  readonly project: string;
  /** First segment of every key. Default 'q'. */
  readonly keyPrefix?: string;
  /** Deadline of one command; a call fails with QUIVER_ERR_STORE_UNAVAILABLE after it. Default 1000. */
  readonly commandTimeoutMs?: number;
  /** How long create() and ready() wait for a connection. Default 3000. */
  readonly connectTimeoutMs?: number;
};

const DEFAULT_KEY_PREFIX = 'q';
const DEFAULT_COMMAND_TIMEOUT_MS = 1000;
const DEFAULT_CONNECT_TIMEOUT_MS = 3000;
/** Rows per script call: large enough to amortise the round trip, small enough not to block Redis. */
const WRITE_CHUNK_ROWS = 500;
const WRITE_SCRIPT = new URL('./scripts/write-if-newer.lua', import.meta.url);

/** The command `defineCommand` adds; ioredis cannot type it. */
interface ScriptCommands {
  writeIfNewer(numKeys: number, ...keysThenArgs: (string | Buffer)[]): Promise<[number, number]>;
}
type ScriptedRedis = RedisClient & ScriptCommands;

export class RedisStore implements OnlineStore {
  readonly kind = 'redis';
  readonly #redis: ScriptedRedis;
  readonly #cluster: boolean;
  readonly #packr: Packr = createRecordPackr();
  readonly #reads: ReadCoalescer;
  readonly #keyRoot: string;
  readonly #metaKey: string;
  readonly #connectTimeoutMs: number;
  readonly #viewPrefixes = new Map<string, string>();
  readonly #pendingWrites = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(redis: ScriptedRedis, keyRoot: string, connectTimeoutMs: number) {
    this.#redis = redis;
    this.#cluster = isCluster(redis);
    this.#keyRoot = keyRoot;
    this.#metaKey = `${keyRoot}__meta`;
    this.#connectTimeoutMs = connectTimeoutMs;
    const decoder = new RecordDecoder();
    this.#reads = new ReadCoalescer(
      (keys) => this.#fetch(keys),
      (value) => decoder.decode(value),
      {
        fetchError: storeUnavailable,
        decodeError: (key, err) =>
          quiverError(
            'QUIVER_ERR_STORE_CORRUPT_RECORD',
            { key, reason: (err as Error).message },
            { cause: err },
          ),
      },
    );
  }

  static async create(options: RedisStoreOptions): Promise<RedisStore> {
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    const lua = await readFile(WRITE_SCRIPT, 'utf8');
    const redis = createRedisClient(options, {
      commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
      connectTimeout: connectTimeoutMs,
      // 0: a command in flight when the connection drops fails at once, instead of waiting for the
      // first reconnect attempt (~100 ms later): a Redis crash must fail requests fast.
      maxRetriesPerRequest: 0,
      notPipelined: ['mget'],
    }) as ScriptedRedis;
    let lastError: unknown;
    // Without a listener ioredis logs every failed reconnect; failures surface through calls instead.
    redis.on('error', (err: unknown) => {
      lastError = err;
    });
    redis.defineCommand('writeIfNewer', { lua });
    try {
      await waitUntilReady(redis, connectTimeoutMs);
    } catch (err) {
      redis.disconnect();
      const reason = `cannot connect to ${describeTarget(options)}: ${connectFailure(lastError ?? err)}`;
      throw quiverError(
        'QUIVER_ERR_STORE_UNAVAILABLE',
        { store: 'redis', reason },
        { cause: lastError ?? err },
      );
    }
    // Queue only while connecting for the first time; afterwards an outage must fail calls fast.
    stopOfflineQueue(redis);
    const keyRoot = `${options.keyPrefix ?? DEFAULT_KEY_PREFIX}:${options.project}:`;
    return new RedisStore(redis, keyRoot, connectTimeoutMs);
  }

  /** Not async: the read's promise is the coalescer's own, with no second one around it. */
  read(view: string, keys: readonly string[]): Promise<ReadResult> {
    if (this.#closed) return Promise.reject(this.#closedError());
    if (keys.length === 0) return Promise.resolve([]);
    return this.#reads.read(this.#viewPrefix(view), keys);
  }

  async write(view: string, rows: readonly WriteRow[]): Promise<WriteResult> {
    this.#assertOpen();
    const prefix = this.#viewPrefix(view);
    const pending = this.#cluster ? this.#writePerSlot(prefix, rows) : this.#writeChunks(prefix, rows);
    this.#track(pending);
    let counts: [number, number][];
    try {
      counts = await pending;
    } catch (err) {
      throw storeUnavailable(err);
    }
    const result: WriteResult = { written: 0, skippedStale: 0 };
    for (const [written, skippedStale] of counts) {
      result.written += written;
      result.skippedStale += skippedStale;
    }
    return result;
  }

  async getMeta(name: string): Promise<string | undefined> {
    this.#assertOpen();
    try {
      return (await this.#redis.hget(this.#metaKey, name)) ?? undefined;
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  async setMeta(name: string, value: string): Promise<void> {
    this.#assertOpen();
    const pending = this.#redis.hset(this.#metaKey, name, value);
    this.#track(pending);
    try {
      await pending;
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  async ready(): Promise<void> {
    this.#assertOpen();
    try {
      await waitUntilReady(this.#redis, this.#connectTimeoutMs);
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#reads.flush();
    await Promise.allSettled(this.#pendingWrites);
    try {
      await this.#redis.quit();
    } catch {
      // Not connected: nothing to drain, just stop reconnecting.
      this.#redis.disconnect();
    }
  }

  /**
   * The keys of one turn's reads (read-coalescer.ts) as one MGET, sent at once (`notPipelined`):
   * auto-pipelined, it would wait one more turn for nothing. Auto-pipelined, a 100-key MGET also
   * kept its pipeline alive long enough to promote 2.5–3.9 MB to the old generation per scavenge:
   * mark-compact pauses of 8–14 ms in the p99 of 100-entity requests (`--trace-gc-nvp`). On a
   * cluster, one MGET per hash slot.
   */
  #fetch(redisKeys: string[]): Promise<(Buffer | null)[]> {
    if (this.#cluster) return this.#mgetPerSlot(redisKeys);
    return this.#redis.mgetBuffer(redisKeys);
  }

  #writeChunks(prefix: string, rows: readonly WriteRow[]): Promise<[number, number][]> {
    const calls: Promise<[number, number]>[] = [];
    for (let start = 0; start < rows.length; start += WRITE_CHUNK_ROWS) {
      const chunk = rows.slice(start, start + WRITE_CHUNK_ROWS);
      calls.push(this.#redis.writeIfNewer(chunk.length, ...this.#scriptArgs(prefix, chunk)));
    }
    return Promise.all(calls);
  }

  /**
   * A script may only touch keys of one hash slot, so on a cluster each call holds one slot's rows.
   * Rows of one key share a slot and keep their order, so the newest event still wins.
   */
  async #writePerSlot(prefix: string, rows: readonly WriteRow[]): Promise<[number, number][]> {
    const chunks = chunkGroups(
      groupBySlot(rows, (row) => prefix + row.key),
      WRITE_CHUNK_ROWS,
    );
    const replies = await pipelinePerNode(this.#redis as Cluster, chunks, (pipeline, chunk) => {
      (pipeline as ChainableCommander & ScriptCommands).writeIfNewer(
        chunk.items.length,
        ...this.#scriptArgs(prefix, chunk.items),
      );
    });
    return replies as [number, number][];
  }

  /** MGET on a cluster: one MGET per slot, replies put back by position. */
  async #mgetPerSlot(keys: string[]): Promise<(Buffer | null)[]> {
    const groups = groupBySlot(keys, (key) => key);
    if (groups.length === 1) return this.#redis.mgetBuffer(keys);
    const replies = await pipelinePerNode(this.#redis as Cluster, groups, (pipeline, group) => {
      pipeline.mgetBuffer(group.items);
    });
    const values = new Array<Buffer | null>(keys.length);
    groups.forEach((group, g) => {
      const reply = replies[g] as (Buffer | null)[];
      group.positions.forEach((position, k) => (values[position] = reply[k] ?? null));
    });
    return values;
  }

  /** KEYS then ARGV as write-if-newer.lua documents: N keys, N timestamps, N records. */
  #scriptArgs(prefix: string, rows: readonly WriteRow[]): (string | Buffer)[] {
    const n = rows.length;
    const args = new Array<string | Buffer>(3 * n);
    for (let i = 0; i < n; i++) {
      const row = rows[i]!;
      args[i] = prefix + row.key;
      args[n + i] = String(row.eventTsMs);
      args[2 * n + i] = this.#packr.pack(toRecord(row.eventTsMs, row.values));
    }
    return args;
  }

  #viewPrefix(view: string): string {
    let prefix = this.#viewPrefixes.get(view);
    if (prefix === undefined) {
      prefix = `${this.#keyRoot}${view}:`;
      this.#viewPrefixes.set(view, prefix);
    }
    return prefix;
  }

  #track(pending: Promise<unknown>): void {
    this.#pendingWrites.add(pending);
    const forget = (): void => {
      this.#pendingWrites.delete(pending);
    };
    pending.then(forget, forget);
  }

  #assertOpen(): void {
    if (this.#closed) throw this.#closedError();
  }

  #closedError(): Error {
    return quiverError('QUIVER_ERR_CLOSED', { component: 'Online store (redis)' });
  }
}
