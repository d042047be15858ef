// Entry of a runner thread when Quiver runs from TypeScript source. Loader hooks registered in the
// main thread (bin/quiver.js, vitest) do not reach worker threads on Node 20, and `--import tsx` in
// a Worker's execArgv does not apply to the worker's own entry there ("Unknown file extension .ts").
// So this plain-JS entry registers tsx inside the worker, as bin/quiver.js does, then imports the
// real entry. Spawning this file also keeps the parent's execArgv inherited as-is: passing execArgv
// explicitly would throw on flags a Worker refuses, like --max-old-space-size.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entryUrl);
