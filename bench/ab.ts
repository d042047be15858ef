/**
 * Two Quiver checkouts against each other on the features-1 LMDB lookup: each serves the bench data
 * in its own process, and short `wrk -t1 -c32` slices alternate between them (A B, B A, ...), the
 * server's CPU from /proc over each slice. A change worth a few percent of a request is invisible
 * in `bench features-1`, whose ratio to the ceiling moves by ±5% between runs on these hosts; here
 * both sides of each pair share the host's state of the moment, and the median over many pairs
 * damps the rest. A tool for hot-path work, not a scenario.
 *
 * Usage: node --import tsx bench/ab.ts <checkout A> <checkout B> [pairs = 30] [seconds = 1]
 * (`B_NODE_OPTIONS='--flag'` starts B's server with those node flags: A/B of a V8 setting)
 * (e.g. `git worktree add /tmp/base HEAD~3` and a node_modules there: a symlink to this one's will do).
 */
import path from 'node:path';
import { toolSettings } from './index.ts';
import { pinningWanted, pinServer } from './lib/affinity.ts';
import { prepareFraudLmdb } from './lib/fraud-data.ts';
import { clockTicks, readCpuTimes } from './lib/proc-cpu.ts';
import { freePort, startNodeProcess, type ServerProcess } from './lib/server-process.ts';
import { runWrk } from './lib/wrk.ts';
import { requestBody, userIdSets } from './scenarios/features.ts';

const [dirA, dirB, pairsText = '30', secondsText = '1'] = process.argv.slice(2);
if (dirA === undefined || dirB === undefined) {
  process.stderr.write('usage: bench/ab.ts <checkout A> <checkout B> [pairs] [seconds]\n');
  process.exit(2);
}
const pairs = Number(pairsText);
const seconds = Number(secondsText);

const data = await prepareFraudLmdb(toolSettings());
const bodies = userIdSets(data.users, 1, 1000).map((ids) => requestBody(ids));

async function serve(name: string, checkout: string): Promise<ServerProcess> {
  const port = await freePort();
  const bin = path.join(path.resolve(checkout), 'bin', 'quiver.js');
  const args = [bin, 'serve', '--config', data.configPath, '--port', String(port), '--host', '127.0.0.1'];
  // B_NODE_OPTIONS: node flags for B alone (e.g. a V8 setting against the same checkout as A).
  const nodeOptions = name === 'B' ? process.env.B_NODE_OPTIONS : undefined;
  const env = {
    ...process.env,
    QUIVER_LOG_LEVEL: 'warn',
    ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}),
  };
  return startNodeProcess({ name, port, args, cwd: path.resolve(checkout), env });
}

interface Slice {
  readonly cpuUsPerRequest: number;
  readonly requestsPerSecond: number;
}

async function slice(server: ServerProcess, sliceSeconds: number): Promise<Slice> {
  const before = readCpuTimes(server.pid);
  const run = await runWrk({
    url: `${server.url}/get-online-features`,
    bodies,
    connections: 32,
    seconds: sliceSeconds,
    cpus: wrkCpus,
  });
  const after = readCpuTimes(server.pid);
  if (!run.ok) throw new Error(`${server.name}: ${run.problems.join('; ')}`);
  const ticks = after.utimeTicks - before.utimeTicks + (after.stimeTicks - before.stimeTicks);
  return {
    cpuUsPerRequest: ((ticks / clockTicks()) * 1e6) / run.requests,
    requestsPerSecond: run.requestsPerSecond,
  };
}

function quartiles(values: number[]): [number, number, number] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return [at(0.25), at(0.5), at(0.75)];
}

const a = await serve('A', dirA);
const b = await serve('B', dirB);
// Pinned as `bench features-1` pins (lib/affinity.ts): each event loop alone on a core, wrk on the other.
let wrkCpus: string | undefined;
if (pinningWanted()) {
  pinServer(b.pid);
  wrkCpus = pinServer(a.pid).otherCpus;
}
try {
  await slice(a, 3); // warm-up
  await slice(b, 3);
  const cpu: number[] = [];
  const rps: number[] = [];
  const cpuA: number[] = [];
  const cpuB: number[] = [];
  for (let i = 0; i < pairs; i++) {
    const [first, second] = i % 2 === 0 ? [a, b] : [b, a];
    const one = await slice(first, seconds);
    const two = await slice(second, seconds);
    const [ofA, ofB] = first === a ? [one, two] : [two, one];
    cpuA.push(ofA.cpuUsPerRequest);
    cpuB.push(ofB.cpuUsPerRequest);
    cpu.push(ofB.cpuUsPerRequest / ofA.cpuUsPerRequest);
    rps.push(ofB.requestsPerSecond / ofA.requestsPerSecond);
  }
  const f = (v: number, digits = 3): string => v.toFixed(digits);
  const q = (values: number[]): string =>
    quartiles(values)
      .map((v) => f(v))
      .join(' / ');
  process.stdout.write(
    `${pairs} pairs of ${seconds}-s slices, wrk -t1 -c32, features-1 on LMDB\n` +
      `CPU µs per request, median: A ${f(quartiles(cpuA)[1], 2)}, B ${f(quartiles(cpuB)[1], 2)}\n` +
      `B/A CPU per request (25% / median / 75%): ${q(cpu)}\n` +
      `B/A req/s           (25% / median / 75%): ${q(rps)}\n`,
  );
} finally {
  await Promise.all([a.stop(), b.stop()]);
}
