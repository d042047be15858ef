/**
 * An open-loop HTTP load generator for latency-under-load and burst scenarios (design §6), run in
 * its OWN process (forked from the bench runner) so it never competes with the server's event loop.
 *
 * Open loop: requests go out on a fixed schedule (request i of a phase at start + i / rate),
 * whether or not earlier ones were answered, so a slow server meets the full offered load instead
 * of slowing the client down (closed-loop generators under-report latency that way, "coordinated
 * omission"). A 1 ms timer sends everything due; each request's latency is kept both from its
 * SCHEDULED time (what a client of a real service would see) and from when it was actually SENT
 * (the server's answer time; the difference is the generator's own lag, reported too). A closed-loop
 * phase (N connections back to back) measures capacity.
 *
 * Priorities: a deterministic `highFraction` of the requests (spread evenly) carries
 * `x-priority: 1`, the others `x-priority: <lowPriority>`. Responses are recorded per request:
 * status, priority and, for errors, the QUIVER_ERR_* code.
 *
 * @example
 *   const result = await runLoad({ url, bodies, highFraction: 0.2, lowPriority: 2,
 *     phases: [{ name: 'burst', seconds: 5, ratePerS: 5000 }] });
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { pinProcess } from './affinity.ts';
import { applyBenchPriority } from './priority.ts';

export interface LoadPhase {
  readonly name: string;
  readonly seconds: number;
  /** Open loop: requests per second. */
  readonly ratePerS?: number;
  /** Closed loop: connections sending back to back (instead of ratePerS). */
  readonly connections?: number;
}

export interface LoadSpec {
  readonly url: string;
  readonly bodies: readonly string[];
  readonly contentType?: string;
  /** Share (0..1) of requests sent with x-priority: 1. */
  readonly highFraction: number;
  /** x-priority of the others. */
  readonly lowPriority: number;
  readonly phases: readonly LoadPhase[];
  /** Client-side timeout of one request (counted as an error). Default 10 s. */
  readonly timeoutMs?: number;
  /** Sockets kept open at most. Default 1024. */
  readonly maxSockets?: number;
  /** CPUs the generator process is pinned to (taskset list, e.g. "1"); unpinned when absent. */
  readonly cpus?: string;
}

/** Error codes of interest, in `LoadResult.code`. */
export const CODES = [
  '',
  'QUIVER_ERR_QUEUE_FULL',
  'QUIVER_ERR_SHED',
  'QUIVER_ERR_DEADLINE_EXCEEDED',
  'other',
  'client',
] as const;
export type CodeName = (typeof CODES)[number];

/** One entry per request, column-wise (typed arrays: cheap to pass between processes). */
export interface LoadResult {
  readonly phaseNames: readonly string[];
  readonly phase: Uint8Array;
  /** ms since the run started. */
  readonly scheduledMs: Float64Array;
  readonly sentMs: Float64Array;
  readonly doneMs: Float64Array;
  /** HTTP status; 0 when the request failed on the client side (timeout, socket error). */
  readonly status: Uint16Array;
  /** 1 = high, else lowPriority. */
  readonly priority: Uint8Array;
  /** Index into CODES. */
  readonly code: Uint8Array;
  /** Start of each phase, ms since the run started. */
  readonly phaseStartMs: readonly number[];
}

/** Runs `spec` in a child process and returns its per-request records. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const child = fork(fileURLToPath(import.meta.url), ['--open-loop-child'], {
    execArgv: ['--import', 'tsx'],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  applyBenchPriority(child.pid);
  if (spec.cpus !== undefined && child.pid !== undefined) pinProcess(child.pid, spec.cpus);
  return new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    child.once('message', (message) => {
      settled = true;
      const m = message as { result?: LoadResult; error?: string };
      if (m.result !== undefined) resolve(m.result);
      else reject(new Error(`load generator failed: ${m.error}`));
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (!settled)
        reject(new Error(`load generator exited (code ${code}, signal ${signal}) without a result`));
    });
    child.send({ spec });
  });
}

/** True for request `i` when it is one of the evenly spread `fraction` of high-priority ones. */
export function isHigh(i: number, fraction: number): boolean {
  return Math.floor((i + 1) * fraction) > Math.floor(i * fraction);
}

