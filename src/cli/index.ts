/**
 * `quiver` CLI. Every flag can also come from the environment as QUIVER_<FLAG> (e.g. QUIVER_PORT).
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.
 */
import cluster from 'node:cluster';
import { Command, CommanderError } from 'commander';
import { isQuiverError } from '../errors.ts';
import { registerApply } from './commands/apply.ts';
import { registerBench } from './commands/bench.ts';
import { registerDemo } from './commands/demo.ts';
import { registerInit } from './commands/init.ts';
import { registerKeygen } from './commands/keygen.ts';
import { registerMaterialize } from './commands/materialize.ts';
import { registerPush } from './commands/push.ts';
import { registerServe } from './commands/serve.ts';
import { registerWorker } from './commands/worker.ts';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('quiver')
    .description('Real-time feature store and ML inference gateway')
    .version('0.1.0')
    .showHelpAfterError('(run "quiver --help" for usage)')
    .exitOverride();
  registerDemo(program);
  registerInit(program);
  registerApply(program);
  registerMaterialize(program);
  registerServe(program);
  registerWorker(program);
  registerPush(program);
  registerBench(program);
  registerKeygen(program);
  return program;
}

/** Prints a failure the way a person needs it: what went wrong and what to do next. */
export function reportFailure(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander already printed the message (and help for --help/--version, which are not errors).
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (isQuiverError(err)) {
    process.stderr.write(`\nquiver: ${err.message}\n  (${err.code})\n`);
    return err.kind === 'config' ? EXIT_USAGE : EXIT_FAILURE;
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EADDRINUSE') {
    process.stderr.write(
      `\nquiver: the port is already in use. Pick another one with --port (e.g. --port 9000).\n`,
    );
    return EXIT_FAILURE;
  }
  process.stderr.write(`\nquiver: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  return EXIT_FAILURE;
}

export async function runCli(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    process.exitCode = reportFailure(err);
    // A node:cluster worker's IPC channel would keep it alive: let go so it exits, and the
    // primary sees the failure (serve.ts).
    if (cluster.isWorker) process.disconnect();
  }
}
