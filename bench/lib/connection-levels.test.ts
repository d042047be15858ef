import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runLevels, waitForPath } from './connection-levels.ts';
import type { ServerProcess } from './server-process.ts';

const hasWrk = ((): boolean => {
  try {
    execFileSync('wrk', ['-v'], { stdio: 'ignore' });
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
})();

let server: Server | undefined;
afterEach(async () => {
  if (server === undefined) return;
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
  server = undefined;
});

/** An in-process server counting POSTs, exposing the count on /metrics; `ready` after `readyAfter` GETs. */
async function start(readyAfter = 0): Promise<ServerProcess> {
  let posts = 0;
  let readyChecks = 0;
  server = createServer((req, res) => {
    if (req.method === 'POST') {
      req.resume();
      req.on('end', () => {
        posts++;
        res.end('{}');
      });
    } else if (req.url === '/metrics') {
      res.end(`# HELP posts_total p\nposts_total ${posts}\n`);
    } else if (req.url === '/readyz') {
      res.statusCode = ++readyChecks > readyAfter ? 200 : 503;
      res.end();
    } else res.end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    name: 'test',
    pid: process.pid,
    url: `http://127.0.0.1:${port}`,
    port,
    output: () => '',
    stop: async () => {},
  };
}

describe.skipIf(!hasWrk)('runLevels', () => {
  it('runs each level in order and scrapes /metrics around exactly that run', async () => {
    const target = await start();
    const seen: number[] = [];
    const runs = await runLevels({
      server: target,
      path: '/p',
      bodies: ['{"a":1}', '{"a":2}'],
      levels: [1, 4],
      secondsAt: () => 1,
      warmupSeconds: 0,
      observe: (before, after) =>
        after.find((s) => s.name === 'posts_total')!.value -
        before.find((s) => s.name === 'posts_total')!.value,
      log: (run) => seen.push(run.connections),
    });
    expect(seen).toEqual([1, 4]);
    for (const run of runs) {
      expect(run.wrk.ok).toBe(true);
      // Every request wrk counted reached the server between the two scrapes (wrk may leave a
      // few answered but uncounted when it stops).
      expect(run.observed).toBeGreaterThanOrEqual(run.wrk.requests);
      expect(run.observed).toBeLessThanOrEqual(run.wrk.requests + run.connections);
      expect(run.cpu.totalSeconds).toBeGreaterThan(0);
      expect(run.mainThreadCpu.totalSeconds).toBeGreaterThan(0);
      expect(run.mainThreadCpu.totalSeconds).toBeLessThanOrEqual(run.cpu.totalSeconds);
    }
  });
});

describe('waitForPath', () => {
  it('polls until the path answers 200', async () => {
    const target = await start(3);
    await waitForPath(target, '/readyz', 5000);
  });
  it('gives up after the timeout with the last answer', async () => {
    const target = await start(1_000_000);
    await expect(waitForPath(target, '/readyz', 300)).rejects.toThrow(/did not answer 200.*503/);
  });
});
