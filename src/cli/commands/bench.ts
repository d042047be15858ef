/**
 * `quiver bench <scenario>` (`npm run bench` = `quiver bench all`): the benchmark harness of
 * bench/ (design §6). Every flag also reads BENCH_<NAME> from the environment.
 *
 * bench/ is loaded with a computed dynamic import, not a static one: it lives outside src/ (so the
 * published build does not include it, and tsc's rootDir stays src/), and an installed package
 * without bench/ fails here with a clear message instead of at startup.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { quiverError } from '../../errors.ts';
import { parsePositiveInt } from '../options.ts';
import { EXIT_USAGE } from '../exit-codes.ts';

const BENCH_ENTRY = new URL('../../../bench/index.ts', import.meta.url);

/** The part of bench/index.ts this command uses (typed here so src/ does not import bench/). */
interface BenchSettingsShape {
  seconds: number;
  latencySeconds: number;
  warmupSeconds: number;
  repeats: number;
  connections: number;
  profile: boolean;
  dataDir: string;
  resultsDir: string;
  log: (line: string) => void;
}

interface BenchModule {
  DEFAULT_RESULTS_DIR: string;
  DEFAULT_DATA_DIR: string;
  listScenarios(): Promise<{ id: string; description: string }[]>;
  matchScenarios(selector: string): Promise<string[]>;
  runBench(
    selector: string,
    settings: BenchSettingsShape,
  ): Promise<{ markdown: string; files: string[]; ok: boolean }>;
}

interface BenchCliOptions {
  seconds: number;
  latencySeconds: number;
  warmup: number;
  repeats: number;
  connections: number;
  profile?: boolean;
  dataDir?: string;
  resultsDir?: string;
  list?: boolean;
}

async function loadBench(): Promise<BenchModule> {
  if (!existsSync(fileURLToPath(BENCH_ENTRY))) {
    throw quiverError('QUIVER_ERR_CONFIG_INVALID', {
      path: 'bench',
      reason:
        'the benchmark harness (bench/) is only in a source checkout of Quiver, not in the installed package',
    });
  }
  return (await import(BENCH_ENTRY.href)) as BenchModule;
}

function parseNonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) {
      throw quiverError('QUIVER_ERR_USAGE', {
        option: name,
        reason: `expected an integer ≥ 0, got "${value}"`,
      });
    }
    return n;
  };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'run benchmark scenarios against the HTTP ceiling (`all`, a name like features-1, or an id like features-1:lmdb)',
    )
    .argument('[scenario]', 'all | <name> | <name>:<variant> | a comma-separated list')
    .addOption(new Option('--list', 'list the scenarios and exit'))
    .addOption(
      new Option(
        '--seconds <n>',
        'seconds of each throughput measurement (features: per server and round, in ~2 s slices alternating with the ceiling)',
      )
        .env('BENCH_SECONDS')
        .argParser(parsePositiveInt('--seconds or BENCH_SECONDS'))
        .default(10),
    )
    .addOption(
      new Option('--latency-seconds <n>', 'length of each 1-connection latency run')
        .env('BENCH_LATENCY_SECONDS')
        .argParser(parsePositiveInt('--latency-seconds or BENCH_LATENCY_SECONDS'))
        .default(5),
    )
    .addOption(
      new Option('--warmup <n>', 'warm-up seconds after each server start')
        .env('BENCH_WARMUP_SECONDS')
        .argParser(parseNonNegativeInt('--warmup or BENCH_WARMUP_SECONDS'))
        .default(2),
    )
    .addOption(
      new Option('--repeats <n>', 'rounds of (Quiver, ceiling); medians are reported')
        .env('BENCH_REPEATS')
        .argParser(parsePositiveInt('--repeats or BENCH_REPEATS'))
        .default(2),
    )
    .addOption(
      new Option('--connections <n>', 'connections of the throughput runs')
        .env('BENCH_CONNECTIONS')
        .argParser(parsePositiveInt('--connections or BENCH_CONNECTIONS'))
        .default(32),
    )
    .addOption(
      new Option(
        '--profile',
        'add a separate node --cpu-prof run of the server and summarise where its time goes',
      ).env('BENCH_PROFILE'),
    )
    .addOption(
      new Option(
        '--data-dir <dir>',
        'where generated bench data lives (default node_modules/.cache/quiver-bench)',
      ).env('BENCH_DATA_DIR'),
    )
    .addOption(
      new Option('--results-dir <dir>', 'where JSON results go (default bench/results)').env(
        'BENCH_RESULTS_DIR',
      ),
    )
    .action(async (scenario: string | undefined, options: BenchCliOptions) => {
      const bench = await loadBench();
      if (options.list || scenario === undefined) {
        const scenarios = await bench.listScenarios();
        process.stdout.write(`${scenarios.map((s) => `  ${s.id.padEnd(22)} ${s.description}`).join('\n')}\n`);
        if (scenario === undefined && !options.list) {
          process.stderr.write(
            '\nquiver bench: name a scenario (or `all`), e.g. quiver bench features-1:lmdb\n',
          );
          process.exitCode = EXIT_USAGE;
        }
        return;
      }
      if ((await bench.matchScenarios(scenario)).length === 0) {
        const known = (await bench.listScenarios()).map((s) => s.id);
        throw quiverError('QUIVER_ERR_USAGE', {
          option: 'bench <scenario>',
          reason: `no scenario matches "${scenario}"; known: all, ${known.join(', ')}`,
        });
      }
      const outcome = await bench.runBench(scenario, {
        seconds: options.seconds,
        latencySeconds: options.latencySeconds,
        warmupSeconds: options.warmup,
        repeats: options.repeats,
        connections: options.connections,
        profile: options.profile === true,
        dataDir: path.resolve(options.dataDir ?? bench.DEFAULT_DATA_DIR),
        resultsDir: path.resolve(options.resultsDir ?? bench.DEFAULT_RESULTS_DIR),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`\n${outcome.markdown}\n`);
      if (!outcome.ok) {
        process.stderr.write(
          '\nquiver bench: some runs had socket errors or non-2xx responses (marked ⚠ above): their figures are not valid.\n',
        );
        process.exitCode = 1;
      }
    });
}
