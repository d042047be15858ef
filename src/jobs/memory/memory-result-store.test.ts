import { runResultStoreContract } from '../result-store.contract.ts';
import { MemoryResultStore } from './memory-result-store.ts';

runResultStoreContract('memory', async () => {
  const clock = { now: 1_700_000_000_000 };
  const store = new MemoryResultStore({ nowMs: () => clock.now });
  return {
    store,
    elapse: (seconds) => {
      clock.now += seconds * 1000;
      return Promise.resolve();
    },
    cleanup: () => store.close(),
  };
});
