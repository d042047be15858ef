import { runBrokerContract } from '../broker.contract.ts';
import { MemoryBroker } from './memory-broker.ts';

runBrokerContract('memory', async () => {
  const broker = new MemoryBroker();
  let taken = 0;
  return {
    broker,
    deadLetters: () => {
      const all = broker.deadLetters();
      const fresh = all.slice(taken).map((d) => d.job);
      taken = all.length;
      return Promise.resolve(fresh);
    },
    cleanup: () => broker.destroy(),
  };
});
