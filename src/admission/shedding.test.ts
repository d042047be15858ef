import { describe, expect, it } from 'vitest';
import {
  controlLaw,
  INITIAL_SHEDDING_STATE,
  shouldShed,
  type SheddingPolicy,
  type SheddingState,
} from './shedding.ts';

const POLICY: SheddingPolicy = { targetDelayMs: 5, intervalMs: 100 };
const ms = (n: number): number => n * 1e6;

/**
 * Drives shouldShed like the batcher does: one dequeue every `everyMs` of fake time from `fromMs` to
 * `toMs` (inclusive), each with the same sojourn; returns the times (ms) at which it said "shed".
 */
function run(
  state: SheddingState,
  fromMs: number,
  toMs: number,
  everyMs: number,
  sojournMs: number,
): { sheds: number[]; state: SheddingState } {
  const sheds: number[] = [];
  let s = state;
  for (let t = fromMs; t <= toMs + 1e-9; t += everyMs) {
    const d = shouldShed(s, sojournMs * 1000, ms(t), POLICY);
    if (d.shed) sheds.push(Math.round(t * 1000) / 1000);
    s = d.state;
  }
  return { sheds, state: s };
}

describe('controlLaw', () => {
  it('spaces sheds by interval / sqrt(count)', () => {
    expect(controlLaw(ms(1000), ms(100), 1)).toBe(ms(1100));
    expect(controlLaw(ms(1000), ms(100), 4)).toBe(ms(1050));
  });
});

describe('shouldShed', () => {
  it('never sheds while the delay stays below target', () => {
    const { sheds, state } = run(INITIAL_SHEDDING_STATE, 0, 2000, 1, 4.999);
    expect(sheds).toEqual([]);
    expect(state).toEqual(INITIAL_SHEDDING_STATE);
  });

  it('tolerates a delay above target for less than an interval (a passing burst)', () => {
    let { sheds, state } = run(INITIAL_SHEDDING_STATE, 0, 99, 1, 50);
    expect(sheds).toEqual([]);
    expect(state.firstAboveNs).toBe(ms(100));
    // One dequeue below target forgets the episode: the interval starts again afterwards.
    ({ sheds, state } = run(state, 99.5, 99.5, 1, 1));
    expect(state.firstAboveNs).toBe(-1);
    ({ sheds, state } = run(state, 100, 199, 1, 50));
    expect(sheds).toEqual([]);
    expect(state.shedding).toBe(false);
  });

  it('enters shedding once the delay stayed above target for a whole interval, then sheds at interval/sqrt(count)', () => {
    const { sheds, state } = run(INITIAL_SHEDDING_STATE, 0, 400, 1, 20);
    // Above target from t=0, so shedding is allowed from t=100; the next sheds come at
    // 100 + 100/√1 = 200, then + 100/√2 ≈ 270.7 → 271, then + 100/√3 ≈ 328.4 → 329, + 100/√4 → 379.
    expect(sheds).toEqual([100, 200, 271, 329, 379]);
    expect(state).toMatchObject({ shedding: true, count: 5, lastCount: 1 });
  });

  it('sheds at most once per dequeue even when behind schedule', () => {
    let state = run(INITIAL_SHEDDING_STATE, 0, 100, 1, 20).state;
    // No dequeue for a long time (a stalled model), then one dequeue: a single shed.
    const d = shouldShed(state, 20_000, ms(5000), POLICY);
    expect(d.shed).toBe(true);
    state = d.state;
    expect(state.count).toBe(2);
  });

  it('leaves the shedding state at the first dequeue below target', () => {
    const { state: shedding } = run(INITIAL_SHEDDING_STATE, 0, 150, 1, 20);
    expect(shedding.shedding).toBe(true);
    const d = shouldShed(shedding, 4000, ms(151), POLICY);
    expect(d.shed).toBe(false);
    expect(d.state).toMatchObject({ shedding: false, firstAboveNs: -1, count: shedding.count });
  });

  it('re-entering soon after leaving resumes near the previous shed rate', () => {
    const first = run(INITIAL_SHEDDING_STATE, 0, 400, 1, 20).state; // 5 sheds: count 5, lastCount 1
    const calm = shouldShed(first, 0, ms(401), POLICY).state;
    // Above target again from 402: allowed at 502, well within 16 intervals of the last dropNext.
    const again = run(calm, 402, 502, 1, 20);
    expect(again.sheds).toEqual([502]);
    expect(again.state).toMatchObject({ shedding: true, count: 4, lastCount: 4 });
    // Pace 100/√4 = 50 ms: the next shed comes at 552.
    expect(again.state.dropNextNs).toBe(ms(552));
  });

  it('re-entering long after leaving starts again from one shed per interval', () => {
    const first = run(INITIAL_SHEDDING_STATE, 0, 400, 1, 20).state;
    const calm = shouldShed(first, 0, ms(401), POLICY).state;
    const again = run(calm, 5000, 5100, 1, 20);
    expect(again.sheds).toEqual([5100]);
    expect(again.state).toMatchObject({ count: 1, lastCount: 1, dropNextNs: ms(5200) });
  });

  it('does not resume the pace after an episode of a single shed', () => {
    const first = run(INITIAL_SHEDDING_STATE, 0, 150, 1, 20).state; // one shed at 100
    expect(first).toMatchObject({ count: 1, lastCount: 1 });
    const calm = shouldShed(first, 0, ms(151), POLICY).state;
    const again = run(calm, 152, 252, 1, 20);
    expect(again.sheds).toEqual([252]);
    expect(again.state.count).toBe(1);
  });

  it('is pure: the input state is not modified', () => {
    const state = run(INITIAL_SHEDDING_STATE, 0, 100, 1, 20).state;
    const copy = { ...state };
    shouldShed(state, 20_000, ms(300), POLICY);
    expect(state).toEqual(copy);
    expect(Object.isFrozen(INITIAL_SHEDDING_STATE)).toBe(true);
  });
});