class Recorder {
  phase: number[] = [];
  scheduledMs: number[] = [];
  sentMs: number[] = [];
  doneMs: number[] = [];
  status: number[] = [];
  priority: number[] = [];
  code: number[] = [];

  add(): number {
    this.phase.push(0);
    this.scheduledMs.push(0);
    this.sentMs.push(0);
    this.doneMs.push(0);
    this.status.push(0);
    this.priority.push(0);
    this.code.push(0);
    return this.phase.length - 1;
  }
}

async function generate(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: spec.maxSockets ?? 1024 });
  const timeoutMs = spec.timeoutMs ?? 10_000;
  const contentType = spec.contentType ?? 'application/json';
  const rec = new Recorder();
  const t0 = performance.now();
  const now = (): number => performance.now() - t0;
  let sent = 0;
  let inFlight = 0;

  const send = (phase: number, scheduledMs: number, done?: () => void): void => {
    const i = rec.add();
    const n = sent++;
    const high = isHigh(n, spec.highFraction);
    const body = spec.bodies[n % spec.bodies.length]!;
    rec.phase[i] = phase;
    rec.scheduledMs[i] = scheduledMs;
    rec.priority[i] = high ? 1 : spec.lowPriority;
    inFlight++;
    const finish = (status: number, code: number): void => {
      rec.doneMs[i] = now();
      rec.status[i] = status;
      rec.code[i] = code;
      inFlight--;
      done?.();
    };
    const req = http.request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          'content-type': contentType,
          'content-length': Buffer.byteLength(body),
          'x-priority': String(rec.priority[i]),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status === 200) {
          res.resume();
          res.once('end', () => finish(status, 0));
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () => {
          let code = CODES.indexOf('other');
          try {
            const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { code?: string };
            const known = CODES.indexOf(parsed.code as CodeName);
            if (known > 0) code = known;
          } catch {
            // not JSON: 'other'
          }
          finish(status, code);
        });
      },
    );
    req.once('timeout', () => req.destroy(new Error('timeout')));
    req.once('error', () => finish(0, CODES.indexOf('client')));
    rec.sentMs[i] = now();
    req.end(body);
  };

  const phaseStartMs: number[] = [];
  for (const [p, phase] of spec.phases.entries()) {
    const startMs = now();
    phaseStartMs.push(startMs);
    const endMs = startMs + phase.seconds * 1000;
    if (phase.connections !== undefined) {
      // Closed loop: each connection sends its next request when the previous one is answered.
      await new Promise<void>((resolve) => {
        let open = phase.connections!;
        const next = (): void => {
          if (now() >= endMs) {
            if (--open === 0) resolve();
            return;
          }
          send(p, now(), next);
        };
        for (let c = 0; c < phase.connections!; c++) next();
      });
      continue;
    }
    const rate = phase.ratePerS!;
    const total = Math.round(phase.seconds * rate);
    await new Promise<void>((resolve) => {
      let n = 0;
      const tick = (): void => {
        const due = Math.min(total, Math.floor(((now() - startMs) * rate) / 1000) + 1);
        while (n < due) send(p, startMs + (n++ * 1000) / rate);
        if (n >= total) resolve();
        else setTimeout(tick, 1);
      };
      tick();
    });
  }
  // Wait for the stragglers (bounded by the request timeout).
  await new Promise<void>((resolve) => {
    const check = (): void => (inFlight === 0 ? resolve() : void setTimeout(check, 5));
    check();
  });
  agent.destroy();
  return {
    phaseNames: spec.phases.map((p) => p.name),
    phase: Uint8Array.from(rec.phase),
    scheduledMs: Float64Array.from(rec.scheduledMs),
    sentMs: Float64Array.from(rec.sentMs),
    doneMs: Float64Array.from(rec.doneMs),
    status: Uint16Array.from(rec.status),
    priority: Uint8Array.from(rec.priority),
    code: Uint8Array.from(rec.code),
    phaseStartMs,
  };
}

// Child-process entry: receive the spec, run it, send the records back, exit.
if (process.argv.includes('--open-loop-child') && process.send !== undefined) {
  process.once('message', (message) => {
    generate((message as { spec: LoadSpec }).spec).then(
      (result) => process.send!({ result }, () => process.exit(0)),
      (err: unknown) => process.send!({ error: String(err) }, () => process.exit(1)),
    );
  });
}
