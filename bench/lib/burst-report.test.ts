import { describe, expect, it } from 'vitest';
import { analyseBurst, type BurstSetup } from './burst-report.ts';
import { CODES, type LoadResult } from './open-loop.ts';

type Entry = {
  phase: number;
  at: number;
  ms: number;
  status: number;
  high: boolean;
  code?: (typeof CODES)[number];
};

function result(entries: Entry[], phaseStartMs: number[]): LoadResult {
  return {
    phaseNames: phaseStartMs.map((_, i) => `p${i}`),
    phaseStartMs,
    phase: Uint8Array.from(entries.map((e) => e.phase)),
    scheduledMs: Float64Array.from(entries.map((e) => e.at)),
    sentMs: Float64Array.from(entries.map((e) => e.at)),
    doneMs: Float64Array.from(entries.map((e) => e.at + e.ms)),
    status: Uint16Array.from(entries.map((e) => e.status)),
    priority: Uint8Array.from(entries.map((e) => (e.high ? 1 : 2))),
    code: Uint8Array.from(entries.map((e) => CODES.indexOf(e.code ?? ''))),
  };
}

const SETUP: BurstSetup = {
  model: { trees: 1, depth: 1, evaluationsPerRow: 1 },
  queue: {},
  batching: {},
  capacityConnections: 2,
  pinning: { eventLoopCpu: 0, otherCpus: '1', otherThreads: 14 },
  burstFactor: 10,
  burstSeconds: 1,
  targets: { highP99Factor: 3, rejectP99Ms: 1, recoveryMs: 1000 },
};

const every = (n: number, from: number, step: number, make: (at: number, i: number) => Entry): Entry[] =>
  Array.from({ length: n }, (_, i) => make(from + i * step, i));

describe('analyseBurst', () => {
  const unloaded = result(
    every(20, 0, 50, (at, i) => ({ phase: 0, at, ms: 10, status: 200, high: i % 2 === 0 })),
    [0],
  );
  const burst = (highMs: number, rejectMs: number, highFails: boolean): LoadResult =>
    result(
      [
        ...every(10, 0, 100, (at) => ({ phase: 0, at, ms: 10, status: 200, high: false })),
        ...every(100, 1000, 10, (at, i) =>
          i % 5 === 0
            ? {
                phase: 1,
                at,
                ms: highMs,
                status: highFails && i === 0 ? 503 : 200,
                high: true,
                code: highFails && i === 0 ? 'QUIVER_ERR_QUEUE_FULL' : '',
              }
            : { phase: 1, at, ms: rejectMs, status: 503, high: false, code: 'QUIVER_ERR_QUEUE_FULL' },
        ),
        ...every(10, 2000, 100, (at) => ({ phase: 2, at, ms: 10, status: 200, high: false })),
      ],
      [0, 1000, 2000],
    );
  const measured = (b: LoadResult, serverP99BoundMs = 0.5) => ({
    capacityRps: 10,
    serverQueueFull: {
      count: 80,
      withinTargetCount: serverP99BoundMs <= 1 ? 80 : 70,
      p99BoundMs: serverP99BoundMs,
      buckets: [],
    },
    unloaded,
    burst: b,
    rss: [100e6, 110e6, 101e6],
    cpuSeconds: 1,
    raw: { batch1Ms: 1, perRowAt8Ms: 1 },
    warnings: [] as string[],
  });

  it('passes every target when high priority stays fast, rejections are quick and latency recovers', () => {
    const out = analyseBurst({ name: 'x', highFraction: 0.2 }, SETUP, measured(burst(20, 0.5, false)));
    const targets = (out.details as { targets: { label: string; ok: boolean }[] }).targets;
    expect(targets.map((t) => t.ok)).toEqual([true, true, true, true, true]);
    expect(out.details).toMatchObject({
      recovery: { recoveryMs: 100 },
      rejections: { queueFull: { count: 80, p99Ms: 0.5 } },
      burst: { high: { outcomes: { ok: 20 } }, low: { outcomes: { QUIVER_ERR_QUEUE_FULL: 80 } } },
    });
    expect(out.markdown).toContain('| burst · low | 80 | 100.0% | QUEUE_FULL 80 |');
    expect(out.markdown).toContain('the event loop alone on CPU 0');
    expect(
      analyseBurst(
        { name: 'x', highFraction: 0.05 },
        { ...SETUP, pinning: undefined },
        measured(burst(5, 1, false)),
      ).markdown,
    ).toContain('CPUs: not pinned');
    expect(out.warnings).toEqual([]);
  });

  it('flags slow high priority, high-priority errors and slow rejections', () => {
    const m = measured(burst(31, 2, true), 2.5);
    const out = analyseBurst({ name: 'x', highFraction: 0.2 }, SETUP, m);
    const targets = (out.details as { targets: { ok: boolean }[] }).targets;
    expect(targets.map((t) => t.ok)).toEqual([false, false, false, true, true]);
    expect(out.warnings.filter((w) => w.includes('target missed'))).toHaveLength(3);
    expect(targets[2]).toMatchObject({
      actual: expect.stringMatching(/^87\.5% of 80 within 1 ms, p99 ≤ 2\.50 ms/),
    });
  });

  it("judges rejections on the server's own timing, showing the generator's beside it", () => {
    // The generator saw slow answers (2 ms), the server wrote them within 1 ms: a pass.
    const out = analyseBurst({ name: 'x', highFraction: 0.2 }, SETUP, measured(burst(20, 2, false), 1));
    const target = (out.details as { targets: { ok: boolean; actual: string }[] }).targets[2]!;
    expect(target.ok).toBe(true);
    expect(target.actual).toMatch(/seen by the load generator \(on the runner's core\): p99 2\.00 ms/);
  });
});
