/**
 * The embedded online store: one LMDB environment, one named sub-database per feature view plus a
 * `meta` sub-database. Reads are synchronous memory-mapped lookups (~1–2 µs per key); writes run in
 * one LMDB transaction per call. Several processes may open the same path: LMDB locks writers
 * across processes and every read sees the latest committed snapshot, so nothing here caches values.
 *
 * @example
 *   const store = await LmdbStore.create({ path: '.quiver/online' });
 *   await store.write('user_stats', [{ key: 'u1', eventTsMs: Date.now(), values: [3, 0.5] }]);
 *   store.read('user_stats', ['u1']); // [[<ts>, 3, 0.5]]
 */
import { open } from 'lmdb';
import type { Database, RootDatabase } from 'lmdb';
import { quiverError } from '../../errors.ts';
import type { OnlineStore, ReadResult, StoredRow, WriteResult, WriteRow } from '../online-store.ts';
import { readEventTsMs, RECORD_PACK_OPTIONS, toRecord } from '../record-codec.ts';

export interface LmdbStoreOptions {
  /** Directory of the LMDB environment; created when missing. */
  readonly path: string;
  /** Most feature views the environment can hold (each is one LMDB sub-database). Default 255. */
  readonly maxViews?: number;
}

const DEFAULT_MAX_VIEWS = 255;
const META_DB = 'meta';
const VIEW_DB_PREFIX = 'view:';

type RecordDb = Database<StoredRow, string>;

export class LmdbStore implements OnlineStore {
  readonly kind = 'lmdb';
  readonly #root: RootDatabase;
  readonly #meta: Database<string, string>;
  /** Sub-database handles (not values), so sharing the path with other processes stays correct. */
  readonly #views = new Map<string, RecordDb>();
  readonly #pendingWrites = new Set<Promise<unknown>>();
  #closed = false;

  private constructor(root: RootDatabase, meta: Database<string, string>) {
    this.#root = root;
    this.#meta = meta;
  }

  static async create(options: LmdbStoreOptions): Promise<LmdbStore> {
    let root: RootDatabase | undefined;
    try {
      // Durability: lmdb's defaults. A write resolves once committed (visible to every process);
      // `overlappingSync` fsyncs after the write lock is released. A process crash loses nothing
      // committed (the pages are in the OS cache); a machine crash may lose the last unflushed
      // commits, never the file's integrity, and a re-run of materialize rewrites them. `noSync`
      // would risk corruption on power loss for little gain. The map size stays at its default too:
      // lmdb v3 grows the map on demand, also after another process grew the file (measured: 1M
      // records of 17 values ≈ 200 MB, no setting needed).
      root = open({ path: options.path, maxDbs: (options.maxViews ?? DEFAULT_MAX_VIEWS) + 1 });
      const meta = root.openDB<string, string>({ name: META_DB, encoding: 'string' });
      return new LmdbStore(root, meta);
    } catch (err) {
      await root?.close();
      throw quiverError(
        'QUIVER_ERR_STORE_UNAVAILABLE',
        { store: 'lmdb', reason: `cannot open ${options.path}: ${errorMessage(err)}` },
        { cause: err },
      );
    }
  }

  read(view: string, keys: readonly string[]): ReadResult {
    this.#assertOpen();
    const db = this.#viewDb(view);
    const result: ReadResult = new Array<StoredRow | undefined>(keys.length);
    // db.get measured as fast as getBinaryFast + unpack for a 17-value record, and simpler.
    for (let i = 0; i < keys.length; i++) result[i] = db.get(keys[i]!);
    return result;
  }

  async write(view: string, rows: readonly WriteRow[]): Promise<WriteResult> {
    this.#assertOpen();
    const db = this.#viewDb(view);
    return this.#track(db.transaction(() => writeIfNewer(db, rows)));
  }

  async getMeta(name: string): Promise<string | undefined> {
    this.#assertOpen();
    return this.#meta.get(name);
  }

  async setMeta(name: string, value: string): Promise<void> {
    this.#assertOpen();
    await this.#track(this.#meta.put(name, value));
  }

  async ready(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#pendingWrites);
    this.#views.clear();
    await this.#root.close();
  }

  #viewDb(view: string): RecordDb {
    let db = this.#views.get(view);
    if (db === undefined) {
      db = this.#root.openDB<StoredRow, string>({
        name: VIEW_DB_PREFIX + view,
        encoding: 'msgpack',
        // No sharedStructuresKey: records stay plain msgpack (see record-codec.ts).
        ...RECORD_PACK_OPTIONS,
      });
      this.#views.set(view, db);
    }
    return db;
  }

  #track<T>(pending: Promise<T>): Promise<T> {
    this.#pendingWrites.add(pending);
    const forget = (): void => {
      this.#pendingWrites.delete(pending);
    };
    pending.then(forget, forget);
    return pending;
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }
}

/**
 * Runs inside the write transaction, so reads see this call's earlier rows (duplicates resolve).
 * Reads only the stored timestamp's bytes: decoding the whole record cost ~0.5 µs more per row
 * (stale check measured at ~2.0 vs ~1.4 µs per row for 17-value records).
 */
function writeIfNewer(db: RecordDb, rows: readonly WriteRow[]): WriteResult {
  let written = 0;
  let skippedStale = 0;
  for (const row of rows) {
    const stored = db.getBinaryFast(row.key);
    const storedTsMs = stored === undefined ? undefined : readEventTsMs(stored);
    if (storedTsMs !== undefined && storedTsMs > row.eventTsMs) {
      skippedStale++;
      continue;
    }
    db.putSync(row.key, toRecord(row.eventTsMs, row.values));
    written++;
  }
  return { written, skippedStale };
}

function closedError(): Error {
  return quiverError('QUIVER_ERR_CLOSED', { component: 'Online store (lmdb)' });
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
