/**
 * `quiver` CLI. Every flag can also come from the environment as QUIVER_<FLAG> (e.g. QUIVER_PORT).
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or config error (a bad flag, file or name).
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
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE } from './exit-codes.ts';

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

/** Error kinds that mean the person at the terminal asked for something wrong (exit 2, not 1). */
const USAGE_KINDS: ReadonlySet<string> = new Set([
  'config',
  'bad_request',
  'not_found',
  'unprocessable',
  'payload_too_large',
  'unsupported_media_type',
]);

/** What a failed file-system call means, in words, for the codes a person can do something about. */
const FS_REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'a part of the path is a file, not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'the file system is read-only',
  ENOSPC: 'no space left on the device',
  EEXIST: 'it already exists',
};

const FS_VERBS: Readonly<Record<string, string>> = {
  mkdir: 'create',
  open: 'open',
  scandir: 'read',
  stat: 'find',
  lstat: 'find',
  unlink: 'remove',
  rename: 'rename',
  copyfile: 'copy',
};

/** The `details` lines of a QuiverError a person can act on: a likely typo, or the valid names. */
function detailLines(details: Readonly<Record<string, unknown>> | undefined): string[] {
  const lines: string[] = [];
  if (typeof details?.didYouMean === 'string') lines.push(`Did you mean "${details.didYouMean}"?`);
  if (Array.isArray(details?.available) && details.available.length > 0)
    lines.push(`Known: ${details.available.join(', ')}`);
  return lines.map((l) => `  ${l}\n`);
}

/** Prints a failure the way a person needs it: what went wrong and what to do next. */
export function reportFailure(err: unknown): number {
  if (err instanceof CommanderError) {
    // Commander already printed the message (and help for --help/--version, which are not errors).
    return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (isQuiverError(err)) {
    process.stderr.write(`\nquiver: ${err.message}\n${detailLines(err.details).join('')}  (${err.code})\n`);
    return USAGE_KINDS.has(err.kind) ? EXIT_USAGE : EXIT_FAILURE;
  }
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e?.code === 'EADDRINUSE') {
    const where = e.port === undefined ? 'the port' : `port ${e.port}${e.address ? ` on ${e.address}` : ''}`;
    process.stderr.write(
      `\nquiver: ${where} is already in use (another Quiver or another server?). Pick another one with --port (e.g. --port 9000).\n`,
    );
    return EXIT_FAILURE;
  }
  const fsReason = e?.code === undefined ? undefined : FS_REASONS[e.code];
  if (fsReason !== undefined && typeof e.path === 'string') {
    const verb = (e.syscall && FS_VERBS[e.syscall]) ?? e.syscall ?? 'use';
    process.stderr.write(`\nquiver: cannot ${verb} ${e.path}: ${fsReason}\n  (${e.code})\n`);
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
