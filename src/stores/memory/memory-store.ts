/**
 * An in-process online store for tests, demos and single-process setups without persistence.
 * Records live in one Map per view; reads answer synchronously like LMDB.
 */
import { quiverError } from '../../errors.ts';
import type { OnlineStore, ReadResult, StoredRow, WriteResult, WriteRow } from '../online-store.ts';
import { toRecord } from '../record-codec.ts';

export class MemoryStore implements OnlineStore {
  readonly kind = 'memory';
  readonly #views = new Map<string, Map<string, StoredRow>>();
  readonly #meta = new Map<string, string>();
  #closed = false;

  read(view: string, keys: readonly string[]): ReadResult {
    this.#assertOpen();
    const records = this.#views.get(view);
    const result: ReadResult = new Array<StoredRow | undefined>(keys.length);
    for (let i = 0; i < keys.length; i++) result[i] = records?.get(keys[i]!);
    return result;
  }

  async write(view: string, rows: readonly WriteRow[]): Promise<WriteResult> {
    this.#assertOpen();
    let records = this.#views.get(view);
    if (records === undefined) {
      records = new Map();
      this.#views.set(view, records);
    }
    let written = 0;
    let skippedStale = 0;
    for (const row of rows) {
      const stored = records.get(row.key);
      if (stored !== undefined && (stored[0] as number) > row.eventTsMs) {
        skippedStale++;
        continue;
      }
      // A copy, so a caller reusing its values array cannot change what was stored.
      records.set(row.key, toRecord(row.eventTsMs, row.values));
      written++;
    }
    return { written, skippedStale };
  }

  async getMeta(name: string): Promise<string | undefined> {
    this.#assertOpen();
    return this.#meta.get(name);
  }

  async setMeta(name: string, value: string): Promise<void> {
    this.#assertOpen();
    this.#meta.set(name, value);
  }

  async ready(): Promise<void> {
    this.#assertOpen();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#views.clear();
    this.#meta.clear();
  }

  #assertOpen(): void {
    if (this.#closed) throw quiverError('QUIVER_ERR_CLOSED', { component: 'Online store (memory)' });
  }
}
