/**
 * Figures from an open-loop run's per-request records (open-loop.ts): exact percentiles, per-class
 * summaries, and the recovery time after a burst (the first 100 ms window, by scheduled time,
 * whose p99 is back within a factor of the unloaded p99 and that holds no error).
 */
import { CODES, type LoadResult } from './open-loop.ts';

/** Exact nearest-rank percentile (p in 0..100) of `values`; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export interface LatencySummary {
  readonly count: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export function summarise(latenciesMs: readonly number[]): LatencySummary {
  return {
    count: latenciesMs.length,
    p50Ms: percentile(latenciesMs, 50),
    p99Ms: percentile(latenciesMs, 99),
    maxMs: latenciesMs.length === 0 ? Number.NaN : Math.max(...latenciesMs),
  };
}

/** Indices of the records that match. */
export function select(result: LoadResult, match: (i: number) => boolean): number[] {
  const out: number[] = [];
  for (let i = 0; i < result.status.length; i++) if (match(i)) out.push(i);
  return out;
}

/** Latency from the scheduled send time to the answer (what a client of the service sees). */
export const scheduledLatency = (r: LoadResult, i: number): number => r.doneMs[i]! - r.scheduledMs[i]!;
/** Latency from the actual send to the answer (the server's answer time plus loopback). */
export const sentLatency = (r: LoadResult, i: number): number => r.doneMs[i]! - r.sentMs[i]!;

/** Count of each outcome: 'ok' for 200, else the error code name (or `status <n>`). */
export function outcomes(result: LoadResult, indices: readonly number[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const i of indices) {
    const status = result.status[i]!;
    const key = status === 200 ? 'ok' : (CODES[result.code[i]!] ?? `status ${status}`) || `status ${status}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

export interface Recovery {
  /** ms from the end of the burst to the END of the first normal window; NaN if none. */
  readonly recoveryMs: number;
  /** The p99 of each window checked, until the first normal one. */
  readonly windows: readonly { readonly startMs: number; readonly p99Ms: number; readonly errors: number }[];
}

/**
 * Walks 100 ms windows of requests SCHEDULED after `burstEndMs` and returns when the first one is
 * back to normal: p99 (scheduled → answer) ≤ factor × `baselineP99Ms`, and no error.
 */
export function recoveryAfter(
  result: LoadResult,
  burstEndMs: number,
  baselineP99Ms: number,
  options: { windowMs?: number; factor?: number; untilMs?: number } = {},
): Recovery {
  const windowMs = options.windowMs ?? 100;
  const factor = options.factor ?? 1.5;
  const untilMs = options.untilMs ?? Math.max(...result.scheduledMs);
  const windows: { startMs: number; p99Ms: number; errors: number }[] = [];
  for (let start = burstEndMs; start < untilMs; start += windowMs) {
    const inWindow = select(
      result,
      (i) => result.scheduledMs[i]! >= start && result.scheduledMs[i]! < start + windowMs,
    );
    if (inWindow.length === 0) continue;
    const p99Ms = percentile(
      inWindow.map((i) => scheduledLatency(result, i)),
      99,
    );
    const errors = inWindow.filter((i) => result.status[i] !== 200).length;
    windows.push({ startMs: start - burstEndMs, p99Ms, errors });
    if (errors === 0 && p99Ms <= factor * baselineP99Ms) {
      return { recoveryMs: start + windowMs - burstEndMs, windows };
    }
  }
  return { recoveryMs: Number.NaN, windows };
}
