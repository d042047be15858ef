/**
 * The benchmark registry and runner behind `quiver bench <scenario>` / `npm run bench`.
 *
 * Scenarios are discovered: every `bench/scenarios/*.ts` file (tests excluded) that exports
 * `scenarios: Scenario[]` is picked up, so adding one is a matter of adding one file. Selectors:
 * `all`, an exact id (`features-1:lmdb`), a name (`features-1`: every variant), or a comma list.
 */
import { execFileSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { renderMarkdown, writeResult } from './lib/report.ts';
import type { BenchSettings, MachineInfo, Scenario, ScenarioResult } from './lib/types.ts';

export type { BenchSettings, Scenario, ScenarioOutput, ScenarioResult } from './lib/types.ts';

const BENCH_DIR = fileURLToPath(new URL('./', import.meta.url));
const SCENARIO_DIR = path.join(BENCH_DIR, 'scenarios');
export const DEFAULT_RESULTS_DIR = path.join(BENCH_DIR, 'results');
/**
 * Generated data (CSV, LMDB, configs) lives in node_modules/.cache, which git, Prettier, ESLint and
 * tsc all skip: the copied configs and data files must not become part of the checked sources.
 */
export const DEFAULT_DATA_DIR = path.join(BENCH_DIR, '..', 'node_modules', '.cache', 'quiver-bench');

/**
 * Settings for a tool outside the scenarios (bench/serialize.ts, bench/ab.ts) that only needs the
 * bench data: prepareFraudLmdb reads the data's place and the log, not the run settings.
 */
export function toolSettings(): BenchSettings {
  return {
    seconds: 0,
    latencySeconds: 0,
    warmupSeconds: 0,
    repeats: 1,
    connections: 1,
    profile: false,
    dataDir: process.env.BENCH_DATA_DIR ?? DEFAULT_DATA_DIR,
    resultsDir: DEFAULT_RESULTS_DIR,
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

export async function loadScenarios(dir: string = SCENARIO_DIR): Promise<Scenario[]> {
  const files = (await readdir(dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .sort();
  const all: Scenario[] = [];
  for (const file of files) {
    const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as {
      scenarios?: readonly Scenario[];
    };
    if (!Array.isArray(mod.scenarios))
      throw new Error(`bench/scenarios/${file} must export \`scenarios: Scenario[]\``);
    all.push(...mod.scenarios);
  }
  const ids = new Set<string>();
  for (const s of all) {
    if (ids.has(s.id)) throw new Error(`two benchmark scenarios share the id ${s.id}`);
    ids.add(s.id);
  }
  return all;
}

/** Picks scenarios by selector (none when nothing matches). */
export function selectScenarios(all: readonly Scenario[], selector: string): Scenario[] {
  const parts = selector
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  return all.filter((s) => parts.some((p) => p === 'all' || p === s.id || s.id.startsWith(`${p}:`)));
}

/** The ids a selector picks: [] when it matches nothing. */
export async function matchScenarios(selector: string): Promise<string[]> {
  return selectScenarios(await loadScenarios(), selector).map((s) => s.id);
}

function wrkVersion(): string {
  try {
    const out = execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return out
      .split('\n')[0]!
      .replace(/ Copyright.*$/, '')
      .trim();
  } catch (err) {
    // `wrk -v` exits 1 after printing its version.
    const e = err as { stdout?: string; code?: string };
    if (e.code === 'ENOENT') throw new Error('wrk is not installed (Debian: apt-get install wrk)');
    return (e.stdout ?? 'wrk')
      .split('\n')[0]!
      .replace(/ Copyright.*$/, '')
      .trim();
  }
}

export interface RunOutcome {
  readonly results: ScenarioResult[];
  readonly files: string[];
  readonly markdown: string;
  /** False when any run had socket errors or non-2xx responses. */
  readonly ok: boolean;
}

/** Runs the selected scenarios one after another, writes their JSON, returns the Markdown. */
export async function runBench(selector: string, settings: BenchSettings): Promise<RunOutcome> {
  const all = await loadScenarios();
  const scenarios = selectScenarios(all, selector);
  if (scenarios.length === 0) {
    throw new Error(
      `no benchmark scenario matches "${selector}". Known: all, ${all.map((s) => s.id).join(', ')}`,
    );
  }
  const wrk = wrkVersion();
  const cpus = os.cpus();
  const results: ScenarioResult[] = [];
  const files: string[] = [];
  const { log: _log, ...recorded } = settings;
  settings.log(`Running ${scenarios.length} scenario(s): ${scenarios.map((s) => s.id).join(', ')}`);
  for (const scenario of scenarios) {
    const startedAt = new Date();
    const loadAvgBefore = os.loadavg();
    const output = await scenario.run(settings);
    const machine: MachineInfo = {
      node: process.version,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim() ?? 'unknown',
      loadAvgBefore,
      loadAvgAfter: os.loadavg(),
      wrk,
    };
    const result: ScenarioResult = {
      id: scenario.id,
      description: scenario.description,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      settings: recorded,
      machine,
      ...output,
    };
    results.push(result);
    const file = await writeResult(result, settings.resultsDir);
    files.push(file);
    settings.log(`[${scenario.id}] done → ${path.relative(process.cwd(), file)}`);
  }
  return {
    results,
    files,
    markdown: renderMarkdown(results),
    ok: results.every((r) => r.rows.every((row) => row.ok)),
  };
}

export async function listScenarios(): Promise<{ id: string; description: string }[]> {
  return (await loadScenarios()).map((s) => ({ id: s.id, description: s.description }));
}
