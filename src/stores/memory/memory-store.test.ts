import { runOnlineStoreContract } from '../online-store.contract.ts';
import { MemoryStore } from './memory-store.ts';

runOnlineStoreContract('memory', async () => {
  const store = new MemoryStore();
  return { store, cleanup: () => store.close(), syncReads: true };
});
