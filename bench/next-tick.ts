/**
 * The cost of process.nextTick after a full GC found no nextTick entry alive, with and without
 * src/tick-shape.ts holding one. A tool behind that module's claim, not a scenario: each mode
 * runs in its own process (the effect is process-wide and permanent), warms nextTick up, forces two
 * full GCs at a moment when no entry is queued (what a quiet minute does to a server), then times
 * 1,000,000 nextTick calls. Rounds alternate the modes; the medians are reported.
 * Usage: node --import tsx bench/next-tick.ts [rounds]
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinNextTickShape } from '../src/tick-shape.ts';

const CALLS = 1_000_000;
const mode = process.argv[2];

function noop(): void {}

/** Queues `n` nextTicks, letting the queue drain every 1,000 so it never holds many entries. */
async function ticks(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    process.nextTick(noop);
    if (i % 1000 === 999) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await new Promise<void>((resolve) => setImmediate(resolve));
}

async function child(pin: boolean): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  if (pin) pinNextTickShape();
  await ticks(200_000); // warm-up: nextTick optimised, its literal's feedback monomorphic
  // Full GCs on both sides of a timer turn, as a quiet spell brings them: the stack and handles
  // of the warm-up are gone by the second pair.
  gc();
  gc();
  await new Promise<void>((resolve) => setTimeout(resolve, 10));
  gc();
  gc();
  const started = process.hrtime.bigint();
  await ticks(CALLS);
  const ns = Number(process.hrtime.bigint() - started) / CALLS;
  process.stdout.write(`${ns}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

if (mode === 'plain' || mode === 'pinned') await child(mode === 'pinned');
else {
  const rounds = Number(mode ?? 5);
  const self = fileURLToPath(import.meta.url);
  const run = (m: string): number =>
    Number(execFileSync(process.execPath, ['--expose-gc', '--import', 'tsx', self, m], { encoding: 'utf8' }));
  const plain: number[] = [];
  const pinned: number[] = [];
  for (let r = 0; r < rounds; r++) {
    plain.push(run('plain'));
    pinned.push(run('pinned'));
  }
  const p = median(plain);
  const q = median(pinned);
  process.stdout.write(
    `nextTick after a full GC, ns per call (queue + run), median of ${rounds} rounds:\n` +
      `  plain Node: ${p.toFixed(0)}  (${plain.map((v) => v.toFixed(0)).join(', ')})\n` +
      `  pinned:     ${q.toFixed(0)}  (${pinned.map((v) => v.toFixed(0)).join(', ')})\n` +
      `  plain − pinned: ${(p - q).toFixed(0)} ns per nextTick\n`,
  );
}
