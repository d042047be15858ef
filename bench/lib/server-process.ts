/**
 * A server under test in its own child process: started, awaited until GET /healthz answers 200,
 * measured by pid, and stopped with SIGTERM (awaiting its exit). Used for Quiver itself
 * (`node bin/quiver.js serve ...`) and for the HTTP ceiling (ceiling.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyBenchPriority } from './priority.ts';

/** The repository root (bench/lib/ → ../../). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const QUIVER_BIN = path.join(REPO_ROOT, 'bin', 'quiver.js');

export interface ServerProcess {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly port: number;
  /** The last few KB of its stdout and stderr, for error messages. */
  output(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartProcessOptions {
  readonly name: string;
  /** Arguments after the node executable: node options, then the script and its arguments. */
  readonly args: readonly string[];
  readonly port: number;
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly healthPath?: string;
  readonly startTimeoutMs?: number;
}

/** A free TCP port on 127.0.0.1 (asks the kernel for one, then releases it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  server.close();
  await once(server, 'close');
  if (port === 0) throw new Error('could not find a free port');
  return port;
}

const OUTPUT_KEEP = 8 * 1024;

export async function startNodeProcess(options: StartProcessOptions): Promise<ServerProcess> {
  const child = spawn(process.execPath, options.args, {
    cwd: options.cwd ?? REPO_ROOT,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  applyBenchPriority(child.pid);
  let output = '';
  const keep = (chunk: string): void => {
    output = (output + chunk).slice(-OUTPUT_KEEP);
  };
  // Always drain the pipes: a full pipe would block the server's logger mid-run.
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${options.port}`;

  try {
    await waitForHealth(
      child,
      `${url}${options.healthPath ?? '/healthz'}`,
      options.startTimeoutMs ?? 60_000,
      () => output,
    );
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    name: options.name,
    pid: child.pid!,
    url,
    port: options.port,
    output: () => output,
    stop(graceMs = 15_000) {
      stopping ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

async function waitForHealth(
  child: ChildProcess,
  url: string,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `server exited (code ${child.exitCode}, signal ${child.signalCode}) before answering ${url}:\n${output()}`,
      );
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`server did not answer ${url} within ${timeoutMs} ms:\n${output()}`);
}

export interface QuiverServerOptions {
  readonly configPath: string;
  /** Extra node options, e.g. ['--cpu-prof', '--cpu-prof-dir=...']. */
  readonly nodeArgs?: readonly string[];
  /** Extra `quiver serve` arguments. */
  readonly serveArgs?: readonly string[];
}

/** `node bin/quiver.js serve --config <file> --port <free port> --host 127.0.0.1` */
export async function startQuiver(options: QuiverServerOptions): Promise<ServerProcess> {
  const port = await freePort();
  return startNodeProcess({
    name: 'quiver',
    port,
    args: [
      ...(options.nodeArgs ?? []),
      QUIVER_BIN,
      'serve',
      '--config',
      options.configPath,
      '--port',
      String(port),
      '--host',
      '127.0.0.1',
      ...(options.serveArgs ?? []),
    ],
    // Quiet logs: the server under test should not spend time writing them.
    env: { ...process.env, QUIVER_LOG_LEVEL: process.env.QUIVER_LOG_LEVEL ?? 'warn' },
  });
}
