/**
 * Coalesces the reads of one event-loop turn into one MGET. The requests whose bytes arrived
 * together are handled in one turn, each asking for its own keys; sent apart, each read costs its
 * own command: an ioredis Command with its promise and callbacks, a pipeline slot, a reply to parse,
 * and a command for Redis to run on the same two cores. Here the turn's reads queue their keys
 * and one MGET goes out when the turn's I/O callbacks are done (setImmediate), its reply split
 * back by position. A lone request waits for nothing: the check phase follows the poll phase that
 * brought it. The design's "one MGET per request or batch", with the turn as the batch.
 *
 * @example
 *   const reads = new ReadCoalescer((keys) => redis.mgetBuffer(keys), decode);
 *   const [a, b] = await Promise.all([reads.read('v:', ['k1', 'k2']), reads.read('v:', ['k3'])]);
 *   // one MGET v:k1 v:k2 v:k3
 */
import type { ReadResult, StoredRow } from '../online-store.ts';

/** Sends one multi-key read; values line up with `keys`, null where a key has no value. */
export type FetchValues = (keys: string[]) => Promise<(Buffer | null)[]>;

/** A pending read: its keys are `count` keys of the batch from `start`. */
interface PendingRead {
  readonly start: number;
  readonly count: number;
  readonly resolve: (result: ReadResult) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Keys per MGET at most: a batch this large goes out at once, without waiting for the turn's end.
 * A large MGET is one long command for Redis and one large reply held until it is all parsed.
 */
export const MAX_KEYS_PER_FETCH = 1000;

export interface ReadCoalescerOptions {
  /** Default MAX_KEYS_PER_FETCH. */
  readonly maxKeys?: number;
  /** What a failed fetch rejects its reads with. */
  readonly fetchError?: (err: unknown) => unknown;
  /** What a read rejects with when a value cannot be decoded, given its full key. */
  readonly decodeError?: (key: string, err: unknown) => unknown;
}

export class ReadCoalescer {
  #keys: string[] = [];
  #reads: PendingRead[] = [];
  #scheduled = false;
  readonly #onImmediate = (): void => {
    this.#scheduled = false;
    this.flush();
  };

  readonly #maxKeys: number;
  readonly #fetchError: (err: unknown) => unknown;
  readonly #decodeError: (key: string, err: unknown) => unknown;

  constructor(
    private readonly fetch: FetchValues,
    private readonly decode: (value: Buffer) => StoredRow,
    options: ReadCoalescerOptions = {},
  ) {
    this.#maxKeys = options.maxKeys ?? MAX_KEYS_PER_FETCH;
    this.#fetchError = options.fetchError ?? ((err) => err);
    this.#decodeError = options.decodeError ?? ((_key, err) => err);
  }

  /** Reads the keys `prefix + key` with the other reads of this turn. */
  read(prefix: string, keys: readonly string[]): Promise<ReadResult> {
    const start = this.#keys.length;
    for (let i = 0; i < keys.length; i++) this.#keys.push(prefix + keys[i]!);
    return new Promise<ReadResult>((resolve, reject) => {
      this.#reads.push({ start, count: keys.length, resolve, reject });
      if (this.#keys.length >= this.#maxKeys) this.flush();
      else if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#onImmediate);
      }
    });
  }

  /** Sends the queued reads now (before the turn ends: a full batch, or the store closing). */
  flush(): void {
    const reads = this.#reads;
    if (reads.length === 0) return;
    const keys = this.#keys;
    this.#reads = [];
    this.#keys = [];
    let sent: Promise<(Buffer | null)[]>;
    try {
      sent = this.fetch(keys);
    } catch (err) {
      this.#fail(reads, err);
      return;
    }
    sent.then(
      (values) => this.#answer(reads, keys, values),
      (err: unknown) => this.#fail(reads, err),
    );
  }

  #fail(reads: PendingRead[], err: unknown): void {
    const error = this.#fetchError(err);
    for (const read of reads) read.reject(error);
  }

  #answer(reads: PendingRead[], keys: readonly string[], values: (Buffer | null)[]): void {
    for (const read of reads) {
      const result: ReadResult = new Array<StoredRow | undefined>(read.count);
      let i = 0;
      try {
        for (; i < read.count; i++) {
          const value = values[read.start + i];
          result[i] = value == null ? undefined : this.decode(value);
        }
      } catch (err) {
        // A value that is not a record fails its own read, not the others of the batch.
        read.reject(this.#decodeError(keys[read.start + i]!, err));
        continue;
      }
      read.resolve(result);
    }
  }
}
