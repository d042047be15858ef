/** The ResultStore contract, run against every implementation (memory and Redis). */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobRecord } from './job.ts';
import type { ResultStore } from './result-store.ts';

export interface ResultStoreUnderTest {
  readonly store: ResultStore;
  /** Makes `seconds` pass for the store's TTLs (a fake clock, or Redis' own expiry). */
  elapse(seconds: number): Promise<void>;
  cleanup(): Promise<void>;
}

function record(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: randomUUID(),
    model: 'm',
    kind: 'predict',
    status: 'queued',
    attempts: 0,
    createdAtMs: 1_700_000_000_000,
    ...overrides,
  };
}

export function runResultStoreContract(name: string, create: () => Promise<ResultStoreUnderTest>): void {
  describe(`ResultStore contract: ${name}`, () => {
    const opened: ResultStoreUnderTest[] = [];
    const open = async (): Promise<ResultStoreUnderTest> => {
      const s = await create();
      opened.push(s);
      return s;
    };
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.cleanup();
    });

    it('returns what was put, and undefined for an unknown id', async () => {
      const { store } = await open();
      const r = record({
        status: 'done',
        attempts: 2,
        startedAtMs: 1_700_000_000_500,
        finishedAtMs: 1_700_000_001_000,
        result: { model: 'm', outputs: { probability: [0.25, 0.5] } },
      });
      await store.put(r, 60);
      expect(await store.get(r.id)).toEqual(r);
      expect(await store.get(randomUUID())).toBeUndefined();
    });

    it('a later put replaces the record (status transitions)', async () => {
      const { store } = await open();
      const r = record();
      await store.put(r, 60);
      const failed: JobRecord = {
        ...r,
        status: 'failed',
        attempts: 3,
        error: { code: 'QUIVER_ERR_X', message: 'x' },
      };
      await store.put(failed, 60);
      expect(await store.get(r.id)).toEqual(failed);
    });

    it('a record expires after its TTL', async () => {
      const s = await open();
      const r = record();
      await s.store.put(r, 1);
      expect(await s.store.get(r.id)).toEqual(r);
      await s.elapse(1.1);
      expect(await s.store.get(r.id)).toBeUndefined();
    });

    it('calls after close() fail with QUIVER_ERR_CLOSED', async () => {
      const { store } = await open();
      await store.close();
      await expect(store.get('x')).rejects.toMatchObject({ code: 'QUIVER_ERR_CLOSED' });
      await expect(store.put(record(), 60)).rejects.toMatchObject({ code: 'QUIVER_ERR_CLOSED' });
    });
  });
}
